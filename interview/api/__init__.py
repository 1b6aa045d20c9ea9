"""Integration API: /api/v1 over the same services as the pages (keys, OpenAPI, docs)."""
