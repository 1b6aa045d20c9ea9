"""Reviewer pages at scale (printed, not a test).

Seeds one screening with 10,000 completed candidates and 50,000 responses (5 scored questions
each), 3 weighted criteria, and two reviewers who have scored 60 % and 30 % of the candidates
(about 135,000 scores), then measures the **server time** of the reviewer queue (several
filters and sorts, first and deep pages) and of the candidate review page: median and p95 over
many requests through the WSGI app (no network), and the number of SQL statements per page,
which must not grow with the data (compared with a 100-candidate screening).

Runs on SQLite (a temp file) and, when BENCH_DATABASE_URL is set or the machine's PostgreSQL
answers on 127.0.0.1:5432, on PostgreSQL in a database of its own (`interview_bench`, dropped
and re-created; never the test database).

Usage: .venv/bin/python bench/review_bench.py [--candidates 10000] [--requests 60]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _figures import record  # noqa: E402

from interview import create_app  # noqa: E402
from interview.config import test_overrides  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.models import (  # noqa: E402
    Criterion,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Organization,
    Question,
    Response,
    Review,
    ReviewAssignment,
    ReviewStatus,
    Role,
    Rubric,
    Score,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
    User,
    accounts,
    utcnow,
)
from interview.reports import scoring  # noqa: E402

QUESTIONS = 5
WEIGHTS = (2.0, 1.0, 1.0)
PASSWORD = "bench password 123"


def emit(figure: str, value: float, unit: str, db: str) -> None:
    record("review", f"{figure} ({db})", value, unit)


def pg_url() -> str | None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    admin = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        return None
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS interview_bench WITH (FORCE)"))
        conn.execute(sa.text("CREATE DATABASE interview_bench"))
    admin.dispose()
    return "postgresql://postgres@127.0.0.1:5432/interview_bench"


def make_app(url: str, instance: str):
    app = create_app(
        {**test_overrides(instance), "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance}
    )
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        upgrade()
    return app


def seed(candidates: int, slug: str) -> tuple[int, list[int], int, int]:
    """One org, one screening, ``candidates`` completed interviews; returns ids for the bench."""
    rng = random.Random(7)
    org = Organization(name=f"Bench {slug}", slug=f"bench-{slug}")
    db.session.add(org)
    accounts.PASSWORD_METHOD = "scrypt:1024:8:1"
    users = {}
    for role, email in ((Role.REVIEWER, "ann"), (Role.RECRUITER, "rob")):
        u = User(organization=org, email=f"{email}@{slug}.example", name=email.title(), role=role)
        u.set_password(PASSWORD)
        db.session.add(u)
        users[email] = u
    s = Screening(organization=org, title=f"Bench {slug}", status=ScreeningStatus.OPEN)
    s.questions = [
        Question(position=i, prompt=f"Question {i + 1}", answer_seconds=60)
        for i in range(QUESTIONS)
    ]
    s.rubric = Rubric(
        criteria=[
            Criterion(name=f"Criterion {i + 1}", weight=w, position=i)
            for i, w in enumerate(WEIGHTS)
        ]
    )
    db.session.add(s)
    db.session.flush()
    db.session.add(ReviewAssignment(screening_id=s.id, reviewer_id=users["ann"].id))
    db.session.flush()
    criteria = [c.id for c in s.rubric.criteria]
    questions = s.questions
    now = utcnow()
    conn = db.session.connection()

    def next_id(table) -> int:
        return (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1

    inv_t, iq_t, take_t, resp_t = (
        Invitation.__table__,
        InterviewQuestion.__table__,
        Take.__table__,
        Response.__table__,
    )
    review_t, score_t = Review.__table__, Score.__table__
    inv_id, iq_id, take_id, resp_id = (next_id(t) for t in (inv_t, iq_t, take_t, resp_t))
    review_id, score_id = next_id(review_t), next_id(score_t)
    batch = 1000
    invitation_ids = []
    for start in range(0, candidates, batch):
        invs, iqs, takes, resps, reviews, scores = [], [], [], [], [], []
        for n in range(start, min(candidates, start + batch)):
            done = now - timedelta(minutes=candidates - n)
            invs.append(
                dict(
                    id=inv_id, org_id=org.id, screening_id=s.id,
                    candidate_name=f"Candidate {n:05d}", candidate_email=f"c{n}@bench.example",
                    token_nonce="", token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                    status=InvitationStatus.COMPLETED.value, expires_at=now + timedelta(days=7),
                    opened_at=done, started_at=done, completed_at=done, consent_at=done,
                    created_at=done, updated_at=done,
                )
            )  # fmt: skip
            invitation_ids.append(inv_id)
            responses_here = []
            for q in questions:
                iqs.append(
                    dict(
                        id=iq_id, invitation_id=inv_id, source_question_id=q.id,
                        position=q.position, prompt=q.prompt, think_seconds=30,
                        answer_seconds=60, max_retakes=1, is_practice=False, revealed_at=done,
                    )
                )  # fmt: skip
                takes.append(
                    dict(
                        id=take_id, question_id=iq_id, attempt=1,
                        status=TakeStatus.READY.value, started_at=done, finished_at=done,
                        bytes_received=0, audio_only=False, flags=[], media_summary={},
                        processing_attempts=1, duration_ms=rng.randint(20_000, 60_000),
                        created_at=done, updated_at=done,
                    )
                )  # fmt: skip
                resps.append(
                    dict(id=resp_id, question_id=iq_id, take_id=take_id, created_at=done,
                         updated_at=done)
                )  # fmt: skip
                responses_here.append(resp_id)
                iq_id, take_id, resp_id = iq_id + 1, take_id + 1, resp_id + 1
            for reviewer, share in ((users["ann"], 0.6), (users["rob"], 0.3)):
                if rng.random() >= share:
                    continue
                per_response = {}
                for r in responses_here:
                    values = {c: rng.randint(1, 5) for c in criteria}
                    per_response[r] = values
                    for c, v in values.items():
                        scores.append(
                            dict(id=score_id, review_id=review_id, response_id=r,
                                 criterion_id=c, value=v, created_at=done, updated_at=done)
                        )  # fmt: skip
                        score_id += 1
                means = [
                    scoring.weighted_score(v, dict(zip(criteria, WEIGHTS, strict=True)))
                    for v in per_response.values()
                ]
                reviews.append(
                    dict(
                        id=review_id, invitation_id=inv_id, reviewer_id=reviewer.id,
                        status=ReviewStatus.SUBMITTED.value,
                        recommendation=rng.choice(["advance", "hold", "reject"]), note="",
                        rubric_version=1, submitted_at=done, score_sum=sum(means),
                        responses_scored=len(means), created_at=done, updated_at=done,
                    )
                )  # fmt: skip
                review_id += 1
            inv_id += 1
        for table, rows in (
            (inv_t, invs), (iq_t, iqs), (take_t, takes), (resp_t, resps),
            (review_t, reviews), (score_t, scores),
        ):  # fmt: skip
            if rows:
                conn.execute(table.insert(), rows)
    if db.engine.dialect.name == "postgresql":
        for table in (inv_t, iq_t, take_t, resp_t, review_t, score_t):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
            )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return s.id, invitation_ids, users["ann"].id, users["rob"].id


@contextmanager
def counting(engine, statements: list):
    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def signed_in(app, email: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code
    return client


def timed(engine, client, urls: list[str]) -> tuple[list[float], list[int]]:
    times, counts = [], []
    for url in urls:
        statements: list = []
        with counting(engine, statements):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(statements))
    return times, counts


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(label: str, url: str, candidates: int, requests: int) -> None:
    instance = tempfile.mkdtemp(prefix=f"review-bench-{label}-")
    app = make_app(url, instance)
    with app.app_context():
        start = time.perf_counter()
        sid, inv_ids, _ann, _rob = seed(candidates, f"{label}-big")
        seeded = time.perf_counter() - start
        small_sid, small_ids, _, _ = seed(100, f"{label}-small")
        rows = {
            name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for name, model in (("responses", Response), ("scores", Score), ("reviews", Review))
        }
        print(
            f"\n[{label}] seeded {candidates:,} candidates, {rows['responses']:,} responses, "
            f"{rows['reviews']:,} reviews, {rows['scores']:,} scores in {seeded:.1f} s"
        )
        engine = db.engine
        db.session.remove()
    # Requests run outside the seeding app context, as a server would run them.
    rng = random.Random(11)
    variants = [
        "?",
        "?sort=-score",
        "?sort=score",
        "?status=unreviewed",
        "?status=submitted&sort=-score",
        "?sort=-completed",
    ]
    pages = max(1, candidates // 25)
    page_choices = [1, 2, pages // 2, pages]
    client = signed_in(app, f"ann@{label}-big.example")
    queue_urls = [
        f"/review/screenings/{sid}{rng.choice(variants)}&page={rng.choice(page_choices)}"
        for _ in range(requests)
    ]
    client.get(queue_urls[0])  # warm-up
    queue_ms, queue_sql = timed(engine, client, queue_urls)
    cand_urls = [f"/review/candidates/{rng.choice(inv_ids)}" for _ in range(requests)]
    client.get(cand_urls[0])
    cand_ms, cand_sql = timed(engine, client, cand_urls)
    small_client = signed_in(app, f"ann@{label}-small.example")
    _, small_queue_sql = timed(
        engine, small_client, [f"/review/screenings/{small_sid}?sort=-score"]
    )
    _, small_cand_sql = timed(engine, small_client, [f"/review/candidates/{small_ids[3]}"])
    for page, ms, sql, small_sql in (
        ("queue", queue_ms, queue_sql, small_queue_sql),
        ("candidate page", cand_ms, cand_sql, small_cand_sql),
    ):
        median, worst = statistics.median(ms), p95(ms)
        verdict = "met" if worst < 150 else "MISSED"
        print(
            f"  {page:15s} (reviewer): median {median:6.1f} ms, p95 {worst:6.1f} ms "
            f"(target p95 < 150 ms: {verdict}); SQL statements {min(sql)}–{max(sql)} "
            f"at {candidates:,} candidates vs {small_sql[0]} at 100"
        )
        emit(f"{page} p95", round(worst, 1), "ms", db=label)
        emit(f"{page} median", round(median, 1), "ms", db=label)
        emit(f"{page} SQL statements", max(sql), "count", db=label)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    sqlite_dir = tempfile.mkdtemp(prefix="review-bench-db-")
    run("sqlite", f"sqlite:///{sqlite_dir}/bench.sqlite3", args.candidates, args.requests)
    url = pg_url()
    if url:
        run("postgresql", url, args.candidates, args.requests)
    else:
        print("\n[postgresql] skipped: no server on 127.0.0.1:5432 and no BENCH_DATABASE_URL")


if __name__ == "__main__":
    main()
