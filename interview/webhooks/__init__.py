"""Webhooks: endpoints, events written with each change, signed deliveries with retries."""

from . import erasure  # noqa: E402,F401 (the candidate.deleted event after a purge)
