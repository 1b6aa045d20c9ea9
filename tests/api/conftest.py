"""API fixtures: keys made through the real service, a client that sends them."""

from __future__ import annotations

import pytest

from interview.api import services

ALL_SCOPES = "read,invite,decide,webhooks"


def make_key(org, scopes: str = ALL_SCOPES, name: str = "ATS") -> str:
    return services.create_key(org, name, scopes, None)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def key(org) -> str:
    """A key of ``org`` with every scope."""
    return make_key(org.org)


@pytest.fixture
def api(client, key):
    """Call the API as ``org``'s integration: api.get(path), api.post(path, json=...)."""

    class Api:
        headers = bearer(key)

        def get(self, path, **kw):
            return client.get(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        def post(self, path, **kw):
            return client.post(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        def patch(self, path, **kw):
            return client.patch(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        def delete(self, path, **kw):
            return client.delete(path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    return Api()
