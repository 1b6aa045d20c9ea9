"""Full-text search over answer transcripts: PostgreSQL's text search and SQLite's FTS5
behind one function.

Only kept answers to scored questions of completed interviews are searched (never practice
answers or replaced takes), always within one organisation and one screening; the caller adds
who may see which candidates (``scope``, a filter on Invitation: the review area's rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Response,
    Transcript,
    TranscriptSegment,
    TranscriptStatus,
)

MAX_TERMS = 8
MAX_QUERY = 200
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    invitation_id: int
    response_id: int
    position: int  # the question's place in the interview
    start_ms: int
    end_ms: int
    text: str


def terms(query: str) -> list[str]:
    """The words searched for (every one must appear): letters and digits only, so nothing
    typed is ever read as query syntax by either database."""
    return _WORD.findall((query or "")[:MAX_QUERY].lower())[:MAX_TERMS]


def _matches(words: list[str]) -> sa.ColumnElement[bool]:
    if db.engine.dialect.name == "postgresql":
        # The same expression as the GIN index (ix_transcript_segments_search), so it is used.
        vector = sa.func.to_tsvector(sa.literal_column("'simple'"), TranscriptSegment.text)
        query = sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(words))
        return vector.op("@@")(query)
    fts = " AND ".join(f'"{word}"' for word in words)  # each a quoted FTS5 string
    matching = (
        sa.select(sa.literal_column("rowid"))
        .select_from(sa.text("transcript_search"))
        .where(sa.text("transcript_search MATCH :fts").bindparams(fts=fts))
    )
    return TranscriptSegment.id.in_(matching)


def search(
    org_id: int,
    screening_id: int,
    query: str,
    scope: sa.ColumnElement[bool],
    *,
    limit: int = 50,
) -> list[Hit]:
    """Segments of the screening's answers that contain every word of ``query``, in interview
    order (candidate, question, time)."""
    words = terms(query)
    if not words:
        return []
    rows = db.session.execute(
        sa.select(
            Invitation.id,
            Response.id,
            InterviewQuestion.position,
            TranscriptSegment.start_ms,
            TranscriptSegment.end_ms,
            TranscriptSegment.text,
        )
        .select_from(TranscriptSegment)
        .join(Transcript, Transcript.id == TranscriptSegment.transcript_id)
        .join(Response, Response.take_id == Transcript.take_id)
        .join(InterviewQuestion, InterviewQuestion.id == Response.question_id)
        .join(Invitation, Invitation.id == InterviewQuestion.invitation_id)
        .where(
            TranscriptSegment.org_id == org_id,
            Invitation.org_id == org_id,
            Invitation.screening_id == screening_id,
            Invitation.status == InvitationStatus.COMPLETED,
            InterviewQuestion.is_practice.is_(False),
            Transcript.status == TranscriptStatus.READY,
            scope,
            _matches(words),
        )
        .order_by(Invitation.id, InterviewQuestion.position, TranscriptSegment.start_ms)
        .limit(limit)
    ).all()
    return [Hit(*row) for row in rows]


def highlight(text: str, query: str) -> list[tuple[str, bool]]:
    """``text`` cut into (part, is_a_searched_word) pieces, for <mark> in the page."""
    wanted = set(terms(query))
    pieces: list[tuple[str, bool]] = []
    last = 0
    for match in _WORD.finditer(text):
        if match.group().lower() in wanted:
            if match.start() > last:
                pieces.append((text[last : match.start()], False))
            pieces.append((match.group(), True))
            last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces
