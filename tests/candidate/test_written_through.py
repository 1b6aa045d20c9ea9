"""A reveal and an upload creation write their rows through (``database.write_through``,
``insert_through``, ``insert_row``), not through the session's unit of work, which walked the
whole loaded interview at each commit (issue 17: the start burst, when every candidate reveals
and starts at once). What they write must be exactly what the unit of work wrote, and a race
between two tabs must still be refused, not answered 500."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from interview import database
from interview.candidate import services
from interview.extensions import db
from interview.models import AuditEvent, Invitation, Take, TakeStatus, utcnow

from ..conftest import counting_statements
from .test_uploads import Candidate


@pytest.fixture
def candidate(client, org) -> Candidate:
    return Candidate(client, org.token)


def _fresh(model, row_id):
    """The row as another request would read it (a new session)."""
    db.session.remove()
    return db.session.get(model, row_id)


def test_a_reveal_writes_its_rows_and_leaves_nothing_for_the_commit(app, org, candidate):
    """Are the question's reveal, the invitation's activity and the audit event in the
    database after a reveal, as separate statements before the commit, with nothing left
    for a flush (no second UPDATE of the same rows)?"""
    invitation_id, org_id = org.invitation.id, org.org.id
    before = _fresh(Invitation, invitation_id).updated_at
    db.session.remove()
    with counting_statements() as statements:
        answer = candidate.reveal(0)
    assert answer.status_code == 200
    writes = [re.match(r"\s*(UPDATE|INSERT INTO) (\w+)", s, re.I) for s in statements]
    assert [(w[1].upper(), w[2]) for w in writes if w] == [
        ("UPDATE", "interview_questions"),
        ("UPDATE", "invitations"),
        ("INSERT INTO", "audit_events"),
    ]
    invitation = _fresh(Invitation, invitation_id)
    question = invitation.questions[0]
    assert question.revealed_at is not None
    assert answer.json["questions"][0]["revealed_at"] == question.revealed_at.isoformat()
    assert invitation.last_activity_at == question.revealed_at
    assert invitation.updated_at > before  # as the column's onupdate would have set it
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "question.revealed")
    ).one()
    assert (event.org_id, event.object_type, event.object_id) == (
        org_id, "Invitation", invitation_id,
    )  # fmt: skip
    assert event.actor_label == "candidate" and event.created_at is not None
    assert event.details == {"position": 0, "attempt": 1}


def test_an_upload_creation_makes_the_take_as_the_unit_of_work_did(app, org, candidate):
    """Is the new take's row complete (every column's default applied), its id in the
    answer, and the event written, in one INSERT each?"""
    invitation_id = org.invitation.id
    candidate.reveal(0)
    db.session.remove()
    with counting_statements() as statements:
        answer = candidate.create(0)
    assert answer.status_code == 201
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 2 and "takes" in inserts[0] and "audit_events" in inserts[1]
    take = _fresh(Take, answer.json["take"]["id"])
    assert take.question.invitation_id == invitation_id and take.attempt == 1
    assert take.status == TakeStatus.RECORDING and take.bytes_received == 0
    assert take.flags == [] and take.media_summary == {} and take.processing_attempts == 0
    assert take.content_type == "video/webm" and take.audio_only is False
    assert take.created_at is not None and take.updated_at is not None
    assert take.upload_expires_at is not None and take.started_at is not None
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "take.started"))
    assert event.one().details == {"position": 0, "take_id": take.id}
    # The state the recorder reads next agrees with what was answered.
    (listed,) = candidate.state()["questions"][0]["takes"]
    assert listed == answer.json["take"]


def test_a_take_made_through_is_in_the_session_as_loaded(app, org):
    """After ``insert_through``, are the take and its question's takes usable without a
    query (nothing lazy-loaded, nothing left to flush)?"""
    invitation = services.resolve(org.token, interview=True)
    question = invitation.questions[0]
    assert question.takes == []
    take = Take(attempt=1, status=TakeStatus.RECORDING, started_at=utcnow(), assets=[])
    with counting_statements() as statements:
        database.insert_through(db.session(), take, question=question)
        assert take.id is not None and take.question is question
        assert question.takes == [take] and take.assets == [] and take.transcript is None
        assert take.bytes_received == 0 and take.flags == []
        assert not db.session.dirty and not db.session.new
        db.session.commit()
    assert len(statements) == 1  # the INSERT; no SELECT, no UPDATE at the commit
    take_id, question_id = take.id, question.id
    assert _fresh(Take, take_id).question_id == question_id


def test_two_tabs_starting_one_answer_at_once_get_a_refusal_not_an_error(app, org, candidate):
    """The second of two simultaneous starts breaks the (question, attempt) constraint in the
    INSERT itself: is it refused with a message, its transaction rolled back, and the first
    take left alone?"""
    candidate.reveal(0)
    invitation = services.resolve(org.token, interview=True)
    question = invitation.questions[0]
    question_id = question.id
    # Another tab's start lands between this one's read and its write.
    with db.engine.begin() as other:
        other.execute(
            sa.insert(Take.__table__).values(
                question_id=question_id, attempt=1, status=TakeStatus.RECORDING,
                bytes_received=0, audio_only=False, flags=[], processing_attempts=0,
                media_summary={}, created_at=utcnow(), updated_at=utcnow(),
            )
        )  # fmt: skip
    with pytest.raises(services.InterviewRefused, match="started twice"):
        services.start_take(invitation, question, content_type="video/webm", upload_length=None)
    db.session.remove()
    takes = db.session.scalars(sa.select(Take).where(Take.question_id == question_id)).all()
    assert len(takes) == 1
    started = sa.select(AuditEvent).where(AuditEvent.action == "take.started")
    assert db.session.scalars(started).all() == []


def test_write_through_refuses_nothing_silently(app, org):
    """A write that breaks a constraint raises at once, as a flush would, and leaves the
    row as it was."""
    invitation = services.resolve(org.token)
    with pytest.raises(IntegrityError):
        database.write_through(invitation, candidate_email=None)
    db.session.rollback()
    assert _fresh(Invitation, invitation.id).candidate_email
