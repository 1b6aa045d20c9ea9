"""Integration API: /api/v1 over the same services as the pages (keys, OpenAPI, docs)."""

from . import erasure  # noqa: E402,F401 (registers the API replies kept for replays)
