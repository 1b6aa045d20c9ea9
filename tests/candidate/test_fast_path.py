"""The upload fast path (``candidate.fast_path``): a middle or final PATCH answered without
Flask's dispatch must be indistinguishable from the route's answer, and everything it cannot
vouch for must reach the route (issue 17)."""

from __future__ import annotations

import base64
import hashlib
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import request, request_started
from werkzeug.test import EnvironBuilder, run_wsgi_app

from interview.candidate import fast_path, upload_claims
from interview.extensions import db
from interview.media import chunks
from interview.media.storage import get_storage
from interview.models import AssetKind, AuditEvent, TakeStatus

from .. import factories
from .test_uploads import TUS, Candidate, _filed, _take

ORIGIN = "https://careers.example"
_OCTETS = "application/offset+octet-stream"


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


@contextmanager
def routed(app):
    """The requests that went through Flask's dispatch (the route) meanwhile."""
    seen: list[str] = []

    def started(_sender, **_extra):
        seen.append(f"{request.method} {request.path}")

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


def _patch_environ(url: str, data: bytes, offset: int, **headers) -> dict:
    return EnvironBuilder(
        path=url,
        method="PATCH",
        data=data,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    ).get_environ()


def test_a_middle_patch_is_answered_without_the_route_and_as_the_route_would(app, candidate):
    """Is a plain middle PATCH (right offset, deferred length, an allowed cross-origin caller)
    answered by the fast path, with the same status and the same headers as the route gives
    the next one (tus, caching, CORS, every security header), and the bytes claimed?"""
    app.config["UPLOAD_CORS_ORIGINS"] = [ORIGIN]
    app.config["HSTS_MAX_AGE"] = 3600
    assert isinstance(app.wsgi_app, fast_path.UploadFastPath)
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    with routed(app) as seen:
        fast = candidate.patch(url, b"a" * 5000, 0, Origin=ORIGIN)
    assert fast.status_code == 204 and seen == []
    # The next PATCH straight to the Flask app beneath the fast path: the route's answer.
    _body, status, route_headers = run_wsgi_app(
        app.wsgi_app.wsgi_app, _patch_environ(url, b"b" * 5000, 5000, Origin=ORIGIN)
    )
    assert status == "204 NO CONTENT"
    ignored = {"Content-Type", "Content-Length"}  # an empty 204's, which Flask adds
    names = {name for name, _ in fast.headers.items() if name not in ignored}
    assert names == {name for name, _ in route_headers.items() if name not in ignored}
    for name in names - {"Upload-Offset", "Upload-Expires", "Vary"}:
        assert fast.headers.getlist(name) == route_headers.getlist(name), name
    # The route's answer also varies on the cookie (its hooks read the session); this one
    # reads no cookie, so it varies on the origin alone.
    assert fast.headers["Vary"] == "Origin" and "Origin" in route_headers["Vary"]
    assert fast.headers["Upload-Offset"] == "5000" and route_headers["Upload-Offset"] == "10000"
    assert fast.headers["Strict-Transport-Security"] == "max-age=3600"
    assert fast.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert [c.length for c in chunks.chunks_of(_take(url).id)] == [5000, 5000]


def test_a_final_patch_is_answered_without_the_route_and_as_the_route_would(app, org, client):
    """Is the last PATCH of a deferred-length upload (the recorder's "saved", every candidate's
    at once when many finish together) answered by the fast path with what the route answers
    for another candidate's (status, headers), each take then filed by the finisher (its
    original assembled byte for byte, processing queued), and each audit event written alike,
    with the sender's address?"""
    app.config["UPLOAD_CORS_ORIGINS"] = [ORIGIN]
    data = b"\x1aE\xdf\xa3" + b"z" * 3996
    second = factories.invitation(org.screening, email="second@example.com", started=True)[1]
    db.session.commit()
    urls, answers = {}, {}
    for way, token in (("fast", org.token), ("route", second)):
        candidate = Candidate(client, token)
        assert candidate.reveal(0).status_code == 200
        urls[way] = candidate.create(0).headers["Location"]
        assert candidate.patch(urls[way], data[:1000], 0).status_code == 204
    final = {"Upload-Length": str(len(data)), "Origin": ORIGIN}
    with routed(app) as seen:
        fast = client.patch(
            urls["fast"],
            data=data[1000:],
            headers={**TUS, "Upload-Offset": "1000", **final, "Content-Type": _OCTETS},
        )
    assert fast.status_code == 204 and seen == []
    environ = _patch_environ(urls["route"], data[1000:], 1000, **final)
    environ["REMOTE_ADDR"] = fast.request.remote_addr
    body, status, route_headers = run_wsgi_app(app.wsgi_app.wsgi_app, environ)
    b"".join(body)
    body.close()  # the server closes the answer once sent: the finisher takes the upload then
    assert status == "204 NO CONTENT"
    ignored = {"Content-Type", "Content-Length", "Vary"}  # an empty 204's; the route's cookie
    names = {name for name, _ in fast.headers.items() if name not in ignored}
    assert names == {name for name, _ in route_headers.items() if name not in ignored}
    for name in names:
        assert fast.headers.getlist(name) == route_headers.getlist(name), name
    assert fast.headers["Upload-Offset"] == str(len(data)) and "Upload-Expires" not in fast.headers
    for way, url in urls.items():
        take = _filed(url)
        assert take.status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING), way
        assert take.checksum_sha256 == hashlib.sha256(data).hexdigest(), way
        original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
        with get_storage().open(original.storage_key) as stored:
            assert stored.read() == data, way
        event = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "take.uploaded",
                AuditEvent.object_id == take.question.invitation_id,
            )
        ).one()
        answers[way] = (event.actor_label, event.details, event.ip)
    assert answers["fast"][2] == fast.request.remote_addr is not None
    assert answers["fast"][0] == answers["route"][0] == "candidate"
    assert answers["fast"][2] == answers["route"][2]
    assert answers["fast"][1] == {"take_id": _take(urls["fast"]).id, "bytes": len(data)}


def test_what_the_fast_path_cannot_vouch_for_reaches_the_route(app, candidate, org):
    """A stale offset, a wrong content type and an unknown link each go to the route, which
    answers as it always has (409 with the true offset, 415, 404); the final PATCH that
    declares the length does not."""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    data = b"\x1aE\xdf\xa3" + b"v" * 3000
    with routed(app) as seen:
        assert candidate.patch(url, data[:1000], 0).status_code == 204
        stale = candidate.patch(url, data[:1000], 0)
        assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "1000"
        wrong_type = candidate.patch(url, data[1000:2000], 1000, **{"Content-Type": "video/webm"})
        assert wrong_type.status_code == 415
        unknown = candidate.patch(url.replace(f"/i/{org.token}/", "/i/" + "Q" * 43 + "/"), b"x", 0)
        assert unknown.status_code == 404
        last = candidate.patch(url, data[1000:], 1000, **{"Upload-Length": str(len(data))})
        assert last.status_code == 204 and "Upload-Expires" not in last.headers
    # The three refusals went through the route, the middle and final PATCHes did not.
    assert len(seen) == 3 and all(line.startswith("PATCH /i/") for line in seen)
    assert _take(url).checksum_sha256 == hashlib.sha256(data).hexdigest()


def test_a_chunk_that_may_finish_an_upload_of_known_length_is_the_routes(app, candidate):
    """An upload created with its length: a middle chunk is the fast path's, the chunk that
    reaches the length (and finishes the upload) is the route's."""
    assert candidate.reveal(0).status_code == 200
    created = candidate.create(0, **{"Upload-Length": "3000", "Upload-Defer-Length": ""})
    url = created.headers["Location"]
    with routed(app) as seen:
        assert candidate.patch(url, b"\x1aE\xdf\xa3" + b"w" * 996, 0).status_code == 204
        assert seen == []
        assert candidate.patch(url, b"w" * 2000, 1000).status_code == 204
    assert len(seen) == 1 and _take(url).bytes_received == 3000


def test_a_refusal_while_the_body_arrives_is_answered_by_the_fast_path(app, candidate, monkeypatch):
    """Once the body is read, the fast path answers refusals itself: a checksum mismatch is
    tus's 460 with nothing appended; the database failing at the claim is 503 with Retry-After
    and the chunk's object removed, and the same PATCH sent again is then taken."""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    digest = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with routed(app) as seen:
        mismatch = candidate.patch(url, b"c" * 100, 0, **{"Upload-Checksum": f"sha256 {digest}"})
    assert mismatch.status_code == 460 and seen == []
    assert mismatch.headers["Tus-Resumable"] == "1.0.0"
    assert "X-Content-Type-Options" in mismatch.headers

    real = upload_claims.claim

    def database_away(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE takes", {}, Exception("server closed"))

    monkeypatch.setattr(upload_claims, "claim", database_away)
    with routed(app) as seen:
        away = candidate.patch(url, b"c" * 100, 0)
    assert away.status_code == 503 and seen == []
    assert away.headers["Retry-After"] and away.headers["Tus-Resumable"] == "1.0.0"
    monkeypatch.setattr(upload_claims, "claim", real)
    take = _take(url)
    assert take.bytes_received == 0 and chunks.chunks_of(take.id) == []
    prefix = f"orgs/{take.question.invitation.org_id}/takes/{take.id}/upload/"
    assert list(get_storage().list_keys(prefix)) == []  # the unclaimed object was removed
    assert candidate.patch(url, b"c" * 100, 0).status_code == 204
    assert _take(url).bytes_received == 100
