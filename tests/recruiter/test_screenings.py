"""Recruiters build screenings: details, questions, rubric, templates, open and close."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.models import (
    Criterion,
    Response,
    Review,
    Role,
    Score,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
)

from .. import factories
from ..conftest import csrf_token

QUESTION = {"prompt": "Why us?", "think_seconds": 20, "answer_seconds": 90, "max_retakes": 2}


@pytest.fixture
def recruiter(sign_in_as):
    return sign_in_as(Role.RECRUITER)


def _post(client, url, data, page="/screenings/"):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


def _new_screening(client, title="Data Analyst") -> Screening:
    response = _post(
        client, "/screenings/new", {"title": title, "deadline_days": 5, "blind_review": "y"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(sa.select(Screening).where(Screening.title == title))


def test_recruiter_builds_and_opens_a_three_question_screening(org, recruiter):
    """Can a recruiter create a screening, add questions and a rubric, and open it?"""
    screening = _new_screening(recruiter)
    assert screening.status == ScreeningStatus.DRAFT and screening.deadline_days == 5
    assert screening.org_id == org.org.id and screening.created_by == org.users[Role.RECRUITER]
    url = f"/screenings/{screening.id}"
    # Opening without questions is refused with a reason.
    _post(recruiter, f"{url}/open", {})
    db.session.refresh(screening)
    assert screening.status == ScreeningStatus.DRAFT
    for n in range(3):
        response = _post(recruiter, f"{url}/questions", {**QUESTION, "prompt": f"Q{n}"})
        assert response.status_code == 302
    response = _post(
        recruiter,
        f"{url}/criteria",
        {
            "name": "Evidence",
            "weight": "2",
            "level_1": "no example given",
            "level_5": "specific example with measurable outcome",
        },
    )
    assert response.status_code == 302
    _post(recruiter, f"{url}/open", {})
    db.session.refresh(screening)
    assert screening.status == ScreeningStatus.OPEN
    assert [q.prompt for q in screening.questions] == ["Q0", "Q1", "Q2"]
    assert screening.rubric.criteria[0].level_5 == "specific example with measurable outcome"
    assert screening.estimated_seconds == 3 * (20 + 90)
    page = recruiter.get(url).get_data(as_text=True)
    assert "Q2" in page and "Evidence" in page and "up to 5 min 30 s" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("answer_seconds", 10, "between 15 and 600"),
        ("answer_seconds", 601, "between 15 and 600"),
        ("think_seconds", -1, "between 0 and 600"),
        ("think_seconds", 601, "between 0 and 600"),
        ("max_retakes", 6, "between 0 and 5"),
        ("prompt", "", "This field is required"),
    ],
)
def test_question_limits_are_validated(org, recruiter, field, value, message):
    """Are times and retakes out of range refused with a clear message?"""
    before = len(org.screening.questions)
    response = _post(
        recruiter, f"/screenings/{org.screening.id}/questions", {**QUESTION, field: value}
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    db.session.refresh(org.screening)
    assert len(org.screening.questions) == before


def test_only_one_practice_question_and_it_comes_first(org, recruiter):
    url = f"/screenings/{org.screening.id}/questions"
    response = _post(recruiter, url, {**QUESTION, "is_practice": "y"})
    assert response.status_code == 400
    assert "at most one practice question" in response.get_data(as_text=True)
    db.session.refresh(org.screening)
    assert [q.is_practice for q in org.screening.questions] == [True, False]


def test_questions_can_be_reordered_edited_and_removed(org, recruiter):
    s = org.screening
    url = f"/screenings/{s.id}"
    _post(recruiter, f"{url}/questions", {**QUESTION, "prompt": "Second"})
    first, second = s.scored_questions
    _post(recruiter, f"{url}/questions/{second.id}/move", {"direction": "up"})
    db.session.refresh(s)
    assert [q.prompt for q in s.questions] == ["Practice", "Second", "Tell us about yourself"]
    # The practice question cannot move out of first place.
    _post(recruiter, f"{url}/questions/{s.questions[0].id}/move", {"direction": "down"})
    db.session.refresh(s)
    assert s.questions[0].is_practice
    _post(recruiter, f"{url}/questions/{first.id}", {**QUESTION, "prompt": "Edited"})
    _post(recruiter, f"{url}/questions/{second.id}/delete", {})
    db.session.refresh(s)
    assert [q.prompt for q in s.questions] == ["Practice", "Edited"]
    assert [q.position for q in s.questions] == [0, 1]


def test_duplicate_and_template_round_trip(org, recruiter):
    """Can a screening be saved as a template, and a new screening started from it?"""
    s = org.screening
    response = _post(
        recruiter,
        f"/screenings/{s.id}/duplicate",
        {"title": "Support template", "as_template": "y"},
    )
    assert response.status_code == 302
    template = db.session.scalar(sa.select(Screening).where(Screening.is_template.is_(True)))
    assert template.title == "Support template"
    assert [q.prompt for q in template.questions] == [q.prompt for q in s.questions]
    assert [c.name for c in template.rubric.criteria] == ["Clarity"]
    assert "Templates" in recruiter.get("/screenings/").get_data(as_text=True)
    # A template cannot take candidates.
    _post(recruiter, f"/screenings/{template.id}/open", {})
    db.session.refresh(template)
    assert template.status == ScreeningStatus.DRAFT
    _post(recruiter, f"/screenings/{template.id}/duplicate", {})
    fresh = db.session.scalars(
        sa.select(Screening).where(
            Screening.title == "Support template", Screening.is_template.is_(False)
        )
    ).one()
    assert fresh.status == ScreeningStatus.DRAFT and len(fresh.questions) == 2


def test_closing_a_screening_stops_new_starts_but_lets_started_ones_finish(client, org, recruiter):
    """After closing, does a not-yet-started candidate see a clear "closed" page, while one
    already answering can still finish?"""
    _, fresh_token = factories.invitation(org.screening, email="late@example.com")
    db.session.commit()
    _post(recruiter, f"/screenings/{org.screening.id}/close", {})
    db.session.refresh(org.screening)
    assert org.screening.status == ScreeningStatus.CLOSED
    page = client.get(f"/i/{fresh_token}")
    assert page.status_code == 410
    assert "This screening is closed" in page.get_data(as_text=True)
    assert client.get(f"/i/{org.token}").status_code == 200  # in progress: may finish


def test_rubric_is_locked_once_scoring_began(org, recruiter):
    """Is a rubric change refused after a reviewer scored with it (never silently recomputed)?"""
    inv = org.invitation
    question = inv.questions[1]
    take = Take(question=question, attempt=1, status=TakeStatus.READY)
    db.session.add(take)
    db.session.flush()
    response_row = Response(question=question, take=take)
    review = Review(invitation=inv, reviewer=org.users[Role.REVIEWER])
    db.session.add_all([response_row, review])
    db.session.flush()
    criterion = org.screening.rubric.criteria[0]
    db.session.add(Score(review=review, response=response_row, criterion=criterion, value=4))
    db.session.commit()
    url = f"/screenings/{org.screening.id}"
    _post(recruiter, f"{url}/criteria/{criterion.id}", {"name": "Renamed", "weight": "1"})
    _post(recruiter, f"{url}/criteria/{criterion.id}/delete", {})
    db.session.expire_all()
    assert db.session.get(Criterion, criterion.id).name == "Clarity"
    page = recruiter.get(f"{url}/edit").get_data(as_text=True)
    assert "the rubric is locked" in page


def test_reviewer_and_hr_can_read_but_not_change(org, sign_in_as):
    for role in (Role.REVIEWER, Role.HR):
        client = sign_in_as(role)
        assert client.get(f"/screenings/{org.screening.id}").status_code == 200
        assert client.get(f"/screenings/{org.screening.id}/edit").status_code == 403
        token = csrf_token(client, "/")
        assert (
            client.post(
                "/screenings/new", data={"title": "x", "csrf_token": token, "deadline_days": 3}
            ).status_code
            == 403
        )


def test_anonymised_screening_hides_candidates_from_reviewers(org, sign_in_as):
    org.screening.anonymize_candidates = True
    db.session.commit()
    page = sign_in_as(Role.REVIEWER).get(f"/screenings/{org.screening.id}")
    assert org.invitation.candidate_name not in page.get_data(as_text=True)
    hr_page = sign_in_as(Role.HR).get(f"/screenings/{org.screening.id}")
    assert org.invitation.candidate_name in hr_page.get_data(as_text=True)


def test_editing_screening_fields_keeps_html_escaped(org, recruiter):
    """Is markup typed into a title shown as text, not run?"""
    _post(
        recruiter,
        f"/screenings/{org.screening.id}/edit",
        {"title": "<script>alert(1)</script>", "deadline_days": 7},
    )
    page = recruiter.get(f"/screenings/{org.screening.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r"<script>(?!</script>)", page) is None
