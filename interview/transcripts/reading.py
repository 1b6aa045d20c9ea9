"""What pages, reports and exports read of transcripts: one answer's text, segments, captions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    AssetKind,
    InterviewQuestion,
    Invitation,
    MediaAsset,
    Take,
    Transcript,
    TranscriptStatus,
)


@dataclass
class Line:
    start_ms: int
    end_ms: int
    text: str


@dataclass
class TakeText:
    """An answer's transcript as the reviewer page, the PDF and the CSV show it."""

    status: str  # "queued" | "processing" | "ready" | "failed" | "none"
    language: str | None = None
    failure_reason: str | None = None
    lines: list[Line] = field(default_factory=list)
    captions_asset_id: int | None = None
    audio_asset_id: int | None = None

    @property
    def ready(self) -> bool:
        return self.status == TranscriptStatus.READY

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


def for_takes(take_ids: Iterable[int]) -> dict[int, TakeText]:
    """Transcripts (and the captions / sound-alone assets) of ``take_ids``, by take id; a take
    with none yet maps to status "none". Two queries whatever the number of takes."""
    ids = list(take_ids)
    texts = {take_id: TakeText("none") for take_id in ids}
    if not ids:
        return texts
    for transcript in db.session.scalars(
        sa.select(Transcript)
        .options(selectinload(Transcript.segments))
        .where(Transcript.take_id.in_(ids))
    ):
        texts[transcript.take_id] = TakeText(
            status=transcript.status.value,
            language=transcript.language,
            failure_reason=transcript.failure_reason,
            lines=[Line(s.start_ms, s.end_ms, s.text) for s in transcript.segments]
            if transcript.status == TranscriptStatus.READY
            else [],
            captions_asset_id=transcript.captions_asset_id
            if transcript.status == TranscriptStatus.READY
            else None,
        )
    for take_id, asset_id in db.session.execute(
        sa.select(MediaAsset.take_id, MediaAsset.id).where(
            MediaAsset.take_id.in_(ids), MediaAsset.kind == AssetKind.AUDIO
        )
    ):
        texts[take_id].audio_asset_id = asset_id
    return texts


def prompt_captions(asset_id: int) -> MediaAsset | None:
    """The captions of a question video, once recognised."""
    return db.session.scalar(
        sa.select(MediaAsset)
        .join(Transcript, Transcript.captions_asset_id == MediaAsset.id)
        .where(Transcript.asset_id == asset_id, Transcript.status == TranscriptStatus.READY)
    )


def takes_with_text(take_ids: Iterable[int]) -> set[int]:
    """Which of ``take_ids`` have a ready transcript (the candidate's receipt lists them)."""
    ids = list(take_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Transcript.take_id).where(
                Transcript.take_id.in_(ids), Transcript.status == TranscriptStatus.READY
            )
        )
    )


def fingerprint(screening_id: int, invitation_id: int | None = None) -> str:
    """Changes when a transcript of the screening's (or one candidate's) answers changes, so a
    report that prints transcripts is marked stale once they are ready."""
    query = (
        sa.select(sa.func.count(Transcript.id), sa.func.max(Transcript.updated_at))
        .join(Take, Take.id == Transcript.take_id)
        .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
        .join(Invitation, Invitation.id == InterviewQuestion.invitation_id)
        .where(Invitation.screening_id == screening_id)
    )
    if invitation_id is not None:
        query = query.where(Invitation.id == invitation_id)
    count, latest = db.session.execute(query).one()
    return f"transcripts {count}:{latest.isoformat() if latest else '-'}"
