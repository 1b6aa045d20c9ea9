"""tus 1.0 extensions as the reference server has them (checksum, expiration,
creation-with-upload), the protocol's edge cases, the claim that keeps two writers apart, and
the sweep of abandoned uploads."""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from interview.candidate import uploads
from interview.extensions import db
from interview.media import chunks
from interview.media import jobs as media_jobs
from interview.media import services as media_services
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    Invitation,
    JobRun,
    Take,
    TakeStatus,
    UploadChunk,
    utcnow,
)

from .test_uploads import TUS, Candidate, _meta, _take


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


def _sha256_header(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _started(candidate: Candidate) -> str:
    assert candidate.reveal(0).status_code == 200
    created = candidate.create(0)
    assert created.status_code == 201
    return created.headers["Location"]


def test_a_chunk_whose_checksum_does_not_match_appends_nothing(candidate):
    """Upload-Checksum: a matching chunk is appended; a corrupted one gets 460 and the
    offset, the chunk rows and the stored objects stay as they were."""
    url = _started(candidate)
    good = b"a" * 5000
    ok = candidate.patch(url, good, 0, **{"Upload-Checksum": _sha256_header(good)})
    assert ok.status_code == 204 and ok.headers["Upload-Offset"] == "5000"
    bad = candidate.patch(url, b"b" * 5000, 5000, **{"Upload-Checksum": _sha256_header(b"c")})
    assert bad.status_code == 460 and bad.headers["Tus-Resumable"] == "1.0.0"
    assert candidate.head(url).headers["Upload-Offset"] == "5000"
    take = _take(url)
    assert [(c.offset, c.length) for c in chunks.chunks_of(take.id)] == [(0, 5000)]
    digest = hashlib.sha1(b"d" * 10).digest()  # noqa: S324 (tus requires sha1 support)
    sha1 = "sha1 " + base64.b64encode(digest).decode()
    assert candidate.patch(url, b"d" * 10, 5000, **{"Upload-Checksum": sha1}).status_code == 204
    unknown = candidate.patch(url, b"e", 5010, **{"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400


def test_creation_with_upload_takes_the_first_chunk_in_the_post(client, org, candidate):
    """The POST that creates the upload may carry its first bytes (or all of them)."""
    assert candidate.reveal(0).status_code == 200
    data = b"\x1aE\xdf\xa3" + b"x" * 3000
    created = client.post(
        f"/i/{org.token}/api/questions/0/uploads",
        data=data,
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": _meta(filetype="video/webm"),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == str(len(data))
    take = _take(created.headers["Location"])
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()  # assembled after the 201


def test_a_zero_length_upload_is_complete_at_creation(client, org, candidate):
    """Upload-Length: 0 needs no PATCH: the take is complete at once (processing then refuses
    it as not a recording), so the question is not blocked as "still being recorded"."""
    assert candidate.reveal(0).status_code == 200
    created = client.post(
        f"/i/{org.token}/api/questions/0/uploads",
        headers={**TUS, "Upload-Length": "0", "Upload-Metadata": _meta(filetype="video/webm")},
    )
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "0"
    take = _take(created.headers["Location"])
    assert take.status == TakeStatus.UPLOADED
    assert take.checksum_sha256 == hashlib.sha256(b"").hexdigest()
    outcome = media_services.process(take.id)
    assert outcome.status == "failed"
    question = candidate.state()["questions"][0]
    assert question["takes"][0]["status"] == "failed"
    assert not question["closed"]  # an attempt is left: the candidate records again
    assert candidate.reveal(0).status_code == 200


def test_every_tus_answer_carries_tus_resumable_and_expiry(client, org, candidate):
    """JSON refusals (404, 409) carry Tus-Resumable too; an open upload says when it
    expires; HEAD after termination answers 404."""
    missing = client.head(f"/i/{org.token}/api/uploads/999999", headers=TUS)
    assert missing.status_code == 404 and missing.headers["Tus-Resumable"] == "1.0.0"
    url = _started(candidate)
    patched = candidate.patch(url, b"abc", 0)
    assert patched.headers["Upload-Expires"].endswith("GMT")
    assert candidate.head(url).headers["Upload-Expires"].endswith("GMT")
    refused = candidate.create(0)  # a second recording of the same question at once
    assert refused.status_code == 409 and refused.headers["Tus-Resumable"] == "1.0.0"
    assert client.delete(url, headers=TUS).status_code == 204
    gone = candidate.head(url)
    assert gone.status_code in (404, 410) and gone.headers["Tus-Resumable"] == "1.0.0"
    assert candidate.patch(url, b"def", 3).status_code in (404, 410)


def test_the_loser_of_two_patches_at_one_offset_gets_409_and_leaves_nothing(app, candidate):
    """Two requests read the same offset and both stream a body (two web nodes): the
    conditional UPDATE lets exactly one claim the range; the other gets 409 with the true
    offset and its object is removed."""
    url = _started(candidate)
    take = _take(url)
    invitation = db.session.get(Invitation, take.question.invitation_id)
    with app.test_request_context():
        first = uploads.upload_state(invitation, take.id)
        second = uploads.upload_state(invitation, take.id)  # read before the first claims
        assert uploads.append(first, io.BytesIO(b"A" * 100), 0, None, 100) == (100, False)
        try:
            uploads.append(second, io.BytesIO(b"B" * 100), 0, None, 100)
        except uploads.TusError as error:
            assert error.status == 409 and error.offset == 100
        else:
            raise AssertionError("both PATCHes claimed offset 0")
    rows = db.session.query(UploadChunk).filter_by(take_id=take.id).all()
    assert [(r.offset, r.length) for r in rows] == [(0, 100)]
    with get_storage().open(rows[0].storage_key) as stored:
        assert stored.read() == b"A" * 100
    folder = rows[0].storage_key.rsplit("/", 1)[0]
    assert len(list((get_storage().root / folder).iterdir())) == 1  # the loser's object went


def test_the_sweep_closes_abandoned_uploads_keeping_every_byte_that_arrived(
    app, client, org, candidate
):
    """An upload untouched past its Upload-Expires is closed: the bytes that arrived are kept
    and go to processing (nothing recorded is lost), an upload that got no byte fails as
    abandoned, and a recording still in time keeps going."""
    cut_url = _started(candidate)
    assert candidate.patch(cut_url, b"old bytes", 0).status_code == 204
    cut = _take(cut_url)
    keys = [c.storage_key for c in chunks.chunks_of(cut.id)]
    cut.upload_expires_at = utcnow() - timedelta(minutes=1)
    # An upload of the same question that never received a byte, also expired.
    empty = Take(
        question_id=cut.question_id,
        attempt=8,
        status=TakeStatus.RECORDING,
        bytes_received=0,
        upload_expires_at=utcnow() - timedelta(minutes=1),
    )
    # Another upload of the same question is still in time.
    live = Take(
        question_id=cut.question_id,
        attempt=9,
        status=TakeStatus.RECORDING,
        bytes_received=0,
        upload_expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add_all([empty, live])
    db.session.commit()
    assert chunks.sweep_abandoned_uploads() == 0  # no chunk removed: the bytes are kept
    cut = _take(cut_url)
    assert cut.status == TakeStatus.UPLOADED and cut.upload_length == len(b"old bytes")
    assert "upload_cut_short" in cut.flags
    assert all(get_storage().exists(key) for key in keys)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "process_take"))
    assert run is not None and run.args == [cut.id]  # the worker assembles and processes it
    chunks.assemble_pending(cut.id)
    with get_storage().open(media_services.asset_of(cut, AssetKind.ORIGINAL).storage_key) as f:
        assert f.read() == b"old bytes"
    empty = db.session.get(Take, empty.id)
    assert empty.status == TakeStatus.FAILED and empty.failure_reason == chunks.ABANDONED
    assert db.session.get(Take, live.id).status == TakeStatus.RECORDING
    # `flask jobs tick` runs the sweep.
    result = app.test_cli_runner().invoke(args=["jobs", "tick"])
    assert "swept_upload_chunks=0" in result.output


def test_the_sweep_never_touches_a_complete_take_waiting_for_assembly(app, candidate, monkeypatch):
    """A take whose every byte arrived but whose assembly has not happened yet keeps its
    chunks through the sweep, however old its upload."""
    url = _started(candidate)

    def later(*args, **kwargs):
        raise OSError("not now")

    monkeypatch.setattr(chunks, "store_original", later)
    assert candidate.patch(url, b"whole", 0, **{"Upload-Length": "5"}).status_code == 204
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED and len(chunks.chunks_of(take.id)) == 1
    assert chunks.sweep_abandoned_uploads(utcnow() + timedelta(days=30)) == 0
    assert len(chunks.chunks_of(take.id)) == 1
    assert media_services.asset_of(take, AssetKind.ORIGINAL) is None


def test_cors_answers_only_the_configured_origins(app, client, org):
    """With UPLOAD_CORS_ORIGINS set, a page on that origin may call the tus endpoints (the
    preflight lists the tus headers); any other origin gets no CORS header."""
    app.config["UPLOAD_CORS_ORIGINS"] = ["https://careers.example"]
    url = f"/i/{org.token}/api/questions/0/uploads"
    preflight = client.options(
        url,
        headers={
            "Origin": "https://careers.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "tus-resumable, upload-length",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://careers.example"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Upload-Checksum" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Upload-Offset" in preflight.headers["Access-Control-Expose-Headers"]
    other = client.options(url, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_with_worker_assembly_the_node_only_queues_and_the_worker_assembles(app, candidate):
    """UPLOAD_ASSEMBLY=worker (workers on other machines): the last PATCH is answered and
    processing queued, the chunks stay; the media job assembles them, byte for byte, first."""
    app.config["UPLOAD_ASSEMBLY"] = "worker"
    url = _started(candidate)
    data = b"\x1aE\xdf\xa3" + b"w" * 9000
    assert candidate.patch(url, data[:4000], 0).status_code == 204
    done = candidate.patch(url, data[4000:], 4000, **{"Upload-Length": str(len(data))})
    assert done.status_code == 204
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED and take.checksum_sha256 is None
    assert len(chunks.chunks_of(take.id)) == 2
    assert db.session.scalar(sa.select(JobRun).where(JobRun.name == "process_take")).args == [
        take.id
    ]
    media_jobs.process_take(take.id)
    take = _take(url)
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    with get_storage().open(media_services.asset_of(take, AssetKind.ORIGINAL).storage_key) as f:
        assert f.read() == data
    assert chunks.chunks_of(take.id) == []
