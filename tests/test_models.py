"""The data model: UTC timestamps, constraints, cascades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from interview.extensions import db
from interview.models import (
    Criterion,
    InterviewQuestion,
    Invitation,
    Question,
    Response,
    Review,
    Role,
    Score,
    Screening,
    Take,
    TakeStatus,
    utcnow,
)


def _invitation(org, email="cand@example.com") -> Invitation:
    inv = Invitation(
        org_id=org.org.id,
        screening=org.screening,
        candidate_name="Casey Candidate",
        candidate_email=email,
        token_hash=email.encode().hex()[:64],
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(inv)
    db.session.commit()
    return inv


def test_timestamps_come_back_timezone_aware_utc(org):
    inv = _invitation(org)
    db.session.expire_all()
    fresh = db.session.get(Invitation, inv.id)
    assert fresh.expires_at.tzinfo is not None
    assert fresh.expires_at.utcoffset() == timedelta(0)
    assert fresh.created_at <= utcnow()


def test_naive_datetimes_are_refused(org):
    """Would a naive datetime (ambiguous zone) slip into the database?"""
    inv = _invitation(org)
    inv.expires_at = datetime(2030, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()


def test_question_limits_are_enforced_by_the_database(org):
    db.session.add(
        Question(
            screening=org.screening,
            position=5,
            prompt="x",
            think_seconds=0,
            answer_seconds=5,
            max_retakes=1,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_score_must_be_on_the_1_to_5_scale(org):
    inv = _invitation(org)
    with db.session.no_autoflush:
        iq = InterviewQuestion(
            invitation=inv,
            position=1,
            prompt="p",
            think_seconds=0,
            answer_seconds=60,
            max_retakes=1,
        )
        take = Take(question=iq, attempt=1, status=TakeStatus.READY)
        response = Response(question=iq, take=take)
        review = Review(invitation=inv, reviewer=org.users[Role.REVIEWER])
        db.session.add_all([iq, take, response, review])
    db.session.flush()
    criterion = org.screening.rubric.criteria[0]
    db.session.add(Score(review=review, response=response, criterion=criterion, value=6))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_one_invitation_per_email_per_screening(org):
    _invitation(org, "same@example.com")
    with pytest.raises(IntegrityError):
        _invitation(org, "same@example.com")
    db.session.rollback()


def test_enum_columns_refuse_unknown_values(org):
    """Does the database itself refuse a status that is not in the state machine?"""
    inv = _invitation(org)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE invitations SET status = 'teleported' WHERE id = :id"),
            {"id": inv.id},
        )


def test_deleting_a_screening_removes_its_questions_and_rubric(org):
    screening_id = org.screening.id
    db.session.delete(org.screening)
    db.session.commit()
    assert db.session.get(Screening, screening_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Question)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Criterion)) == 0


def test_estimated_duration_counts_think_and_answer_time(org):
    assert org.screening.estimated_seconds == (5 + 30) + (30 + 60)
    assert [q.prompt for q in org.screening.scored_questions] == ["Tell us about yourself"]
    assert utcnow().tzinfo == UTC
