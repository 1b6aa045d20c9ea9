"""Report rendering time and size (printed, not a test).

Seeds, in a temporary SQLite database and media folder:
- a candidate report: 10 scored questions, 3 weighted criteria, 3 reviewers who all submitted,
  two timestamped comments per answer and a real 1280×720 JPEG poster per answer;
- a screening report of 200 completed candidates (5 questions, 3 criteria, 3 reviewers each).

Each report is rendered by calling the job's own function **in-process**
(``interview.reports.reporting.render(report_id)``, what the RQ job ``reports.render`` runs
inside the worker's work horse, minus RQ's fork and bookkeeping): reading the figures, the
template, WeasyPrint's layout and PDF, and the write to storage. Median and worst of a few
runs; the first run (imports, font loading) is reported separately as "cold".

Targets: candidate report < 1.5 s, 200-candidate screening report < 10 s.

Usage: .venv/bin/python bench/report_bench.py [--runs 3] [--candidates 200] [--keep DIR]
With BENCH_FIGURES=path, one JSON line per figure is appended there for `make bench`'s table.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from flask_migrate import upgrade
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _figures import record  # noqa: E402
from _processes import app_workers, private_redis  # noqa: E402

from interview import create_app  # noqa: E402
from interview.config import test_overrides  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.media.storage import get_storage  # noqa: E402
from interview.models import (  # noqa: E402
    AssetKind,
    Comment,
    Criterion,
    Decision,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    Question,
    Recommendation,
    Report,
    ReportKind,
    ReportStatus,
    Response,
    Review,
    ReviewStatus,
    Role,
    Rubric,
    Score,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
    User,
    utcnow,
)
from interview.reports import reporting  # noqa: E402

TARGETS = {"candidate_pdf": 1.5, "screening_pdf": 10.0}


def emit(figure: str, value: float, unit: str, **_labels) -> None:
    record("report", figure, value, unit)


def poster() -> bytes:
    image = Image.new("RGB", (1280, 720), (52, 84, 130))
    draw = ImageDraw.Draw(image)
    for x in range(0, 1280, 40):
        draw.line([(x, 0), (1280 - x, 720)], fill=(200, 180, 120), width=3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def screening_with(
    org: Organization, title: str, questions: int, reviewers: list[User], candidates: int
) -> tuple[Screening, list[Invitation]]:
    rnd = random.Random(7)
    screening = Screening(
        organization=org, title=title, status=ScreeningStatus.OPEN, blind_review=True
    )
    screening.questions = [
        Question(
            position=i,
            prompt=f"Question {i + 1}: tell us about a time you turned a difficult customer "
            "conversation around, and what you would do differently now.",
            think_seconds=30,
            answer_seconds=120,
        )
        for i in range(questions)
    ]
    screening.rubric = Rubric(
        criteria=[
            Criterion(name="Clarity", weight=2.0, position=0),
            Criterion(name="Empathy and tone", weight=1.0, position=1),
            Criterion(name="Technical accuracy", weight=1.5, position=2),
        ]
    )
    db.session.add(screening)
    db.session.flush()
    picture = poster() if candidates == 1 else None
    storage = get_storage()
    now = utcnow()
    invitations = []
    for c in range(candidates):
        inv = Invitation(
            org_id=org.id,
            screening=screening,
            candidate_name=f"Candidate Person {c:03d} Lastname-Hyphenated",
            candidate_email=f"c{c}@example.com",
            token_hash=f"{title[:8]}-{c:060d}"[-64:],
            expires_at=now + timedelta(days=7),
            status=InvitationStatus.COMPLETED,
            opened_at=now,
            started_at=now,
            consent_at=now,
            completed_at=now - timedelta(minutes=c),
        )
        inv.questions = [
            InterviewQuestion.snapshot(q, i) for i, q in enumerate(screening.questions)
        ]
        db.session.add(inv)
        db.session.flush()
        responses = []
        for question in inv.questions:
            take = Take(
                question=question,
                attempt=1,
                status=TakeStatus.READY,
                duration_ms=rnd.randint(20_000, 120_000),
                flags=["silent"] if rnd.random() < 0.05 else [],
            )
            db.session.add(take)
            db.session.flush()
            response = Response(question_id=question.id, take_id=take.id)
            db.session.add(response)
            responses.append(response)
            if picture is not None:
                key = f"orgs/{org.id}/takes/{take.id}/poster.jpg"
                storage.save(key, io.BytesIO(picture))
                db.session.add(
                    MediaAsset(
                        org_id=org.id,
                        take_id=take.id,
                        kind=AssetKind.POSTER,
                        storage_key=key,
                        content_type="image/jpeg",
                        size_bytes=len(picture),
                    )
                )
        db.session.flush()
        for reviewer in reviewers:
            review = Review(
                invitation_id=inv.id,
                reviewer_id=reviewer.id,
                status=ReviewStatus.SUBMITTED,
                recommendation=rnd.choice(list(Recommendation)),
                note="Good structure; could give more concrete numbers.",
                submitted_at=now,
            )
            db.session.add(review)
            db.session.flush()
            for response in responses:
                for criterion in screening.rubric.criteria:
                    db.session.add(
                        Score(
                            review_id=review.id,
                            response_id=response.id,
                            criterion_id=criterion.id,
                            value=rnd.randint(1, 5),
                        )
                    )
                if candidates == 1:
                    for at in (rnd.randint(0, 20_000), rnd.randint(20_000, 90_000)):
                        db.session.add(
                            Comment(
                                review_id=review.id,
                                response_id=response.id,
                                at_ms=at,
                                body="Clear example of de-escalation; the follow-up "
                                "question about refunds was handled well.",
                            )
                        )
        if c % 3 == 0:
            db.session.add(Decision(invitation_id=inv.id, outcome=Recommendation.ADVANCE))
        invitations.append(inv)
    db.session.commit()
    return screening, invitations


def measure(
    kind: ReportKind, screening: Screening, invitation, runs: int, keep: str | None = None
) -> dict:
    times = []
    size = 0
    for _ in range(runs + 1):
        report = Report(
            org_id=screening.org_id,
            screening_id=screening.id,
            invitation_id=invitation.id if invitation else None,
            kind=kind,
        )
        db.session.add(report)
        db.session.commit()
        db.session.expire_all()  # nothing cached from seeding or the previous run
        started = time.perf_counter()
        outcome = reporting.render(report.id)
        times.append(time.perf_counter() - started)
        report = db.session.get(Report, report.id)
        assert outcome == "ready" and report.status == ReportStatus.READY, report.error
        size = report.size_bytes
        if keep:
            with get_storage().open(report.storage_key) as stream:
                data = stream.read()
            suffix = "zip" if kind == ReportKind.SCREENING_CSV else "pdf"
            Path(keep, f"{kind.value}.{suffix}").write_bytes(data)
    cold, warm = times[0], times[1:]
    return {
        "cold": cold,
        "median": statistics.median(warm),
        "worst": max(warm),
        "size": size,
    }


def through_worker(app, workdir: str, cases: list, runs: int) -> dict:
    """Enqueue -> ready through a real `flask worker --queues reports` (already started, so
    the figure is queue + fork + render, not Python's start-up), private Redis on a spare port."""
    figures = {}
    with private_redis(workdir) as url, app_workers(app, url, "reports"):
        for kind, screening, invitation in cases:
            times = []
            for _ in range(runs):
                report = Report(
                    org_id=screening.org_id,
                    screening_id=screening.id,
                    invitation_id=invitation.id if invitation else None,
                    kind=kind,
                )
                db.session.add(report)
                db.session.commit()
                started = time.perf_counter()
                reporting.queue_render(report)
                while True:
                    db.session.expire_all()
                    status = db.session.get(Report, report.id).status
                    if status in (ReportStatus.READY, ReportStatus.FAILED):
                        break
                    if time.perf_counter() - started > 120:
                        raise RuntimeError(f"{kind.value} not rendered in 120 s")
                    time.sleep(0.02)
                times.append(time.perf_counter() - started)
                assert status == ReportStatus.READY
            figures[kind.value] = statistics.median(times)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--keep", metavar="DIR", help="copy the rendered files there to look at")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as workdir:
        app = create_app(
            {
                **test_overrides(workdir),
                "INSTANCE_PATH": workdir,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/bench.sqlite3",
            }
        )
        with app.app_context():
            upgrade()
            org = Organization(name="Bench Org", slug="bench")
            db.session.add(org)
            reviewers = []
            for n in range(3):
                user = User(
                    organization=org,
                    email=f"r{n}@bench.example",
                    name=f"Reviewer Number {n}",
                    role=Role.REVIEWER,
                )
                user.set_password("bench password")
                reviewers.append(user)
            db.session.add_all(reviewers)
            db.session.flush()
            seeded = time.perf_counter()
            one, (candidate,) = screening_with(org, "Candidate bench", 10, reviewers, 1)
            many, _ = screening_with(org, "Screening bench", 5, reviewers, args.candidates)
            print(f"seeded in {time.perf_counter() - seeded:.1f} s")
            results = {
                "candidate_pdf": measure(
                    ReportKind.CANDIDATE_PDF, one, candidate, args.runs, args.keep
                ),
                "screening_pdf": measure(
                    ReportKind.SCREENING_PDF, many, None, args.runs, args.keep
                ),
            }
            results["screening_csv"] = measure(
                ReportKind.SCREENING_CSV, many, None, args.runs, args.keep
            )
            in_worker = through_worker(
                app,
                workdir,
                [
                    (ReportKind.CANDIDATE_PDF, one, candidate),
                    (ReportKind.SCREENING_PDF, many, None),
                ],
                args.runs,
            )
    labels = {
        "candidate_pdf": "candidate PDF (10 questions, 3 reviewers, 10 posters)",
        "screening_pdf": f"screening PDF ({args.candidates} candidates, 5 questions, 3 reviewers)",
        "screening_csv": f"scores CSV zip ({args.candidates} candidates)",
    }
    print(
        f"Report rendering, job function in-process (reporting.render), SQLite, "
        f"median/worst of {args.runs} warm runs after 1 cold run"
    )
    print(f"{'report':62} {'cold s':>7} {'median s':>9} {'worst s':>8} {'size KB':>8}  target")
    for kind, figure in results.items():
        target = TARGETS.get(kind)
        verdict = ""
        if target is not None:
            verdict = f"< {target:g} s {'ok' if figure['worst'] < target else 'MISSED'}"
        print(
            f"{labels[kind]:62} {figure['cold']:7.2f} {figure['median']:9.2f} "
            f"{figure['worst']:8.2f} {figure['size'] / 1024:8.0f}  {verdict}"
        )
        emit(f"{kind} render median", round(figure["median"], 3), "s", runs=args.runs)
        emit(f"{kind} render worst", round(figure["worst"], 3), "s", runs=args.runs)
        emit(f"{kind} size", figure["size"], "bytes")
    print(f"Through a real worker (enqueue -> ready, median of {args.runs}):")
    for kind, seconds in in_worker.items():
        target = TARGETS.get(kind)
        verdict = f"< {target:g} s {'ok' if seconds < target else 'MISSED'}" if target else ""
        print(f"  {labels[kind]:60} {seconds:7.2f} s  {verdict}")
        emit(f"{kind} enqueue -> ready (real worker)", round(seconds, 3), "s")


if __name__ == "__main__":
    main()
