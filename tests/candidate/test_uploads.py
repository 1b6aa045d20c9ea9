"""Recording answers: the server's timing rules and its tus 1.0 upload endpoint."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from tusclient import client as tus_client

from interview.extensions import db
from interview.media import chunks
from interview.media import services as media_services
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    InvitationStatus,
    JobRun,
    Role,
    Take,
    TakeStatus,
    utcnow,
)
from interview.recruiter import services as recruiting

from ..conftest import csrf_token

TUS = {"Tus-Resumable": "1.0.0"}


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class Candidate:
    """Drives the interview API as the browser does."""

    def __init__(self, client, token: str) -> None:
        self.client, self.base = client, f"/i/{token}/api"

    def state(self) -> dict:
        return self.client.get(f"{self.base}/state").json

    def reveal(self, position: int):
        return self.client.post(f"{self.base}/questions/{position}/reveal")

    def create(self, position: int, filetype: str = "video/webm", **headers):
        headers = {
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": _meta(filetype=filetype),
            **headers,
        }
        return self.client.post(f"{self.base}/questions/{position}/uploads", headers=headers)

    def patch(self, url: str, data: bytes, offset: int, **headers):
        headers = {
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        }
        return self.client.patch(url, data=data, headers=headers)

    def head(self, url: str):
        return self.client.head(url, headers=TUS)

    def record(self, position: int, data: bytes) -> str:
        """Reveal, start and upload a whole take in two chunks; returns its upload URL."""
        assert self.reveal(position).status_code == 200
        created = self.create(position)
        assert created.status_code == 201, created.json
        url = created.headers["Location"]
        half = len(data) // 2
        assert self.patch(url, data[:half], 0).status_code == 204
        done = self.patch(url, data[half:], half, **{"Upload-Length": str(len(data))})
        assert done.status_code == 204, done.get_data(as_text=True)
        return url

    def keep(self, take_id: int):
        return self.client.post(f"{self.base}/takes/{take_id}/keep")


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


def _take(url: str) -> Take:
    db.session.expire_all()
    return db.session.get(Take, int(url.rstrip("/").rsplit("/", 1)[1]))


def _filed(url: str) -> Take:
    """The take once its node has assembled the original and queued processing, which happens
    just after the last PATCH is answered (a live server answers first); waiting for the last
    step keeps the server's writes from racing the test's clean-up."""
    deadline = time.monotonic() + 15
    while (take := _take(url)).rq_job_id is None or chunks.chunks_of(take.id):
        assert time.monotonic() < deadline, "the original was never assembled"
        time.sleep(0.05)
    return take


def test_options_advertises_tus_extensions(client, org):
    response = client.options(f"/i/{org.token}/api/questions/0/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
    }
    assert "sha256" in response.headers["Tus-Checksum-Algorithm"].split(",")
    assert int(response.headers["Tus-Max-Size"]) > 0


def test_upload_with_deferred_length_resumes_and_completes(app, candidate):
    """Creation with a deferred length, a HEAD after a partial upload, a wrong offset refused
    with 409, then the tail with Upload-Length: the take is stored byte for byte."""
    data = os.urandom(300_000)
    assert candidate.reveal(0).status_code == 200
    created = candidate.create(0)
    assert created.status_code == 201
    url = created.headers["Location"]
    assert urlsplit(url).path == url and created.headers["Upload-Offset"] == "0"
    assert candidate.patch(url, data[:100_000], 0).headers["Upload-Offset"] == "100000"
    head = candidate.head(url)
    assert head.headers["Upload-Offset"] == "100000"
    assert head.headers["Upload-Defer-Length"] == "1"
    assert head.headers["Cache-Control"] == "no-store"
    stale = candidate.patch(url, data[:100_000], 0)
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "100000"
    assert candidate.patch(url, data[100_000:200_000], 100_000).status_code == 204
    last = candidate.patch(url, data[200_000:], 200_000, **{"Upload-Length": "300000"})
    assert last.status_code == 204 and last.headers["Upload-Offset"] == "300000"
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED and take.bytes_received == 300_000
    assert take.checksum_sha256 == hashlib.sha256(data).hexdigest()
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert stored.read() == data
    assert db.session.scalar(sa.select(JobRun).where(JobRun.name == "process_take")).args == [
        take.id
    ]
    # The state the browser polls shows the receipt.
    question = candidate.state()["questions"][0]
    assert question["takes"][0]["checksum_sha256"] == take.checksum_sha256
    # A closed upload takes no more bytes.
    assert candidate.patch(url, b"more", 300_000).status_code == 409


def test_chunk_past_the_size_cap_is_refused_413(app, candidate):
    app.config["MAX_TAKE_BYTES"] = 1000
    candidate.reveal(0)
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"x" * 600, 0).status_code == 204
    assert candidate.patch(url, b"x" * 600, 600).status_code == 413
    assert candidate.head(url).headers["Upload-Offset"] == "600"  # nothing half-written counted
    over = candidate.create(0, **{"Upload-Length": "5000", "Upload-Defer-Length": ""})
    assert over.status_code in (409, 413)


def test_protocol_errors_are_explicit(candidate):
    candidate.reveal(0)
    url = candidate.create(0).headers["Location"]
    assert (
        candidate.client.patch(
            url,
            data=b"x",
            headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        ).status_code
        == 412
    )
    assert candidate.patch(url, b"x", 0, **{"Content-Type": "text/plain"}).status_code == 415
    assert candidate.patch(url, b"x", "abc").status_code == 400


def test_only_media_types_are_accepted(candidate):
    candidate.reveal(0)
    assert candidate.create(0, filetype="text/html").status_code == 415
    assert (
        candidate.create(
            0,
            filetype="video/webm",
            **{"Upload-Metadata": _meta(filetype="video/webm", audio_only="1")},
        ).status_code
        == 403
    )


def test_termination_discards_the_take_but_uses_the_attempt(candidate):
    candidate.reveal(0)
    url = candidate.create(0).headers["Location"]
    candidate.patch(url, b"abc", 0)
    assert candidate.client.delete(url, headers=TUS).status_code == 204
    take = _take(url)
    assert take.status == TakeStatus.FAILED and take.failure_reason == "discarded by the candidate"
    assert candidate.state()["questions"][0]["attempts_used"] == 1


def test_another_candidates_take_and_a_wrong_token_get_404(client, org, other_org, candidate):
    candidate.reveal(0)
    url = candidate.create(0).headers["Location"]
    take_id = url.rsplit("/", 1)[1]
    thief = f"/i/{other_org.token}/api/uploads/{take_id}"
    assert client.head(thief, headers=TUS).status_code == 404
    assert (
        client.patch(
            thief,
            data=b"x",
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        ).status_code
        == 404
    )
    assert client.head(f"/i/{'Z' * 43}/api/uploads/{take_id}", headers=TUS).status_code == 404
    assert client.get(f"/i/{other_org.token}/api/takes/{take_id}/media").status_code == 404


def test_late_start_is_refused_and_counts_as_an_attempt(candidate, org):
    """Whatever the browser's timer says, recording may not start after think time + grace."""
    assert candidate.reveal(1).status_code == 409  # not its turn: practice comes first
    data = b"\x1aE\xdf\xa3practice"
    practice_url = candidate.record(0, data)
    candidate.keep(_take(practice_url).id)
    assert candidate.reveal(1).status_code == 200
    question = org.invitation.questions[1]
    db.session.refresh(question)
    question.revealed_at -= timedelta(seconds=30 + 5 + 1)  # think 30 s + grace 5 s, and 1 s late
    db.session.commit()
    late = candidate.create(1)
    assert late.status_code == 403
    assert late.json["error"] == "The time to start this answer ran out."
    q = candidate.state()["questions"][1]
    assert q["attempts_used"] == 1 and q["attempts_allowed"] == 2
    assert q["takes"][0]["failure_reason"] == "recording started after the think time"


def test_questions_stay_secret_until_revealed(client, org, candidate):
    """Could a candidate read a question before revealing it (and so think for free)?"""
    state = candidate.state()
    assert [q["prompt"] for q in state["questions"]] == [None, None]
    review = client.get(f"/i/{org.token}/review").get_data(as_text=True)
    assert "Tell us about yourself" not in review
    assert candidate.reveal(0).json["questions"][0]["prompt"] == "Practice"
    assert candidate.state()["questions"][1]["prompt"] is None


def test_reveal_is_stable_on_reload_and_an_abandoned_reveal_costs_an_attempt(candidate, org):
    first = candidate.reveal(0).json["questions"][0]["revealed_at"]
    assert candidate.reveal(0).json["questions"][0]["revealed_at"] == first  # a reload
    question = org.invitation.questions[0]
    db.session.refresh(question)
    question.revealed_at -= timedelta(minutes=5)  # abandoned long ago
    db.session.commit()
    again = candidate.reveal(0).json["questions"][0]
    assert again["attempts_used"] == 1 and again["revealed_at"] != first
    assert again["takes"][0]["failure_reason"] == "recording did not start in time"


def test_attempt_budget_includes_accommodations(candidate, org):
    question = org.invitation.questions[1]
    question.max_retakes = 0
    db.session.commit()
    candidate.keep(_take(candidate.record(0, b"p" * 10)).id)
    candidate.record(1, b"a" * 10)
    refused = candidate.reveal(1)
    assert refused.status_code == 409 and "No attempts are left" in refused.json["error"]
    org.invitation.extra_retakes = 1
    db.session.commit()
    assert candidate.reveal(1).status_code == 200


def test_keep_needs_a_saved_take_and_moves_on(candidate):
    candidate.reveal(0)
    url = candidate.create(0).headers["Location"]
    candidate.patch(url, b"part", 0)
    refused = candidate.keep(_take(url).id)
    assert refused.status_code == 409 and "not fully saved" in refused.json["error"]
    candidate.patch(url, b"rest", 4, **{"Upload-Length": "8"})
    state = candidate.keep(_take(url).id).json
    assert state["current_position"] == 1 and state["questions"][0]["closed"]


def test_submit_locks_the_interview_and_shows_a_receipt(client, org, candidate):
    """After submitting, can anything still change? And does the receipt match the files?"""
    data = os.urandom(5000)
    candidate.keep(_take(candidate.record(0, b"practice")).id)
    take = _take(candidate.record(1, data))
    review = client.get(f"/i/{org.token}/review").get_data(as_text=True)
    assert "Submit my answers" in review and "disabled" in review  # answer not kept yet
    candidate.keep(take.id)
    page = client.get(f"/i/{org.token}/review")
    assert "disabled" not in page.get_data(as_text=True).split("Submit my answers")[0][-200:]
    # The candidate can watch the kept answer before submitting: until the server has made
    # the MP4, the player plays the very bytes the browser uploaded.
    player = f'src="/i/{org.token}/api/takes/{take.id}/media"'
    assert player in page.get_data(as_text=True)
    assert 'aria-label="Your answer to question 1"' in page.get_data(as_text=True)
    assert client.get(f"/i/{org.token}/api/takes/{take.id}/media").data == data
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    response = client.post(f"/i/{org.token}/review", data={"csrf_token": token.split('"')[0]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/done")
    db.session.refresh(org.invitation)
    assert org.invitation.status == InvitationStatus.COMPLETED
    receipt = client.get(f"/i/{org.token}/done").get_data(as_text=True)
    assert hashlib.sha256(data).hexdigest() in receipt and "5,000 bytes" in receipt
    # Nothing changes after submit.
    assert candidate.reveal(1).status_code == 409
    assert candidate.create(1).status_code == 409
    assert candidate.keep(take.id).status_code == 409


def test_partial_patch_after_a_dropped_connection_keeps_what_arrived(live_server, org):
    """A PATCH cut off mid-body (the laptop lid closes): are the bytes that arrived kept, so
    the client resumes from the server's offset?"""
    session = requests.Session()
    base = f"{live_server}/i/{org.token}/api"
    assert session.post(f"{base}/questions/0/reveal").status_code == 200
    created = session.post(
        f"{base}/questions/0/uploads",
        headers={
            **TUS,
            "Upload-Defer-Length": "1",
            "Upload-Metadata": _meta(filetype="video/webm"),
        },
    )
    path = urlsplit(created.headers["Location"]).path
    host, port = urlsplit(live_server).hostname, urlsplit(live_server).port
    payload = os.urandom(400_000)
    with socket.create_connection((host, port)) as raw:
        raw.sendall(
            (
                f"PATCH {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: 1000000\r\n\r\n"
            ).encode()
            + payload
        )
    head = session.head(f"{live_server}{path}", headers=TUS)
    deadline = 50
    while head.headers["Upload-Offset"] == "0" and deadline:
        head = session.head(f"{live_server}{path}", headers=TUS)
        deadline -= 1
    offset = int(head.headers["Upload-Offset"])
    assert 0 < offset <= len(payload)
    rest = payload[offset:] + b"tail"
    done = session.patch(
        f"{live_server}{path}",
        data=rest,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Upload-Length": str(offset + len(rest)),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert done.status_code == 204
    take = _filed(path)
    assert take.checksum_sha256 == hashlib.sha256(payload + b"tail").hexdigest()


def test_a_standard_tus_client_uploads_a_take(live_server, org):
    """Interoperability: tuspy (a tus client we did not write) uploads in 64 KiB chunks."""
    requests.post(f"{live_server}/i/{org.token}/api/questions/0/reveal", timeout=10)
    data = os.urandom(1_000_000)
    uploader = tus_client.TusClient(
        f"{live_server}/i/{org.token}/api/questions/0/uploads"
    ).uploader(
        file_stream=io.BytesIO(data), chunk_size=64 * 1024, metadata={"filetype": "video/webm"}
    )
    uploader.upload()
    take = _filed(uploader.url)
    assert take.status == TakeStatus.UPLOADED
    original = next(a for a in take.assets if a.kind == AssetKind.ORIGINAL)
    with get_storage().open(original.storage_key) as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(data).hexdigest()


# --- found in review: deadlines, failed answers, resets, key changes, late uploads ------------


def test_after_the_deadline_recorded_answers_finish_but_no_new_question_starts(
    client, org, candidate
):
    """An answer recorded before the deadline may finish uploading and be submitted within
    the finishing grace; nothing new may start."""
    candidate.keep(_take(candidate.record(0, b"practice")).id)
    assert candidate.reveal(1).status_code == 200
    url = candidate.create(1).headers["Location"]
    assert candidate.patch(url, b"first half", 0).status_code == 204
    org.invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert candidate.patch(url, b"+tail", 10, **{"Upload-Length": "15"}).status_code == 204
    assert candidate.keep(_take(url).id).status_code == 200
    page = client.get(f"/i/{org.token}/review").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(f"/i/{org.token}/review", data={"csrf_token": token}).status_code == 302
    db.session.refresh(org.invitation)
    assert org.invitation.status == InvitationStatus.COMPLETED


def test_no_new_answer_after_the_deadline_and_nothing_after_the_grace(app, client, org, candidate):
    org.invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    refused = candidate.reveal(0)
    assert refused.status_code == 403 and "deadline has passed" in refused.json["error"]
    org.invitation.expires_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    assert candidate.reveal(0).status_code == 410
    assert client.get(f"/i/{org.token}").status_code == 410


def test_a_kept_answer_that_fails_processing_reopens_the_question(candidate):
    take = _take(candidate.record(0, b"broken"))
    candidate.keep(take.id)
    assert candidate.state()["current_position"] == 1
    take.status, take.failure_reason = TakeStatus.FAILED, "not a video file"
    db.session.commit()
    state = candidate.state()
    assert state["current_position"] == 0 and not state["questions"][0]["closed"]
    second = _take(candidate.record(0, b"good one"))
    assert candidate.keep(second.id).json["current_position"] == 1
    db.session.refresh(second)
    assert second.question.response.take_id == second.id


def test_resetting_a_question_deletes_its_recordings(org, candidate, sign_in_as):
    """A reset answer is gone from storage too, not only from the database."""
    take = _take(candidate.record(0, b"to be forgotten"))
    key = next(a.storage_key for a in take.assets if a.kind == AssetKind.ORIGINAL)
    assert get_storage().exists(key)
    recruiter = sign_in_as(Role.RECRUITER)
    question = org.invitation.questions[0]
    recruiter.post(
        f"/screenings/{org.screening.id}/invitations/{org.invitation.id}/questions/"
        f"{question.id}/reset",
        data={"csrf_token": csrf_token(recruiter, "/")},
    )
    assert not get_storage().exists(key)


def test_a_link_is_reissued_when_the_server_key_changed(app, org, client):
    """After a key change the old links are dead; a resend must carry one that works."""
    app.config["INVITATION_TOKEN_KEY"] = "a brand new key"
    link = recruiting.candidate_link(org.invitation)
    assert client.get(link[link.index("/i/") :]).status_code == 200
    assert client.get(f"/i/{org.token}").status_code == 404


def test_an_upload_completed_long_after_its_time_is_flagged(candidate, org):
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    take = _take(url)
    take.started_at -= timedelta(seconds=30 + 5 + 120 + 10)  # answer + grace + slack, and more
    db.session.commit()
    candidate.patch(url, b"late", 0, **{"Upload-Length": "4"})
    assert "uploaded_late" in _take(url).flags


def test_storage_failing_after_the_last_byte_delays_nothing_and_the_worker_files_it(
    app, candidate, monkeypatch
):
    """The last PATCH is acknowledged before the original is assembled. If storage fails
    then, does the candidate still get 204, the take stay ``uploaded`` with every chunk, and
    does the media worker assemble it byte for byte?"""
    assert candidate.reveal(0).status_code == 200
    url = candidate.create(0).headers["Location"]
    assert candidate.patch(url, b"all of ", 0).status_code == 204
    real = media_services.store_original

    def broken(*args, **kwargs):
        raise OSError("storage is down")

    monkeypatch.setattr(chunks, "store_original", broken)
    done = candidate.patch(url, b"it", 7, **{"Upload-Length": "9"})
    assert done.status_code == 204 and done.headers["Upload-Offset"] == "9"
    take = _take(url)
    assert take.status == TakeStatus.UPLOADED and take.checksum_sha256 is None
    assert len(chunks.chunks_of(take.id)) == 2
    monkeypatch.setattr(chunks, "store_original", real)
    chunks.assemble_pending(take.id)  # what process_take does first
    take = _take(url)
    assert take.checksum_sha256 == hashlib.sha256(b"all of it").hexdigest()
    with get_storage().open(media_services.asset_of(take, AssetKind.ORIGINAL).storage_key) as f:
        assert f.read() == b"all of it"
    assert chunks.chunks_of(take.id) == []
