"""The recovery sweep for transcripts (``flask jobs reconcile`` and the scheduler call it)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    AssetKind,
    InterviewQuestion,
    JobRun,
    JobStatus,
    MediaAsset,
    Question,
    Take,
    TakeStatus,
    Transcript,
    TranscriptStatus,
    utcnow,
)
from .services import JOB_NAME, enabled, enqueue, request_for_prompt, request_for_take


def reconcile_transcripts(stale_after: timedelta) -> list[Transcript]:
    """Re-queue transcripts stuck in queued/processing that no live run carries, and request
    the missing ones of ready scored answers (a request lost before it was recorded)."""
    if not enabled():
        return []
    cutoff = utcnow() - stale_after
    active = {
        run.args[0]
        for run in db.session.scalars(
            sa.select(JobRun).where(
                JobRun.name == JOB_NAME, JobRun.status.in_([JobStatus.QUEUED, JobStatus.STARTED])
            )
        )
        if run.args
    }
    stuck = db.session.scalars(
        sa.select(Transcript).where(
            Transcript.status.in_([TranscriptStatus.QUEUED, TranscriptStatus.PROCESSING]),
            Transcript.updated_at < cutoff,
        )
    ).all()
    resent = []
    for transcript in stuck:
        if transcript.id in active:
            continue
        db.session.execute(
            sa.update(Transcript)
            .where(Transcript.id == transcript.id)
            .values(status=TranscriptStatus.QUEUED, claim_token=None)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        enqueue(transcript, transcript.duration_ms)
        resent.append(transcript)
    missing = db.session.scalars(
        sa.select(Take.id)
        .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
        .outerjoin(Transcript, Transcript.take_id == Take.id)
        .where(
            Take.status == TakeStatus.READY,
            Take.processed_at < cutoff,
            InterviewQuestion.is_practice.is_(False),
            Transcript.id.is_(None),
        )
    ).all()
    for take_id in missing:
        transcript = request_for_take(take_id)
        if transcript is not None:
            resent.append(transcript)
    # Question videos without captions (copies made when a screening is duplicated).
    videos = db.session.scalars(
        sa.select(MediaAsset)
        .outerjoin(Transcript, Transcript.asset_id == MediaAsset.id)
        .where(
            MediaAsset.kind == AssetKind.PROMPT_VIDEO,
            MediaAsset.created_at < cutoff,
            Transcript.id.is_(None),
        )
    ).all()
    for asset in videos:
        question = db.session.get(Question, asset.question_id) if asset.question_id else None
        language = question.screening.answer_language if question else None
        transcript = request_for_prompt(asset, language)
        if transcript is not None:
            resent.append(transcript)
    return resent
