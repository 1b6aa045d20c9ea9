"""Reviewers score responses: figures, autosave over HTTP, blind rules, permissions, decisions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.models import (
    AuditEvent,
    Criterion,
    Decision,
    Question,
    Review,
    ReviewAssignment,
    ReviewStatus,
    Role,
    Score,
)
from interview.reports import scoring, services
from interview.reports.services import scored_responses
from interview.review import services as reviewing

from .. import factories
from ..conftest import csrf_token

JSON = {"Accept": "application/json"}


@pytest.fixture
def two_by_two(org):
    """The factory screening with two scored questions and two weighted criteria."""
    s = org.screening
    s.questions.append(
        Question(position=2, prompt="Describe a hard customer", answer_seconds=60, max_retakes=0)
    )
    s.rubric.criteria[0].weight = 2.0  # Clarity counts twice
    s.rubric.criteria.append(Criterion(name="Empathy", weight=1.0, position=1))
    db.session.commit()
    inv = factories.completed_candidate(s, "Alex Able", "alex@example.com")
    db.session.commit()
    return inv


def _responses(inv):
    return [r.id for r, _q in scored_responses([inv.id])]


def _post(client, url, data, json=True):
    token = csrf_token(client, "/review/")
    return client.post(url, data={"csrf_token": token, **data}, headers=JSON if json else {})


def test_figures_match_a_hand_computed_table(org, two_by_two):
    """Weighted means per answer, a missing score left out, the candidate's mean and spread."""
    reviewer, recruiter = org.users[Role.REVIEWER], org.users[Role.RECRUITER]
    # Clarity ×2, Empathy ×1.
    # Reviewer:  answer 1 (4, 1) -> (8+1)/3 = 3.0 ; answer 2 (5, 2) -> (10+2)/3 = 4.0 ; mean 3.5
    # Recruiter: answer 1 (2, -) -> 2.0 (missing Empathy left out, not 0) ; answer 2 (3, 3) -> 3.0
    factories.scored_review(two_by_two, reviewer, [[4, 1], [5, 2]], "advance")
    factories.scored_review(two_by_two, recruiter, [[2, None], [3, 3]], "hold", submit=False)
    review = reviewing.own_review(recruiter, two_by_two)
    review.status = ReviewStatus.SUBMITTED  # submitted with a gap on purpose (set directly)
    db.session.commit()

    (result,) = services.candidate_results(org.screening, [two_by_two])
    assert result.by_reviewer == {reviewer.id: 3.5, recruiter.id: 2.5}
    # Candidate: mean over the four (reviewer, answer) figures 3, 4, 2, 3 = 3.0
    assert result.overall.mean == pytest.approx(3.0)
    assert (result.overall.minimum, result.overall.maximum) == (2.0, 4.0)
    assert result.overall.stdev == pytest.approx((0.5) ** 0.5)  # population sd of 3,4,2,3
    clarity, empathy = (c.id for c in org.screening.rubric.criteria)
    assert result.criteria[clarity].mean == pytest.approx((4 + 5 + 2 + 3) / 4)
    assert result.criteria[empathy].count == 3  # the missing one is not a zero
    assert result.criteria[empathy].mean == pytest.approx(2.0)
    assert result.responses[0].weighted == {reviewer.id: 3.0, recruiter.id: 2.0}
    # The totals kept on the review for queues agree with the scoring functions.
    assert reviewing.own_review(reviewer, two_by_two).mean_score == pytest.approx(3.5)
    assert reviewing.own_review(recruiter, two_by_two).mean_score == pytest.approx(2.5)
    assert dict(result.recommendations) == {"advance": 1, "hold": 1}


def test_agreement_over_a_screening_uses_every_overlapping_score(org, two_by_two):
    reviewer, recruiter = org.users[Role.REVIEWER], org.users[Role.RECRUITER]
    factories.scored_review(two_by_two, reviewer, [[4, 1], [5, 2]], "advance")
    factories.scored_review(two_by_two, recruiter, [[4, 2], [5, 2]], "advance")
    db.session.commit()
    data = services.screening_results(org.screening)
    units = [[4, 4], [1, 2], [5, 5], [2, 2]]
    assert sorted(map(sorted, services.agreement_units(data.candidates))) == sorted(units)
    assert data.alpha == pytest.approx(scoring.krippendorff_alpha_interval(units))
    assert data.alpha > 0.8
    assert data.agreement == "Reviewers largely agree."


def test_autosave_endpoints_store_each_score_as_it_is_given(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.REVIEWER)
    first, second = _responses(two_by_two)
    clarity, empathy = (c.id for c in org.screening.rubric.criteria)
    url = f"/review/candidates/{two_by_two.id}/scores"

    r = _post(client, url, {"response_id": first, "criterion_id": clarity, "value": "4"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.json["ok"] and r.json["my_score"] == 4.0 and r.json["status"] == "in_progress"
    r = _post(client, url, {"response_id": first, "criterion_id": empathy, "value": "1"})
    assert r.json["my_score"] == pytest.approx(3.0)
    review = reviewing.own_review(org.users[Role.REVIEWER], two_by_two)
    stored = db.session.execute(
        sa.select(Score.criterion_id, Score.value).where(Score.review_id == review.id)
    ).all()
    assert sorted(stored) == sorted([(clarity, 4), (empathy, 1)])

    # Changing and clearing a score.
    _post(client, url, {"response_id": first, "criterion_id": clarity, "value": "2"})
    r = _post(client, url, {"response_id": first, "criterion_id": empathy, "value": ""})
    assert r.json["my_score"] == 2.0
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Score.id))) == 1

    # Refusals are clear and change nothing.
    bad = _post(client, url, {"response_id": first, "criterion_id": clarity, "value": "9"})
    assert bad.status_code == 409 and "1 to 5" in bad.json["error"]
    other = factories.completed_candidate(org.screening, "Other", "other@example.com")
    db.session.commit()
    foreign_answer = _responses(other)[0]
    bad = _post(client, url, {"response_id": foreign_answer, "criterion_id": clarity, "value": 3})
    assert bad.status_code == 409 and "not part of this interview" in bad.json["error"]
    practice = two_by_two.questions[0].response.id
    bad = _post(client, url, {"response_id": practice, "criterion_id": clarity, "value": 3})
    assert bad.status_code == 409
    junk = _post(client, url, {"response_id": "x", "criterion_id": clarity, "value": 3})
    assert junk.status_code == 409

    # Recommendation and note autosave too.
    r = _post(
        client,
        f"/review/candidates/{two_by_two.id}/overall",
        {"recommendation": "hold", "note": "Solid; check references."},
    )
    assert r.status_code == 200
    db.session.expire_all()
    review = reviewing.own_review(org.users[Role.REVIEWER], two_by_two)
    assert review.recommendation == "hold" and review.note == "Solid; check references."
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == review.id)
    ).all()
    assert actions.count("review.score") == 4 and "review.recommend" in actions


def test_submit_needs_every_score_and_a_recommendation_then_locks(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.REVIEWER)
    first, second = _responses(two_by_two)
    clarity, empathy = (c.id for c in org.screening.rubric.criteria)
    base = f"/review/candidates/{two_by_two.id}"
    _post(client, base + "/scores", {"response_id": first, "criterion_id": clarity, "value": 4})
    r = _post(client, base + "/submit", {}, json=False)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Some scores are missing" in page and "Answer 2: Clarity, Empathy" in page

    form = {
        f"score-{first}-{clarity}": "4",
        f"score-{first}-{empathy}": "3",
        f"score-{second}-{clarity}": "5",
        f"score-{second}-{empathy}": "5",
        "recommendation": "advance",
        "note": "",
        "action": "submit",
    }
    r = _post(client, base + "/save", form, json=False)
    assert r.status_code == 302
    review = reviewing.own_review(org.users[Role.REVIEWER], two_by_two)
    assert review.status == ReviewStatus.SUBMITTED and review.submitted_at is not None
    # Scores the submitted form also carried are saved (no-JavaScript path): 4,3 / 5,5.
    assert review.mean_score == pytest.approx(((8 + 3) / 3 + 5) / 2)

    locked = _post(
        client, base + "/scores", {"response_id": first, "criterion_id": clarity, "value": 1}
    )
    assert locked.status_code == 409 and "Reopen" in locked.json["error"]

    _post(client, base + "/reopen", {}, json=False)
    db.session.expire_all()
    assert reviewing.own_review(org.users[Role.REVIEWER], two_by_two).status == "in_progress"
    ok = _post(
        client, base + "/scores", {"response_id": first, "criterion_id": clarity, "value": 1}
    )
    assert ok.status_code == 200


def test_blind_review_hides_others_until_my_own_is_submitted(org, sign_in_as, two_by_two):
    recruiter = org.users[Role.RECRUITER]
    review = factories.scored_review(
        two_by_two, recruiter, [[2, 2], [2, 2]], "reject", note="Rambling answers", submit=False
    )
    reviewing.add_comment(review, _responses(two_by_two)[0], 12_000, "Lost the thread here")
    reviewing.submit(review)
    db.session.commit()

    client = sign_in_as(Role.REVIEWER)
    page = client.get(f"/review/candidates/{two_by_two.id}").get_data(as_text=True)
    assert "Blind review" in page
    for secret in ("Lost the thread here", "Rambling answers", recruiter.name):
        assert secret not in page

    factories.scored_review(two_by_two, org.users[Role.REVIEWER], [[4, 4], [4, 4]], "advance")
    db.session.commit()
    page = client.get(f"/review/candidates/{two_by_two.id}").get_data(as_text=True)
    for shown in ("Lost the thread here", "Rambling answers", recruiter.name, "0:12"):
        assert shown in page


def test_blind_off_shows_submitted_reviews_at_once(org, sign_in_as, two_by_two):
    org.screening.blind_review = False
    factories.scored_review(
        two_by_two, org.users[Role.RECRUITER], [[2, 2], [2, 2]], "reject", note="Rambling"
    )
    db.session.commit()
    page = sign_in_as(Role.REVIEWER).get(f"/review/candidates/{two_by_two.id}")
    assert "Rambling" in page.get_data(as_text=True)


def test_drafts_of_others_are_never_shown_or_counted(org, sign_in_as, two_by_two):
    factories.scored_review(
        two_by_two, org.users[Role.RECRUITER], [[1, 1], [1, 1]], "reject", submit=False
    )
    db.session.commit()
    (result,) = services.candidate_results(org.screening, [two_by_two])
    assert result.overall.count == 0 and result.drafts == 1
    page = sign_in_as(Role.HR).get(f"/review/candidates/{two_by_two.id}").get_data(as_text=True)
    assert "No review submitted yet" in page


def test_anonymised_review_shows_a_label_not_the_name(org, sign_in_as, two_by_two):
    org.screening.anonymize_candidates = True
    db.session.commit()
    number = services.candidate_number(two_by_two)
    client = sign_in_as(Role.REVIEWER)
    for url in (f"/review/screenings/{org.screening.id}", f"/review/candidates/{two_by_two.id}"):
        page = client.get(url).get_data(as_text=True)
        assert f"Candidate {number}" in page
        assert "Alex Able" not in page and "alex@example.com" not in page
    # Recruiters, who invited them, still see names.
    page = sign_in_as(Role.RECRUITER).get(f"/review/candidates/{two_by_two.id}")
    assert "Alex Able" in page.get_data(as_text=True)


def test_practice_answers_are_never_shown(org, sign_in_as, two_by_two):
    page = sign_in_as(Role.REVIEWER).get(f"/review/candidates/{two_by_two.id}")
    text = page.get_data(as_text=True)
    assert "Tell us about yourself" in text and "Describe a hard customer" in text
    assert ">Practice<" not in text and "Answer 1 of 2" in text


def test_only_assigned_reviewers_see_and_score(org, sign_in_as, two_by_two):
    spare = org.spare
    client = factories_sign_in(sign_in_as, org, spare)
    assert client.get(f"/review/candidates/{two_by_two.id}").status_code == 404
    assert client.get(f"/review/screenings/{org.screening.id}").status_code == 404
    first = _responses(two_by_two)[0]
    clarity = org.screening.rubric.criteria[0].id
    r = _post(
        client,
        f"/review/candidates/{two_by_two.id}/scores",
        {"response_id": first, "criterion_id": clarity, "value": 3},
    )
    assert r.status_code == 404
    # Assigned to one candidate only: that one is visible, the other is not.
    db.session.add(
        ReviewAssignment(
            screening_id=org.screening.id, reviewer_id=spare.id, invitation_id=two_by_two.id
        )
    )
    db.session.commit()
    assert client.get(f"/review/candidates/{two_by_two.id}").status_code == 200
    assert client.get(f"/review/candidates/{org.completed.id}").status_code == 404
    queue = client.get(f"/review/screenings/{org.screening.id}").get_data(as_text=True)
    assert "Alex Able" in queue and "Robin Reviewed" not in queue


def factories_sign_in(sign_in_as, org, user):
    """Sign in as a user who is not one of the per-role users (the spare reviewer)."""
    saved = org.users[Role.REVIEWER]
    org.users[Role.REVIEWER] = user
    try:
        return sign_in_as(Role.REVIEWER)
    finally:
        org.users[Role.REVIEWER] = saved


def test_hr_reads_but_cannot_score(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.HR)
    assert client.get(f"/review/candidates/{two_by_two.id}").status_code == 200
    assert client.get(f"/review/screenings/{org.screening.id}/results").status_code == 200
    r = _post(
        client,
        f"/review/candidates/{two_by_two.id}/scores",
        {"response_id": _responses(two_by_two)[0], "criterion_id": 1, "value": 3},
    )
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0


def test_recruiter_assigns_sees_progress_decides_and_finalises(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.RECRUITER)
    r = _post(
        client,
        f"/review/screenings/{org.screening.id}/reviewers",
        {"reviewer_id": org.spare.id, "candidate_id": two_by_two.id},
        json=False,
    )
    assert r.status_code == 302
    assert reviewing.may_see_candidate(org.spare, two_by_two)
    factories.scored_review(two_by_two, org.users[Role.REVIEWER], [[4, 4], [5, 3]], "advance")
    db.session.commit()
    page = client.get(f"/review/screenings/{org.screening.id}/reviewers").get_data(as_text=True)
    assert "Spare Reviewer" in page

    results = client.get(f"/review/screenings/{org.screening.id}/results").get_data(as_text=True)
    expected = services.candidate_results(org.screening, [two_by_two])[0].overall.mean
    assert f"{expected:.2f}" in results and "1 advance" in results

    r = _post(
        client,
        f"/review/candidates/{two_by_two.id}/decision",
        {"outcome": "advance", "note": "Invite to onsite"},
        json=False,
    )
    assert r.status_code == 302
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == two_by_two.id))
    assert decision.outcome == "advance" and decision.decided_by_id == org.users[Role.RECRUITER].id
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "decision.record")
        )
        == 1
    )

    _post(client, f"/review/screenings/{org.screening.id}/finalise", {}, json=False)
    reviewer = sign_in_as(Role.REVIEWER)
    r = _post(reviewer, f"/review/candidates/{two_by_two.id}/reopen", {}, json=False)
    page = reviewer.get(r.headers["Location"]).get_data(as_text=True)
    assert "Decisions on this screening are final" in page
    db.session.expire_all()
    assert reviewing.own_review(org.users[Role.REVIEWER], two_by_two).status == "submitted"
    # A final decision cannot be changed until decisions are reopened.
    _post(client, f"/review/candidates/{two_by_two.id}/decision", {"outcome": "reject"}, json=False)
    db.session.expire_all()
    assert db.session.get(Decision, decision.id).outcome == "advance"


def test_queue_filters_sorts_and_pages(org, sign_in_as):
    reviewer = org.users[Role.REVIEWER]
    invs = [
        factories.completed_candidate(org.screening, f"Cand {i:02d}", f"c{i}@example.com")
        for i in range(30)
    ]
    db.session.commit()
    for value, inv in zip([1, 5, 3], invs[:3], strict=True):
        factories.scored_review(inv, reviewer, [[value]], "hold")
    factories.scored_review(invs[3], reviewer, [[2]], None, submit=False)
    db.session.commit()
    client = sign_in_as(Role.REVIEWER)
    base = f"/review/screenings/{org.screening.id}"
    page = client.get(base).get_data(as_text=True)
    assert "Page 1 of 2" in page  # 31 completed candidates, 25 a page
    submitted = client.get(base + "?status=submitted").get_data(as_text=True)
    assert all(name in submitted for name in ("Cand 00", "Cand 01", "Cand 02"))
    assert "Cand 03" not in submitted
    assert "Cand 03" in client.get(base + "?status=in_progress").get_data(as_text=True)
    best_first = client.get(base + "?status=submitted&sort=-score").get_data(as_text=True)
    assert best_first.index("Cand 01") < best_first.index("Cand 02") < best_first.index("Cand 00")
    q = reviewing.queue(reviewer, org.screening, status="unreviewed")
    assert q.counts == {"all": 31, "unreviewed": 27, "in_progress": 1, "submitted": 3}


def test_answers_stream_only_to_reviewers_assigned_to_the_candidate(org, sign_in_as):
    """A reviewer who is not assigned cannot watch an answer by guessing the asset's id."""
    from interview.models import AssetKind

    response = scored_responses([org.completed.id])[0][0]
    asset = factories.stored_asset(response.take, AssetKind.MP4, b"\x00" * 64, "video/mp4")
    db.session.commit()
    assert sign_in_as(Role.REVIEWER).get(f"/media/assets/{asset.id}").status_code == 200
    spare = factories_sign_in(sign_in_as, org, org.spare)
    assert spare.get(f"/media/assets/{asset.id}").status_code == 404
    db.session.add(
        ReviewAssignment(
            screening_id=org.screening.id, reviewer_id=org.spare.id, invitation_id=org.completed.id
        )
    )
    db.session.commit()
    assert spare.get(f"/media/assets/{asset.id}").status_code == 200


def test_markup_in_comments_and_notes_is_shown_escaped(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.REVIEWER)
    first = _responses(two_by_two)[0]
    base = f"/review/candidates/{two_by_two.id}"
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = _post(client, base + "/comments", {"response_id": first, "at_ms": "1500", "body": hostile})
    assert r.status_code == 200 and r.json["comment"]["body"] == hostile  # stored as typed
    _post(client, base + "/overall", {"recommendation": "hold", "note": hostile})
    page = client.get(base).get_data(as_text=True)
    assert hostile not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    # Over-long text is refused with a reason, not truncated silently.
    long = _post(client, base + "/comments", {"response_id": first, "body": "x" * 2001})
    assert long.status_code == 409 and "at most 2000" in long.json["error"]


def test_a_refused_submit_without_javascript_keeps_what_was_entered(org, sign_in_as, two_by_two):
    client = sign_in_as(Role.REVIEWER)
    first, _second = _responses(two_by_two)
    clarity, empathy = (c.id for c in org.screening.rubric.criteria)
    form = {
        f"score-{first}-{clarity}": "4",
        f"score-{first}-{empathy}": "2",
        "recommendation": "hold",
        "note": "Half way through",
        "action": "submit",
    }
    r = _post(client, f"/review/candidates/{two_by_two.id}/save", form, json=False)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Some scores are missing" in page
    review = reviewing.own_review(org.users[Role.REVIEWER], two_by_two)
    assert review is not None and review.status == ReviewStatus.IN_PROGRESS
    assert review.note == "Half way through" and review.recommendation == "hold"
    assert (
        db.session.scalar(sa.select(sa.func.count(Score.id)).where(Score.review_id == review.id))
        == 2
    )


def test_my_draft_is_shown_to_me_but_not_counted_in_the_figures(org, sign_in_as, two_by_two):
    org.screening.blind_review = False
    factories.scored_review(two_by_two, org.users[Role.REVIEWER], [[5, 5], [5, 5]], "advance")
    factories.scored_review(
        two_by_two, org.users[Role.RECRUITER], [[1, 1], [1, 1]], "reject", submit=False
    )
    db.session.commit()
    (mine,) = services.candidate_results(
        org.screening, [two_by_two], include_drafts_of=org.users[Role.RECRUITER].id
    )
    assert mine.overall.mean == 5.0 and mine.overall.count == 2  # submitted only
    assert all(s.mean == 5.0 for s in mine.criteria.values())
    assert mine.by_reviewer[org.users[Role.RECRUITER].id] == 1.0  # my own, shown to me
    page = sign_in_as(Role.RECRUITER).get(f"/review/candidates/{two_by_two.id}")
    assert "Average 5.00" in page.get_data(as_text=True)


def test_progress_counts_each_reviewers_candidates_and_reviews(org, two_by_two):
    db.session.add(
        ReviewAssignment(
            screening_id=org.screening.id, reviewer_id=org.spare.id, invitation_id=two_by_two.id
        )
    )
    factories.scored_review(two_by_two, org.users[Role.REVIEWER], [[4, 4], [5, 3]], "advance")
    factories.scored_review(org.completed, org.users[Role.REVIEWER], [[3, 3]], None, submit=False)
    db.session.commit()
    figures = {
        p.reviewer.id: (p.whole_screening, p.candidates, p.submitted, p.in_progress)
        for p in reviewing.progress(org.screening)
    }
    assert figures == {
        org.users[Role.REVIEWER].id: (True, 2, 1, 1),  # two completed candidates in all
        org.spare.id: (False, 1, 0, 0),
    }


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("scores", {"response_id": "{foreign}", "criterion_id": "{criterion}", "value": "3"}),
        ("scores", {"response_id": "{own}", "criterion_id": "{criterion}", "value": "9"}),
        ("scores", {"response_id": "{own}", "criterion_id": str(2**40), "value": "3"}),
        ("comments", {"response_id": "{foreign}", "body": "Nice"}),
        ("comments", {"response_id": "{own}", "body": "   "}),
        ("overall", {"recommendation": "maybe"}),
        ("save", {"score-{foreign}-{criterion}": "3"}),
        ("submit", {}),
    ],
)
def test_a_refused_change_writes_nothing(org, sign_in_as, two_by_two, path, data):
    """A score for another interview's answer (and every other refused change) answers 409 and
    leaves no review behind, no score and no audit event, on both databases. (It used to leave
    an empty in-progress review: the review's savepoint committed on SQLite.)"""
    other = factories.completed_candidate(org.screening, "Other One", "other@example.com")
    db.session.commit()
    ids = {
        "foreign": str(_responses(other)[0]),
        "own": str(_responses(two_by_two)[0]),
        "criterion": str(org.screening.rubric.criteria[0].id),
    }
    form = {key.format(**ids): value.format(**ids) for key, value in data.items()}
    client = sign_in_as(Role.REVIEWER)
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = _post(client, f"/review/candidates/{two_by_two.id}/{path}", form)
    assert response.status_code == 409, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Score.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events
