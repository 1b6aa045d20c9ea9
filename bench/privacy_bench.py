"""Privacy purge throughput and the cost of a daily sweep with nothing due (printed, not a test).

Seeds 10,000 completed candidates × 5 answers, each answer with one tiny stored file (an
original), then times:

1. the daily sweep job when nothing is due (every candidate still within retention): the due
   query, the scan for killed workers' folders and for superseded report files (a listing of
   the whole storage);
2. the sweep once every candidate is due: candidates and files purged per second (batches of
   PRIVACY_PURGE_BATCH candidates per transaction, then the storage deletes).

Both on local storage and on S3 (moto's server on a loopback port, started and stopped here by
PID). SQLite in a temp folder by default; `--database-url` for PostgreSQL (a database of its
own: its schema is dropped).

Usage: .venv/bin/python bench/privacy_bench.py [--candidates 10000] [--backends local,s3]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _figures import record  # noqa: E402
from _processes import empty_postgres_schema, free_port  # noqa: E402

from interview import create_app  # noqa: E402
from interview.config import test_overrides  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.media.storage import get_storage  # noqa: E402
from interview.models import (  # noqa: E402
    AssetKind,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    Question,
    Response,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
    utcnow,
)
from interview.privacy import jobs, retention  # noqa: E402

ANSWERS = 5
BUCKET = "privacy-bench"


def make_app(url: str, instance: str, extra: dict):
    if url.startswith("postgresql"):
        empty_postgres_schema(url)
    app = create_app(
        {**test_overrides(instance), "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance,
         **extra}
    )  # fmt: skip
    with app.app_context():
        upgrade()
    return app


def seed(candidates: int) -> list[str]:
    """Rows through Core inserts (fast), files through the app's storage; returns the keys."""
    org = Organization(name="Bench", slug="bench", retention_days=365)
    screening = Screening(organization=org, title="Bench", status=ScreeningStatus.OPEN)
    screening.questions = [
        Question(position=i, prompt=f"Q{i}", think_seconds=10, answer_seconds=60)
        for i in range(ANSWERS)
    ]
    db.session.add(screening)
    db.session.commit()
    done = utcnow() - timedelta(days=10)
    keys: list[str] = []
    step = 500
    for start in range(0, candidates, step):
        n = min(step, candidates - start)
        base = start + 1
        db.session.execute(sa.insert(Invitation), [
            {"id": base + i, "org_id": org.id, "screening_id": screening.id,
             "candidate_name": f"Bench Candidate {base + i}",
             "candidate_email": f"bench{base + i}@example.com", "token_nonce": "",
             "token_hash": f"bench-{base + i}", "status": InvitationStatus.COMPLETED,
             "expires_at": done + timedelta(days=1), "completed_at": done, "started_at": done,
             "consent_at": done, "consent_ip": "192.0.2.1", "created_at": done,
             "updated_at": done}
            for i in range(n)
        ])  # fmt: skip
        rows_q, rows_t, rows_r, rows_a = [], [], [], []
        for i in range(n):
            inv_id = base + i
            for q in range(ANSWERS):
                qid = inv_id * ANSWERS + q
                key = f"orgs/{org.id}/takes/{qid}/original.webm"
                keys.append(key)
                rows_q.append({"id": qid, "invitation_id": inv_id, "position": q,
                               "prompt": f"Q{q}", "think_seconds": 10, "answer_seconds": 60,
                               "max_retakes": 1, "is_practice": False})  # fmt: skip
                rows_t.append({"id": qid, "question_id": qid, "attempt": 1,
                               "status": TakeStatus.READY, "bytes_received": 16,
                               "checksum_sha256": "0" * 64, "flags": [], "media_summary": {},
                               "processing_attempts": 1, "audio_only": False,
                               "created_at": done, "updated_at": done})  # fmt: skip
                rows_r.append({"id": qid, "question_id": qid, "take_id": qid,
                               "created_at": done, "updated_at": done})  # fmt: skip
                rows_a.append({"id": qid, "org_id": org.id, "take_id": qid,
                               "kind": AssetKind.ORIGINAL, "storage_key": key,
                               "content_type": "video/webm", "size_bytes": 16,
                               "created_at": done, "updated_at": done})  # fmt: skip
        for model, rows in ((InterviewQuestion, rows_q), (Take, rows_t), (Response, rows_r),
                            (MediaAsset, rows_a)):  # fmt: skip
            db.session.execute(sa.insert(model), rows)
        db.session.commit()
    storage = get_storage()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: storage.save(k, io.BytesIO(b"tiny answer file")), keys))
    if db.engine.url.get_backend_name() == "postgresql":
        for table in ("invitations", "interview_questions", "takes", "responses", "media_assets"):
            db.session.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))  # fmt: skip
        db.session.commit()
    return keys


def run(backend: str, url: str, candidates: int, extra: dict) -> None:
    label = f"{backend}, {db_name(url)}"
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as instance:
        app = make_app(url, instance, extra)
        with app.app_context():
            t = time.perf_counter()
            keys = seed(candidates)
            print(f"[{label}] seeded {candidates} candidates, {len(keys)} files "
                  f"in {time.perf_counter() - t:.1f} s")  # fmt: skip

            t = time.perf_counter()
            summary = jobs.sweep()  # the whole daily job: retention, work folders, old reports
            idle = time.perf_counter() - t
            assert "purged=0" in summary, summary
            print(f"[{label}] daily sweep, nothing due: {idle * 1000:.0f} ms ({summary})")
            record("privacy", f"sweep with nothing due, {candidates} candidates ({label})",
                   round(idle * 1000), "ms")  # fmt: skip

            org = db.session.scalar(sa.select(Organization))
            org.retention_days = 5  # every candidate is now past retention
            db.session.commit()
            t = time.perf_counter()
            result = retention.sweep()
            took = time.perf_counter() - t
            assert result.purged == candidates and result.files_failed == 0, result
            assert result.files_deleted == len(keys), result
            storage = get_storage()
            assert not any(storage.exists(k) for k in keys[:: max(1, len(keys) // 50)])
            rate, files_rate = candidates / took, len(keys) / took
            print(f"[{label}] purged {candidates} candidates / {len(keys)} files in {took:.1f} s:"
                  f" {rate:.0f} candidates/s, {files_rate:.0f} files/s")  # fmt: skip
            record("privacy", f"purge throughput ({label})", round(candidates / took),
                   "candidates/s")  # fmt: skip
            record("privacy", f"purge throughput, files ({label})", round(len(keys) / took),
                   "files/s")  # fmt: skip
            db.session.remove()
            db.engine.dispose()


def db_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def moto_server(folder: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    import boto3  # noqa: PLC0415 (only the S3 run needs it)

    for _ in range(200):
        try:
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
                Bucket=BUCKET
            )
            break
        except Exception:  # noqa: BLE001 (not up yet)
            time.sleep(0.1)
    return proc, endpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument(
        "--s3-candidates",
        type=int,
        default=None,
        help="fewer for S3 (seeding goes through moto: ~10 ms an object)",
    )
    parser.add_argument("--backends", default="local,s3")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # 16 seeding threads share a pool of 10
    # SIGTERM (a stopped `make bench`) unwinds like Ctrl-C, so moto is stopped by the finally.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="privacy-bench-db-") as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        for backend in args.backends.split(","):
            if backend == "local":
                run("local storage", url, args.candidates, {})
                if not args.database_url:
                    os.unlink(f"{folder}/bench.sqlite3")
            elif backend == "s3":
                os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
                os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
                proc, endpoint = moto_server(folder)
                try:
                    run("moto S3", url, args.s3_candidates or args.candidates, {
                        "STORAGE_BACKEND": "s3", "S3_BUCKET": BUCKET,
                        "S3_ENDPOINT_URL": endpoint, "S3_REGION": "us-east-1"})  # fmt: skip
                finally:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=10)


if __name__ == "__main__":
    main()
