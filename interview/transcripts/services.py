"""Transcripts: requesting, claiming, recognising, publishing, recovering and reading them.

Rules (issue 14):
- Every kept answer to a scored question, and every question video, gets a transcript and
  WebVTT captions, recognised on this server (``asr``); nothing leaves it.
- Recognition is queued *after* the take is ready (``media.services.take_ready``), on its own
  queue, so it never delays "ready"; a missing model fails the transcript with a clear reason
  and the answer stays reviewable.
- A worker works only on a transcript it has claimed with a conditional UPDATE (as media does);
  results become visible in one transaction that re-checks the claim.
- Transcripts, their segments, captions and the audio-only copy belong to the take (cascade):
  whatever deletes an answer's take deletes them.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from .. import claims, jobs
from ..extensions import db
from ..media import services as media
from ..media import transcode
from ..media.probe import MediaRejected
from ..media.storage import get_storage
from ..models import (
    AssetKind,
    JobRun,
    MediaAsset,
    Take,
    TakeStatus,
    Transcript,
    TranscriptSegment,
    TranscriptStatus,
    utcnow,
)
from . import asr, vtt

log = logging.getLogger(__name__)

JOB_NAME = "transcribe"
STILL_TRYING = "recognition kept failing"
NO_MEDIA = "the answer has no playable media"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Outcome:
    transcript_id: int
    status: str  # "ready", "failed", "skipped"
    detail: str = ""


# --- settings and the model -----------------------------------------------------------------


def enabled() -> bool:
    return bool(current_app.config["TRANSCRIPTS_ENABLED"])


def model_dir() -> Path:
    return Path(current_app.config["TRANSCRIPTS_MODEL_DIR"])


def prepare_model() -> Path:
    """Assemble and verify the model (SHA-256 against the manifest); raises ModelUnavailable.
    Workers call this at start, so a bad model is reported before any job runs."""
    manifest = current_app.config.get("TRANSCRIPTS_MODEL_MANIFEST") or asr.MANIFEST
    return asr.prepare_model(model_dir(), Path(manifest))


def job_timeout(duration_ms: int | None) -> int:
    """Seconds a recognition job may run: a base plus a factor of the media's length."""
    config = current_app.config
    seconds = (duration_ms or 0) / 1000 or 600
    return int(config["TRANSCRIPT_JOB_BASE_TIMEOUT"] + config["TRANSCRIPT_JOB_FACTOR"] * seconds)


# --- requests -------------------------------------------------------------------------------


def _is_scored_answer(take: Take) -> bool:
    return not take.question.is_practice


def enqueue(transcript: Transcript, duration_ms: int | None) -> JobRun:
    run = jobs.enqueue(JOB_NAME, transcript.id, timeout=job_timeout(duration_ms))
    db.session.execute(
        sa.update(Transcript)
        .where(Transcript.id == transcript.id, Transcript.status == TranscriptStatus.QUEUED)
        .values(rq_job_id=run.rq_job_id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return run


def _create(**fields) -> Transcript | None:
    """Insert a queued transcript; None when one already exists (a double request)."""
    transcript = Transcript(status=TranscriptStatus.QUEUED, **fields)
    try:
        with db.session.begin_nested():
            db.session.add(transcript)
    except sa.exc.IntegrityError:
        return None
    db.session.commit()
    return transcript


def request_for_take(take_id: int) -> Transcript | None:
    """Queue recognition of a ready answer (scored questions only; idempotent)."""
    take = db.session.get(Take, take_id)
    if take is None or take.status != TakeStatus.READY or not _is_scored_answer(take):
        return None
    screening = take.question.invitation.screening
    transcript = _create(
        org_id=media.take_org_id(take),
        take_id=take.id,
        requested_language=screening.answer_language,
    )
    if transcript is not None:
        enqueue(transcript, take.duration_ms)
    return transcript


def request_for_prompt(asset: MediaAsset, language: str | None = None) -> Transcript | None:
    """Queue recognition of a question video, for the captions candidates see."""
    transcript = _create(org_id=asset.org_id, asset_id=asset.id, requested_language=language)
    if transcript is not None:
        enqueue(transcript, asset.duration_ms)
    return transcript


@media.take_ready.connect
def _on_take_ready(sender: object, take_id: int, **_: object) -> None:
    """A take became ready: queue its transcript. Never lets an error reach the media job
    (the take is ready whatever happens here; the sweep asks again later)."""
    if not enabled():
        return
    try:
        request_for_take(take_id)
    except Exception:  # noqa: BLE001 - logged; reconcile_transcripts requests it again
        db.session.rollback()
        log.exception("transcript of take %s not requested", take_id)


# --- claims ---------------------------------------------------------------------------------


TRANSCRIPTS = claims.Claimable(
    Transcript, TranscriptStatus.QUEUED, TranscriptStatus.PROCESSING, "attempts"
)


def _held(transcript_id: int, token: str) -> sa.ColumnElement[bool]:
    return TRANSCRIPTS.held(transcript_id, token)


def claim(transcript_id: int, job_id: str | None) -> tuple[str | None, str | None]:
    """Take the transcript for this job (``claims.claim``): (new claim token, token of a dead
    claim taken over); the new token is None when the transcript is not ours."""
    return claims.claim(TRANSCRIPTS, transcript_id, job_id)


def _finish(transcript_id: int, token: str, **values) -> bool:
    db.session.rollback()
    result = db.session.execute(
        sa.update(Transcript)
        .where(_held(transcript_id, token))
        .values(claim_token=None, finished_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def fail(transcript_id: int, token: str, reason: str) -> bool:
    """Failed for good (no model, nothing to hear): the answer stays reviewable without it."""
    return _finish(transcript_id, token, status=TranscriptStatus.FAILED, failure_reason=reason)


def release(transcript_id: int, token: str) -> None:
    """Give the transcript back after a transient error, so a retry can claim it."""
    claims.release(TRANSCRIPTS, transcript_id, token)


# --- recognition ----------------------------------------------------------------------------


def _source(transcript: Transcript) -> tuple[MediaAsset | None, Take | None]:
    if transcript.take_id is not None:
        take = db.session.get(Take, transcript.take_id)
        return (media.asset_of(take, AssetKind.MP4) if take else None), take
    return db.session.get(MediaAsset, transcript.asset_id), None


def _asset_fields(key: str, path: Path, content_type: str, duration_ms: int | None) -> dict:
    return {
        "storage_key": key,
        "content_type": content_type,
        "size_bytes": path.stat().st_size,
        "duration_ms": duration_ms,
        "checksum_sha256": asr.sha256_of(path),
    }


def _captions_key(transcript: Transcript, token: str) -> str:
    return f"orgs/{transcript.org_id}/captions/{transcript.id}/{token}.vtt"


def _audio_key(take: Take, token: str) -> str:
    return media.storage_key(take, f"audio-{token}", ".m4a")


def _put_asset(transcript: Transcript, take: Take | None, kind: AssetKind, **fields) -> str | None:
    """Insert or update the captions/audio asset; the storage key it replaced, if any."""
    if take is not None:
        asset = media.asset_of(take, kind)
    elif kind == AssetKind.CAPTIONS and transcript.captions_asset_id:
        asset = db.session.get(MediaAsset, transcript.captions_asset_id)
    else:
        asset = None
    old = asset.storage_key if asset else None
    if asset is None:
        source = db.session.get(MediaAsset, transcript.asset_id) if take is None else None
        asset = MediaAsset(
            org_id=transcript.org_id,
            take_id=take.id if take else None,
            question_id=source.question_id if source else None,
            kind=kind,
        )
        db.session.add(asset)
    for name, value in fields.items():
        setattr(asset, name, value)
    db.session.flush()
    if kind == AssetKind.CAPTIONS:
        transcript.captions_asset_id = asset.id
    return old if old != fields["storage_key"] else None


def _publish(
    transcript_id: int,
    token: str,
    result: asr.Transcription,
    files: dict[AssetKind, tuple[str, Path, str]],
    seconds: float,
    take: Take | None,
) -> bool:
    """One transaction: segments, captions (and audio) assets, status ready, if still ours."""
    storage = get_storage()
    transcript = db.session.get(Transcript, transcript_id)
    duration_ms = round(result.duration * 1000)
    done = db.session.execute(
        sa.update(Transcript)
        .where(_held(transcript_id, token))
        .values(
            status=TranscriptStatus.READY,
            claim_token=None,
            finished_at=utcnow(),
            language=result.language,
            text=result.text,
            duration_ms=duration_ms,
            seconds_taken=round(seconds, 3),
            model=asr.manifest()["name"],
            failure_reason=None,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        db.session.rollback()
        for key, _path, _type in files.values():
            storage.delete(key)
        return False
    db.session.execute(
        sa.delete(TranscriptSegment).where(TranscriptSegment.transcript_id == transcript_id)
    )
    for position, segment in enumerate(result.segments):
        db.session.add(
            TranscriptSegment(
                transcript_id=transcript_id,
                org_id=transcript.org_id,
                position=position,
                start_ms=round(segment.start * 1000),
                end_ms=round(segment.end * 1000),
                text=segment.text,
                words=[[round(w.start * 1000), round(w.end * 1000), w.text] for w in segment.words],
            )
        )
    replaced = [
        _put_asset(transcript, take, kind, **_asset_fields(key, path, content_type, duration_ms))
        for kind, (key, path, content_type) in files.items()
    ]
    db.session.commit()
    for key in replaced:
        if key:
            storage.delete(key)
    return True


def transcribe(transcript_id: int, job_id: str | None = None) -> Outcome:
    """Claim the transcript, recognise the speech, store segments + captions (+ the answer's
    sound alone). Idempotent; a missing model fails it for good, other errors are retried."""
    token, dead_claim = claim(transcript_id, job_id)
    if token is None:
        transcript = db.session.get(Transcript, transcript_id)
        return Outcome(transcript_id, "skipped", transcript.status if transcript else "missing")
    transcript = db.session.get(Transcript, transcript_id)
    storage = get_storage()
    if dead_claim:
        # A killed worker may have stored outputs under its claim's keys before dying.
        storage.delete(_captions_key(transcript, dead_claim))
        if transcript.take_id is not None:
            storage.delete(_audio_key(db.session.get(Take, transcript.take_id), dead_claim))
    if transcript.attempts > MAX_ATTEMPTS:
        fail(transcript_id, token, STILL_TRYING)
        return Outcome(transcript_id, "failed", STILL_TRYING)
    source, take = _source(transcript)
    if source is None:
        fail(transcript_id, token, NO_MEDIA)
        return Outcome(transcript_id, "failed", NO_MEDIA)
    timeout = job_timeout(source.duration_ms)
    files: dict[AssetKind, tuple[str, Path, str]] = {}
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"transcript-{transcript_id}-") as workdir,
            storage.local_copy(source.storage_key) as src,
        ):
            speech = Path(src)
            if take is not None and not source.content_type.startswith("audio/"):
                speech = Path(workdir) / "audio.m4a"
                transcode.extract_audio(src, speech, timeout=timeout)
                files[AssetKind.AUDIO] = (_audio_key(take, token), speech, "audio/mp4")
            started = time.monotonic()
            model = asr.load(prepare_model(), threads=current_app.config["TRANSCRIPTS_THREADS"])
            result = asr.transcribe(model, speech, language=transcript.requested_language)
            seconds = time.monotonic() - started
            captions = Path(workdir) / "captions.vtt"
            captions.write_text(vtt.render(cues_of(result)), encoding="utf-8")
            files[AssetKind.CAPTIONS] = (_captions_key(transcript, token), captions, "text/vtt")
            for key, path, _type in files.values():
                storage.save_file(key, path)
            if not _publish(transcript_id, token, result, files, seconds, take):
                return Outcome(transcript_id, "skipped", "claim lost")
    except asr.ModelUnavailable as error:
        log.error("transcript %s: %s", transcript_id, error)
        fail(transcript_id, token, str(error))
        return Outcome(transcript_id, "failed", str(error))
    except MediaRejected as error:
        fail(transcript_id, token, error.reason)
        return Outcome(transcript_id, "failed", error.reason)
    except BaseException:
        release(transcript_id, token)
        for key, _path, _type in files.values():
            storage.delete(key)
        raise
    return Outcome(transcript_id, "ready", f"{len(result.segments)} segments")


def cues_of(result: asr.Transcription) -> list[vtt.Cue]:
    return vtt.cues(result.segments, words_of=lambda s: s.words, duration=result.duration)


def request_for_prompt_if_enabled(asset: MediaAsset, language: str | None) -> None:
    """A question video was set: queue its captions (errors logged, never in the way)."""
    if not enabled():
        return
    try:
        request_for_prompt(asset, language)
    except Exception:  # noqa: BLE001 - the question video works without captions
        db.session.rollback()
        log.exception("captions of question video %s not requested", asset.id)


def forget_prompt(asset: MediaAsset) -> list[str]:
    """Before a question video is deleted: remove its captions asset (the transcript goes with
    the video by cascade); returns the storage keys to delete after the commit."""
    transcript = db.session.scalar(sa.select(Transcript).where(Transcript.asset_id == asset.id))
    if transcript is None or transcript.captions_asset_id is None:
        return []
    captions = db.session.get(MediaAsset, transcript.captions_asset_id)
    transcript.captions_asset_id = None
    if captions is None:
        return []
    db.session.delete(captions)
    return [captions.storage_key]
