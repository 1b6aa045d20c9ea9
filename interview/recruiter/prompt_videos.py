"""Question videos: checking and storing a video of the question being asked, attaching,
copying and removing it (its file goes once no interview refers to it). ``services`` names the
public ones too, so callers use one module."""

from __future__ import annotations

import secrets
import tempfile
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from .. import audit
from ..extensions import db
from ..media import probe
from ..media.storage import get_storage
from ..models import AssetKind, InterviewQuestion, MediaAsset, Question
from ..transcripts import services as transcripts
from .services import RecruitingError

# --- prompt videos ---------------------------------------------------------------------------

PROMPT_VIDEO_MAX_SECONDS = 300


def megabytes(size: int) -> str:
    """A byte limit as people read it: "100 MB"."""
    return f"{size / (1024 * 1024):g} MB"


def prompt_video_limit() -> int:
    return current_app.config["PROMPT_VIDEO_MAX_BYTES"]


# What every current browser plays natively, by container.
_PLAYABLE = {probe.MOV: ("h264",), probe.MATROSKA: ("vp8", "vp9", "av1")}


def store_prompt_video(org_id: int, upload: BinaryIO) -> MediaAsset:
    """Check a question video (MP4/H.264 or WebM/VP8/VP9, within the size and length limits)
    and put it in storage; the asset is not yet added to the session or tied to a question.

    Raises RecruitingError before anything is stored, so a refused video changes nothing.
    """
    limit = prompt_video_limit()
    with tempfile.NamedTemporaryFile(prefix="prompt-", suffix=".upload") as staged:
        size = 0
        for block in iter(lambda: upload.read(1024 * 1024), b""):
            size += len(block)
            if size > limit:
                raise RecruitingError(f"The video is larger than {megabytes(limit)}.")
            staged.write(block)
        staged.flush()
        try:
            info = probe.probe(staged.name)
        except probe.MediaRejected as error:
            raise RecruitingError(f"That file cannot be used: {error.reason}.") from error
        if info.video is None or info.video.codec not in _PLAYABLE.get(info.container, ()):
            raise RecruitingError("Upload an MP4 (H.264) or WebM (VP8/VP9) video.")
        if info.duration is not None and info.duration > PROMPT_VIDEO_MAX_SECONDS:
            raise RecruitingError("Keep the question video under 5 minutes.")
        content_type = "video/mp4" if info.container == probe.MOV else "video/webm"
        suffix = ".mp4" if info.container == probe.MOV else ".webm"
        key = f"orgs/{org_id}/questions/{secrets.token_hex(16)}{suffix}"
        get_storage().save_file(key, staged.name)
    return MediaAsset(
        org_id=org_id,
        kind=AssetKind.PROMPT_VIDEO,
        storage_key=key,
        content_type=content_type,
        size_bytes=size,
        duration_ms=int(info.duration * 1000) if info.duration else None,
        width=info.video.width,
        height=info.video.height,
        video_codec=info.video.codec,
        audio_codec=info.audio.codec if info.audio else None,
    )


def discard_prompt_video(asset: MediaAsset) -> None:
    """Delete the file of a stored video that was never attached (its question was refused)."""
    get_storage().delete(asset.storage_key)


def attach_prompt_video(question: Question, asset: MediaAsset) -> MediaAsset:
    """Make a stored video the question's. Interviews already started keep the video they were
    given; a replaced video is deleted only when no interview refers to it."""
    asset.question_id = question.id
    db.session.add(asset)
    db.session.flush()
    old = question.prompt_video
    question.prompt_video = asset
    audit.record("question.video_set", question.screening, question_id=question.id)
    db.session.commit()
    transcripts.request_for_prompt_if_enabled(asset, question.screening.answer_language)
    if old is not None:
        _delete_if_unused(old)
    return asset


def set_prompt_video(question: Question, upload: BinaryIO) -> MediaAsset:
    """Check, store and attach a video of the question being asked (RecruitingError if not)."""
    return attach_prompt_video(question, store_prompt_video(question.screening.org_id, upload))


def _copy_prompt_video(asset: MediaAsset, question: Question) -> MediaAsset:
    """A copy of the file under a new key, so each screening owns (and may delete) its own."""
    storage = get_storage()
    suffix = asset.storage_key.rsplit(".", 1)[-1]
    key = f"orgs/{asset.org_id}/questions/{secrets.token_hex(16)}.{suffix}"
    with storage.local_copy(asset.storage_key) as path:
        storage.save_file(key, path)
    copy = MediaAsset(
        org_id=asset.org_id,
        question_id=question.id,
        kind=AssetKind.PROMPT_VIDEO,
        storage_key=key,
        content_type=asset.content_type,
        size_bytes=asset.size_bytes,
        duration_ms=asset.duration_ms,
        width=asset.width,
        height=asset.height,
        video_codec=asset.video_codec,
        audio_codec=asset.audio_codec,
    )
    db.session.add(copy)
    db.session.flush()
    # Its captions are requested by the transcripts sweep (not inside this copy's transaction).
    return copy


def remove_prompt_video(question: Question) -> None:
    old = question.prompt_video
    if old is None:
        return
    question.prompt_video = None
    audit.record("question.video_removed", question.screening, question_id=question.id)
    db.session.commit()
    _delete_if_unused(old)


def _delete_if_unused(asset: MediaAsset) -> None:
    in_use = db.session.scalar(
        sa.select(sa.func.count(InterviewQuestion.id)).where(
            InterviewQuestion.prompt_video_id == asset.id
        )
    ) or db.session.scalar(
        sa.select(sa.func.count(Question.id)).where(Question.prompt_video_id == asset.id)
    )
    if in_use:
        return
    keys = [asset.storage_key, *transcripts.forget_prompt(asset)]
    db.session.delete(asset)
    db.session.commit()
    for key in keys:
        get_storage().delete(key)
