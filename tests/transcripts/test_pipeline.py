"""From a ready answer to its transcript, captions and sound: the job's rules."""

from __future__ import annotations

import io

import sqlalchemy as sa
import webvtt

from interview.extensions import db
from interview.media import services as media
from interview.media.storage import get_storage
from interview.models import AssetKind, JobRun, Transcript, TranscriptStatus
from interview.transcripts import services as transcripts

from .conftest import EXPECTED_WORDS, needs_espeak


def _transcript_of(take) -> Transcript:
    return db.session.scalar(sa.select(Transcript).where(Transcript.take_id == take.id))


@needs_espeak
def test_a_ready_answer_gets_a_transcript_segments_and_captions(app, ready_take, speech_mp4):
    """Is recognition queued (not run) when the take becomes ready, and does the job store
    searchable segments, WebVTT captions inside the answer and the answer's sound alone?"""
    take = ready_take(speech_mp4)
    transcript = _transcript_of(take)
    assert transcript is not None and transcript.status == TranscriptStatus.QUEUED
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "transcribe"))
    assert run.args == [transcript.id] and run.queue == "transcripts"

    outcome = transcripts.transcribe(transcript.id)
    assert outcome.status == "ready", outcome
    db.session.expire_all()
    transcript = db.session.get(Transcript, transcript.id)
    assert transcript.language == "en"
    for word in EXPECTED_WORDS:
        assert word in transcript.text.lower()
    assert transcript.segments and all(s.org_id == transcript.org_id for s in transcript.segments)
    assert all(s.words for s in transcript.segments)

    captions = media.asset_of(take, AssetKind.CAPTIONS)
    assert captions.content_type == "text/vtt" and transcript.captions_asset_id == captions.id
    with get_storage().open(captions.storage_key) as f:
        parsed = webvtt.from_buffer(io.StringIO(f.read().decode("utf-8")))
    assert len(parsed) >= 1
    for cue in parsed:
        assert 0 <= cue.start_in_seconds < cue.end_in_seconds <= take.duration_ms / 1000
    audio = media.asset_of(take, AssetKind.AUDIO)
    assert audio.content_type == "audio/mp4" and audio.video_codec is None
    assert get_storage().size(audio.storage_key) == audio.size_bytes > 0

    # Idempotent: a duplicate job finds nothing to claim.
    assert transcripts.transcribe(transcript.id).status == "skipped"


@needs_espeak
def test_a_missing_model_fails_the_transcript_and_the_answer_stays_reviewable(
    app, ready_take, speech_mp4, tmp_path, org, sign_in_as
):
    """A model whose package is not installed (named by its manifest)."""
    (tmp_path / "absent.json").write_text(
        '{"name": "x", "files": {"model.bin": {"sha256": "0", "parts": '
        '[{"package": "no_such_model_package", "path": "model.bin"}]}}}'
    )
    app.config["TRANSCRIPTS_MODEL_DIR"] = str(tmp_path / "model")
    app.config["TRANSCRIPTS_MODEL_MANIFEST"] = str(tmp_path / "absent.json")
    take = ready_take(speech_mp4)
    transcript = _transcript_of(take)
    outcome = transcripts.transcribe(transcript.id)
    assert outcome.status == "failed"
    db.session.expire_all()
    transcript = db.session.get(Transcript, transcript.id)
    assert transcript.status == TranscriptStatus.FAILED
    assert "model is not installed" in transcript.failure_reason
    page = sign_in_as("recruiter").get(f"/review/candidates/{take.question.invitation_id}")
    assert page.status_code == 200
    assert f"/media/assets/{media.asset_of(take, AssetKind.MP4).id}" in page.get_data(as_text=True)


def test_practice_answers_get_no_transcript(app, org):
    from tests import factories

    take = factories.take(org.screening)
    take.question.is_practice = True
    take.status = "ready"
    db.session.commit()
    assert transcripts.request_for_take(take.id) is None
    assert _transcript_of(take) is None


@needs_espeak
def test_an_audio_only_answer_gets_a_transcript_too(app, org, speech_mp4, tmp_path):
    """An answer recorded as sound only (an accommodation) is recognised from its M4A; it
    needs no separate sound-alone asset."""
    import subprocess

    from interview.models import TakeStatus
    from tests import factories

    m4a = tmp_path / "answer.m4a"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-i", str(speech_mp4), "-vn", "-c:a", "copy", str(m4a)],
        check=True,
    )
    take = factories.take(org.screening, audio_only=True)
    media.store_original(take, m4a, "audio/mp4")
    take.status = TakeStatus.UPLOADED
    factories.keep_as_answer(take)
    db.session.commit()
    assert media.process(take.id).status == "ready"
    transcript = _transcript_of(take)
    assert transcripts.transcribe(transcript.id).status == "ready"
    db.session.expire_all()
    assert "escalation" in db.session.get(Transcript, transcript.id).text.lower()
    take = db.session.get(type(take), take.id)
    kinds = {a.kind for a in take.assets}
    assert AssetKind.CAPTIONS in kinds and AssetKind.AUDIO not in kinds
