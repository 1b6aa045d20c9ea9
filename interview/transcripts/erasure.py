"""Transcripts in the privacy purge and export: what a candidate said is their data.

Caption and audio files are MediaAssets of the take, deleted with the answers' part; the
transcript rows (text, word timings, the search index through its triggers) go here, before
the answers' part deletes the assets they point at.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import InterviewQuestion, Invitation, Take, Transcript, TranscriptSegment
from ..privacy import services as privacy
from ..privacy.catalogue import take_ids
from ..privacy.services import ErasePolicy, ExportOptions


def _erase(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    takes = take_ids(invitation_ids)  # the one definition of "their answers' takes"
    ids = takes and list(
        db.session.scalars(sa.select(Transcript.id).where(Transcript.take_id.in_(takes)))
    )
    if not ids:
        return
    db.session.execute(
        sa.delete(TranscriptSegment)
        .where(TranscriptSegment.transcript_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(Transcript)
        .where(Transcript.id.in_(ids))
        .execution_options(synchronize_session=False)
    )


def _export(invitation: Invitation, _options: ExportOptions) -> list[dict]:
    rows = db.session.execute(
        sa.select(InterviewQuestion.position, Transcript.language, Transcript.text)
        .join(Take, Take.id == Transcript.take_id)
        .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
        .where(InterviewQuestion.invitation_id == invitation.id)
        .order_by(InterviewQuestion.position, Take.attempt)
    ).all()
    return [
        {"question_position": position, "language": language, "text": text}
        for position, language, text in rows
    ]


privacy.register("transcripts", export=_export, erase=_erase, order=25)
