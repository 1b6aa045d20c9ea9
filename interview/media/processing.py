"""Processing one take (the media worker's part of the rules in ``services``): claim it, probe
and validate its original, transcode it to MP4 (or M4A) with a poster, analyse it, and publish
the outputs and figures in one transaction that checks the claim is still held."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import AssetKind, MediaAsset, Take, TakeStatus, utcnow
from ..webhooks import services as webhooks
from . import probe, transcode
from .services import (
    NO_ORIGINAL,
    STILL_TRYING,
    UPLOAD_FLAGS,
    Outcome,
    _held,
    _output_keys,
    _sha256,
    answer_limit_seconds,
    asset_of,
    claim,
    encode_settings,
    fail,
    job_timeout,
    release,
    take_org_id,
    take_ready,
    work_dir,
)
from .storage import get_storage

log = logging.getLogger(__name__)


@dataclass
class _Outputs:
    media_path: Path
    poster_path: Path | None
    info: probe.MediaInfo
    analysis: transcode.Analysis
    flags: list[str]


def _derive(take: Take, src: str, workdir: Path, timeout: float) -> _Outputs:
    """Probe, validate, normalise and analyse one original (raises MediaRejected)."""
    limit = answer_limit_seconds(take)
    source = probe.probe(src)
    probe.validate(source, audio_only=take.audio_only, limit_seconds=limit)
    audio_only = take.audio_only or source.video is None
    media_path = workdir / ("answer.m4a" if audio_only else "answer.mp4")
    analysis = transcode.normalise(
        src,
        source,
        media_path,
        audio_only=audio_only,
        # One second past the limit is enough to tell an over-long answer, and bounds the work.
        max_seconds=limit + 1,
        settings=encode_settings(),
        timeout=timeout,
    )
    result = probe.probe(media_path)
    if result.duration is None or result.duration > limit:
        raise probe.MediaRejected(probe.TOO_LONG)
    transcode.finish_analysis(analysis, result.duration)
    poster_path = None
    if not audio_only:
        poster_path = workdir / "poster.jpg"
        transcode.make_poster(
            media_path, poster_path, at_seconds=result.duration / 3, timeout=timeout
        )
    flags = transcode.quality_flags(analysis, result.duration, has_video=not audio_only)
    if probe.is_incomplete(source.duration, result.duration):
        # Kept and shown (what arrived may be all the candidate has), flagged for everyone.
        flags.append(probe.INCOMPLETE)
    return _Outputs(media_path, poster_path, result, analysis, flags)


def _summary(outputs: _Outputs) -> dict[str, Any]:
    analysis, info = outputs.analysis, outputs.info
    size = info.display_size
    return {
        "width": size[0] if size else None,
        "height": size[1] if size else None,
        "video_codec": info.video.codec if info.video else None,
        "audio_codec": info.audio.codec if info.audio else None,
        "video_copied": analysis.video_copied,
        "picture_checked_on": "keyframes" if analysis.keyframes_only else "frames",
        "mean_volume_db": analysis.mean_volume_db,
        "max_volume_db": analysis.max_volume_db,
        "silence_seconds": analysis.silence_seconds,
        "black_seconds": analysis.black_seconds,
        "frozen_seconds": analysis.frozen_seconds,
        "waveform": analysis.waveform,
    }


def _put_asset(take: Take, kind: AssetKind, **fields: Any) -> str | None:
    """Insert or update the take's asset of ``kind``; return the storage key it replaced."""
    asset = asset_of(take, kind)
    old_key = None
    if asset is None:
        asset = MediaAsset(org_id=take_org_id(take), take_id=take.id, kind=kind)
        db.session.add(asset)
    else:
        old_key = asset.storage_key
    for name, value in fields.items():
        setattr(asset, name, value)
    return old_key if old_key != fields.get("storage_key") else None


def _publish(take: Take, token: str, outputs: _Outputs, keys: dict[AssetKind, str]) -> bool:
    """In one transaction: mark the take ready and point its assets at the new outputs,
    provided the claim is still ours. Old outputs are deleted after the commit."""
    storage = get_storage()
    summary = _summary(outputs)
    duration_ms = round((outputs.info.duration or 0) * 1000)
    result = db.session.execute(
        sa.update(Take)
        .where(_held(take.id, token))
        .values(
            status=TakeStatus.READY,
            claim_token=None,
            processed_at=utcnow(),
            duration_ms=duration_ms,
            # Flags set when the upload completed (timing) stay beside the quality flags.
            flags=[f for f in (take.flags or []) if f in UPLOAD_FLAGS] + outputs.flags,
            media_summary=summary,
            failure_reason=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        for key in keys.values():
            storage.delete(key)
        return False
    question = take.question
    if not question.is_practice:
        webhooks.emit_for_invitation(
            question.invitation, "answer.ready", take_id=take.id, question=question.position
        )
    replaced = []
    media_key = keys[AssetKind.MP4]
    replaced.append(
        _put_asset(
            take,
            AssetKind.MP4,
            storage_key=media_key,
            content_type="audio/mp4" if media_key.endswith(".m4a") else "video/mp4",
            size_bytes=storage.size(media_key),
            duration_ms=duration_ms,
            width=summary["width"],
            height=summary["height"],
            video_codec=summary["video_codec"],
            audio_codec=summary["audio_codec"],
            checksum_sha256=_sha256(outputs.media_path),
        )
    )
    poster = asset_of(take, AssetKind.POSTER)
    if AssetKind.POSTER in keys and outputs.poster_path is not None:
        replaced.append(
            _put_asset(
                take,
                AssetKind.POSTER,
                storage_key=keys[AssetKind.POSTER],
                content_type="image/jpeg",
                size_bytes=storage.size(keys[AssetKind.POSTER]),
                width=None,
                height=None,
                checksum_sha256=_sha256(outputs.poster_path),
            )
        )
    elif poster is not None:
        replaced.append(poster.storage_key)
        db.session.delete(poster)
    db.session.commit()
    for key in replaced:
        if key:
            storage.delete(key)
    take_ready.send(current_app._get_current_object(), take_id=take.id)
    return True


def process(take_id: int, job_id: str | None = None) -> Outcome:
    """Claim the take, turn its original into MP4 + poster + figures, and record the outcome.

    Idempotent: a take that is ready, failed or held by a live job is left alone. A recording
    we cannot accept fails the take for good; anything else gives the take back and re-raises
    so the job is retried (RQ's backoff, then the reconcile sweep).
    """
    token, dead_claim = claim(take_id, job_id)
    if token is None:
        take = db.session.get(Take, take_id)
        status = take.status.value if take else "missing"
        log.info("take %s not claimed (%s)", take_id, status)
        return Outcome(take_id, "skipped", status)
    take = db.session.get(Take, take_id)
    storage = get_storage()
    if dead_claim:
        # A killed worker may have stored outputs under its claim's keys before dying.
        for key in _output_keys(take, dead_claim, False) + _output_keys(take, dead_claim, True):
            storage.delete(key)
    if take.processing_attempts > current_app.config["MEDIA_MAX_ATTEMPTS"]:
        fail(take_id, token, STILL_TRYING)
        return Outcome(take_id, "failed", STILL_TRYING)
    try:
        original = asset_of(take, AssetKind.ORIGINAL)
        if original is None:
            fail(take_id, token, NO_ORIGINAL)
            return Outcome(take_id, "failed", NO_ORIGINAL)
        with (
            tempfile.TemporaryDirectory(prefix=f"take-{take_id}-", dir=work_dir()) as workdir,
            storage.local_copy(original.storage_key) as src,
        ):
            outputs = _derive(take, src, Path(workdir), timeout=job_timeout(take))
            audio_only = outputs.poster_path is None
            media_key, poster_key = _output_keys(take, token, audio_only)
            keys = {AssetKind.MP4: media_key}
            storage.save_file(media_key, outputs.media_path)
            if outputs.poster_path is not None:
                keys[AssetKind.POSTER] = poster_key
                storage.save_file(poster_key, outputs.poster_path)
            if not _publish(take, token, outputs, keys):
                return Outcome(take_id, "skipped", "claim lost")
    except probe.MediaRejected as rejected:
        log.info("take %s rejected: %s (%s)", take_id, rejected.reason, rejected.detail[-300:])
        fail(take_id, token, rejected.reason)
        return Outcome(take_id, "failed", rejected.reason)
    except BaseException:
        release(take_id, token)
        raise
    return Outcome(take_id, "ready")
