"""Rate-limit headers: on the staff API and on every 429, and nowhere they cost a candidate's
interview step two storage round trips for nothing (``interview.rate_limits``)."""

from __future__ import annotations

import time

import pytest

from interview.extensions import limiter

from .api.conftest import bearer, make_key

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def window_reads(monkeypatch) -> list[int]:
    """Counts each read of a limit's window back from the limiter's storage."""
    reads: list[int] = []
    strategy = type(limiter.limiter)
    original = strategy.get_window_stats

    def counted(self, *args, **kwargs):
        reads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(strategy, "get_window_stats", counted)
    return reads


def test_the_api_tells_each_key_its_limit_remaining_and_reset(app, client, org):
    """Does every API answer carry X-RateLimit-* for the caller's key, counting down?"""
    app.config["API_RATE_LIMIT"] = "5 per minute"
    key = make_key(org.org)
    first = client.get("/api/v1/screenings", headers=bearer(key))
    second = client.get("/api/v1/screenings", headers=bearer(key))
    assert first.status_code == second.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in (first, second)] == [4, 3]
    assert 0 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 61
    assert "Retry-After" not in first.headers  # only a refusal says when to come back


def test_an_api_429_says_when_to_retry(app, client, org):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    key = make_key(org.org)
    for _ in range(2):
        assert client.get("/api/v1/screenings", headers=bearer(key)).status_code == 200
    refused = client.get("/api/v1/screenings", headers=bearer(key))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_interview_steps_read_no_window_back_until_refused(app, client, org, window_reads):
    """A candidate's reveal and state calls are counted but carry no X-RateLimit-* (the
    recorder never reads them; each would cost a read of the window from Redis); once over
    the limit the 429 says when to retry."""
    app.config["CANDIDATE_API_LIMIT"] = "3 per minute"  # per link and endpoint
    api = f"/i/{org.token}/api"
    allowed = [
        client.get(f"{api}/state"),
        client.post(f"{api}/questions/0/reveal"),
        client.get(f"{api}/state"),
        client.get(f"{api}/state"),
    ]
    assert [r.status_code for r in allowed] == [200, 200, 200, 200]
    assert not any(name in r.headers for r in allowed for name in (*RATE_HEADERS, "Retry-After"))
    assert window_reads == []
    refused = client.get(f"{api}/state")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert window_reads  # read once it is needed: to say when


def test_pages_carry_no_rate_headers(client, org):
    response = client.get(f"/i/{org.token}")
    assert response.status_code == 200
    assert not any(name in response.headers for name in RATE_HEADERS)


def test_limit_storage_failing_when_headers_are_written_loses_no_answer(
    app, client, org, monkeypatch
):
    """The window cannot be read back (the storage went away after counting): the API still
    answers, and a 429 still says when to retry (a minute)."""

    def away(self, *args, **kwargs):
        raise ConnectionError("limit storage away")

    monkeypatch.setattr(type(limiter.limiter), "get_window_stats", away)
    app.config["API_RATE_LIMIT"] = "1 per minute"
    key = make_key(org.org)
    served = client.get("/api/v1/screenings", headers=bearer(key))
    assert served.status_code == 200 and "X-RateLimit-Remaining" not in served.headers
    refused = client.get("/api/v1/screenings", headers=bearer(key))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
