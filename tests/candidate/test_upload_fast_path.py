"""The upload path under load: what one PATCH costs the database, that its one-query link check
agrees with the full one, and the finisher thread that takes a finished upload's work off the
request threads (issue 17)."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview.candidate import finisher, uploads
from interview.extensions import db
from interview.models import InvitationStatus, TakeStatus, utcnow

from ..conftest import counting_statements
from .test_uploads import Candidate, _take


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


def test_a_patch_is_one_read_and_one_short_write_transaction(app, candidate):
    """Does a middle PATCH cost the database exactly one SELECT, then the claim (UPDATE) and
    the chunk's row (INSERT) committed together, and nothing more (no lazy load, no
    autoflush, no second write)?"""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"a" * 1000, 0).status_code == 204
    db.session.remove()
    commits = []

    def committed(conn):
        commits.append(conn)

    sa.event.listen(db.engine, "commit", committed)
    try:
        with counting_statements() as statements:
            assert candidate.patch(url, b"b" * 1000, 1000).status_code == 204
    finally:
        sa.event.remove(db.engine, "commit", committed)
    assert [s.split(None, 1)[0].upper() for s in statements] == ["SELECT", "UPDATE", "INSERT"]
    assert len(commits) == 1
    assert _take(url).bytes_received == 2000


def test_the_fast_link_check_agrees_with_the_full_one(app, client, org, candidate):
    """The PATCH path checks its link in one query; whenever that query cannot vouch for it,
    the full check answers. Revoked: 404; within the finishing grace after the deadline: still
    taken; past the grace: 410. Is each answered as the full check would?"""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"x" * 10, 0).status_code == 204
    token, take_id = org.token, int(url.rsplit("/", 1)[1])
    assert uploads.state_for_link(token, take_id) is not None
    assert uploads.state_for_link(token, take_id + 1000) is None
    assert uploads.state_for_link("Z" * 43, take_id) is None

    org.invitation.expires_at = utcnow() - timedelta(minutes=1)  # within the grace
    db.session.commit()
    assert uploads.state_for_link(token, take_id) is None  # not as it stands: the full way
    assert candidate.patch(url, b"y" * 10, 10).status_code == 204
    assert candidate.head(url).headers["Upload-Offset"] == "20"

    org.invitation.expires_at = utcnow() - timedelta(hours=3)  # past the grace
    db.session.commit()
    assert candidate.patch(url, b"z" * 10, 20).status_code == 410
    assert candidate.head(url).status_code == 410

    org.invitation.expires_at = utcnow() + timedelta(days=1)
    org.invitation.status = InvitationStatus.REVOKED
    db.session.commit()
    assert candidate.patch(url, b"z" * 10, 20).status_code == 404
    assert _take(url).bytes_received == 20


def _niceness(native_id: int) -> int:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat: nice


def test_the_finisher_thread_files_finished_uploads_at_a_lower_priority(app, candidate):
    """With UPLOAD_FINISH_IN_THREAD (the default outside these in-process tests), is the last
    byte answered before anything is assembled, then the original filed by one finisher thread
    running nicer than the request threads, which survives a take whose work fails?"""
    app.config["UPLOAD_FINISH_IN_THREAD"] = True
    seen: list[tuple[str, int]] = []
    real = finisher.after_completion

    def observed(app_, take_id):
        seen.append((threading.current_thread().name, _niceness(threading.get_native_id())))
        if take_id == -1:
            raise RuntimeError("a take whose work fails")
        real(app_, take_id)

    finisher.after_completion = observed
    try:
        finisher.finish_after_answering(app, -1)  # the thread must outlive this
        assert candidate.reveal(0).status_code == 200
        url = candidate.create(0).headers["Location"]
        data = b"\x1aE\xdf\xa3" + b"w" * 5000
        assert candidate.patch(url, data[:2000], 0).status_code == 204
        done = candidate.patch(url, data[2000:], 2000, **{"Upload-Length": str(len(data))})
        assert done.status_code == 204
        deadline = time.monotonic() + 15
        while not finisher.finisher_idle():  # all of its work done, its connection given back
            assert time.monotonic() < deadline, "the finisher never finished"
            time.sleep(0.02)
    finally:
        finisher.after_completion = real
        app.config["UPLOAD_FINISH_IN_THREAD"] = False
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert [name for name, _ in seen] == ["upload-finisher", "upload-finisher"]
    assert all(nice == finisher.FINISHER_NICENESS for _, nice in seen)
    assert _niceness(threading.get_native_id()) == 0  # the request threads keep theirs
