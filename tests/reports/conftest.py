"""Report fixtures: a scored screening (three weighted criteria, two answers, three reviewers,
timestamped comments, a decision, real JPEG posters) and a PDF-to-text helper (poppler)."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from interview.extensions import db
from interview.models import Criterion, Invitation, Question, Review, Role, User
from interview.reports.services import scored_responses
from interview.review import services as reviewing

from .. import factories

# values[candidate][reviewer][answer][criterion]
VALUES = {
    "Ada Lovelace": [
        [[5, 4, 3], [4, 4, 5]],
        [[3, 3, 2], [4, 5, 4]],
        [[4, 4, 4], [5, 3, 4]],
    ],
    "Brian Kernighan": [
        [[2, 3, 1], [3, 2, 2]],
        [[3, 2, 2], [2, 3, 1]],
        [[1, 2, 2], [2, 1, 3]],
    ],
}
WEIGHTS = [2.0, 1.0, 0.5]  # the fixture rubric's criteria, in order


def jpeg(width: int = 640, height: int = 360, colour=(40, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Scored:
    org: factories.OrgWithStaff
    candidates: dict[str, Invitation]
    reviewers: list[User]
    reviews: dict[tuple[str, int], Review]


@pytest.fixture
def scored(org) -> Scored:
    """The org's screening, made richer: a second answer, three criteria, three reviewers."""
    screening = org.screening
    screening.questions.append(
        Question(position=2, prompt="Why this role?", think_seconds=10, answer_seconds=60)
    )
    clarity = screening.rubric.criteria[0]
    clarity.weight = WEIGHTS[0]
    screening.rubric.criteria.append(Criterion(name="Empathy", weight=WEIGHTS[1], position=1))
    screening.rubric.criteria.append(Criterion(name="Structure", weight=WEIGHTS[2], position=2))
    reviewers = [
        org.users[Role.REVIEWER],
        factories.user(org.org, Role.REVIEWER, "second@northwind.example", "Second Reviewer"),
        org.users[Role.RECRUITER],
    ]
    db.session.flush()
    poster = jpeg()
    candidates: dict[str, Invitation] = {}
    reviews: dict[tuple[str, int], Review] = {}
    for name, per_reviewer in VALUES.items():
        inv = factories.completed_candidate(
            screening, name, f"{name.split()[0].lower()}@example.com", poster=poster
        )
        candidates[name] = inv
        for index, (reviewer, values) in enumerate(zip(reviewers, per_reviewer, strict=True)):
            review = factories.scored_review(inv, reviewer, values, "advance", submit=False)
            reviews[(name, index)] = review
        db.session.flush()
    ada = candidates["Ada Lovelace"]
    first_answer = scored_responses([ada.id])[0][0]
    reviewing.add_comment(reviews[("Ada Lovelace", 0)], first_answer.id, 65_000, "Clear example")
    reviewing.add_comment(reviews[("Ada Lovelace", 1)], first_answer.id, 3_000, "=1+2 formula?")
    reviewing.set_overall(reviews[("Brian Kernighan", 0)], "reject", "")
    reviewing.set_overall(reviews[("Brian Kernighan", 1)], "hold", "")
    for review in reviews.values():
        reviewing.submit(review)
    reviewing.record_decision(ada, "advance", "Invite to onsite", org.users[Role.ADMIN])
    db.session.commit()
    return Scored(org, candidates, reviewers, reviews)


def pdf_text(data: bytes, tmp_path: Path, *, layout: bool = True) -> str:
    """The text of a PDF as poppler's pdftotext reads it (pages separated by form feeds)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing; `bin/system-deps pdftotext` installs poppler-utils")
    path = tmp_path / f"report-{len(data)}.pdf"
    path.write_bytes(data)
    args = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdf_tool(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"report-{tool}.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [tool, *args, str(path)], check=True, capture_output=True, text=True
    ).stdout
