"""The number of SQL statements per review page must not grow with the data."""

from __future__ import annotations

from interview.extensions import db
from interview.models import Question, Role

from .. import factories
from ..conftest import counting_statements as counting


def _grow(org, candidates: int) -> None:
    reviewer, recruiter = org.users[Role.REVIEWER], org.users[Role.RECRUITER]
    for i in range(candidates):
        inv = factories.completed_candidate(org.screening, f"C{i}", f"c{i}-{candidates}@x.example")
        if i % 2 == 0:
            factories.scored_review(inv, reviewer, [[3], [4]], "advance")
            factories.scored_review(inv, recruiter, [[2], [5]], "hold")
    db.session.commit()


def test_queue_and_candidate_page_queries_do_not_grow(org, sign_in_as):
    org.screening.questions.append(Question(position=2, prompt="Second", answer_seconds=30))
    db.session.commit()
    client = sign_in_as(Role.REVIEWER)
    queue_url = f"/review/screenings/{org.screening.id}?sort=-score"
    results_url = f"/review/screenings/{org.screening.id}/results"

    def measure():
        probe = factories.completed_candidate(org.screening, "Probe", None)
        factories.scored_review(probe, org.users[Role.RECRUITER], [[4], [4]], "advance")
        db.session.commit()
        figures = {}
        for name, url, c in (
            ("queue", queue_url, client),
            ("candidate", f"/review/candidates/{probe.id}", client),
            ("results", results_url, sign_in_as(Role.RECRUITER)),
        ):
            c.get(url)  # warm caches (session user, rubric)
            db.session.expire_all()
            with counting() as statements:
                assert c.get(url).status_code == 200
            figures[name] = len(statements)
        return figures

    _grow(org, 3)
    small = measure()
    _grow(org, 30)
    large = measure()
    assert large == small, (small, large)
    print("SQL statements per page:", small)
    assert small["queue"] <= 12 and small["candidate"] <= 30, small
