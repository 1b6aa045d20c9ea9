"""Integration API and webhooks at scale (printed, not a test).

1. Listing 10,000 invitations through ``GET /api/v1/invitations`` with cursor pagination
   (100 a page, every page in turn): server time per page (median, p95, through the WSGI app, no
   network) and SQL statements per page, first page against the deepest (it must not grow).
2. Webhook delivery with 2 real RQ workers on a private Redis: N events emitted (one endpoint,
   a loopback receiver that verifies nothing and answers 204), throughput (deliveries per
   second from the first emit to the last arrival) and lag from the event's commit to its
   arrival at the receiver (median, p95).

SQLite in a temp folder. Usage: .venv/bin/python bench/api_bench.py [--invitations 10000]
[--events 300]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _figures import record  # noqa: E402
from _processes import app_workers, private_redis  # noqa: E402

from interview import create_app  # noqa: E402
from interview.api import services as api_services  # noqa: E402
from interview.config import test_overrides  # noqa: E402
from interview.extensions import db  # noqa: E402
from interview.models import (  # noqa: E402
    Invitation,
    Organization,
    Question,
    Screening,
    ScreeningStatus,
    WebhookDelivery,
    WebhookEvent,
    utcnow,
)
from interview.webhooks import services as webhooks  # noqa: E402

PAGE = 100


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed(invitations: int) -> tuple[Organization, Screening]:
    org = Organization(name="Bench", slug="bench")
    screening = Screening(organization=org, title="Bench", status=ScreeningStatus.OPEN)
    screening.questions = [Question(position=0, prompt="Q", think_seconds=0, answer_seconds=30)]
    db.session.add(screening)
    db.session.commit()
    now = utcnow()
    rows = [
        {
            "org_id": org.id,
            "screening_id": screening.id,
            "candidate_name": f"Candidate {n}",
            "candidate_email": f"c{n}@example.com",
            "token_nonce": "",
            "token_hash": secrets.token_hex(32),
            "status": "invited",
            "expires_at": now + timedelta(days=7),
            "extra_time_percent": 0,
            "extra_think_seconds": 0,
            "extra_answer_seconds": 0,
            "extra_retakes": 0,
            "audio_only_allowed": False,
            "email_status": "sent",
            "email_attempts": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(invitations)
    ]
    for start in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Invitation), rows[start : start + 2000])
    db.session.commit()
    return org, screening


def bench_listing(app, org: Organization, invitations: int) -> None:
    key = api_services.create_key(org, "bench", "read", None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    statements = [0]

    def count(*_args):
        statements[0] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    times, queries, cursor, seen = [], [], None, 0
    while True:
        url = f"/api/v1/invitations?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
        statements[0] = 0
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        queries.append(statements[0])
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        seen += len(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    sa.event.remove(db.engine, "before_cursor_execute", count)
    assert seen == invitations, seen
    median, p95 = statistics.median(times), percentile(times, 95)
    print(f"listing {invitations} invitations, {len(times)} pages of {PAGE}:")
    print(f"  per page: median {median:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms")
    print(
        f"  SQL statements per page: first {queries[0]}, deepest {queries[-1]}, max {max(queries)}"
    )
    record("api", "list invitations page p95 (10k, cursor)", round(p95, 1), "ms")
    record("api", "list invitations page median", round(median, 1), "ms")
    record("api", "SQL statements per page (first/deepest)", f"{queries[1]}/{queries[-1]}")


class Arrivals:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with arrivals.lock:
                    arrivals.times.setdefault(self.headers["webhook-id"], time.time())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"


def bench_webhooks(app, org: Organization, screening: Screening, events: int, folder: str) -> None:
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "1"
    receiver = Arrivals()
    webhooks.create_endpoint(org.id, receiver.url, ["interview.completed"])
    invitation_ids = db.session.scalars(sa.select(Invitation.id).limit(events)).all()
    with private_redis(folder) as redis_url, app_workers(app, redis_url, "webhooks", count=2):
        emitted: dict[str, float] = {}
        first = time.time()
        for invitation_id in invitation_ids:
            event = webhooks.emit(
                org.id,
                "interview.completed",
                {"invitation_id": invitation_id, "screening_id": screening.id},
            )
            db.session.commit()  # the delivery job goes to Redis now
            emitted[event.msg_id] = time.time()
        deadline = time.time() + 300
        while len(receiver.times) < len(emitted) and time.time() < deadline:
            time.sleep(0.1)
    receiver.server.shutdown()
    arrived = receiver.times
    lags = [(arrived[m] - emitted[m]) * 1000 for m in emitted if m in arrived]
    span = max(arrived.values()) - first
    delivered = db.session.scalar(
        sa.select(sa.func.count(WebhookDelivery.id)).where(WebhookDelivery.status == "succeeded")
    )
    total = db.session.scalar(sa.select(sa.func.count(WebhookEvent.id)))
    print(f"webhooks: {len(arrived)}/{len(emitted)} arrived ({delivered}/{total} marked delivered)")
    print(f"  throughput {len(arrived) / span:.1f} deliveries/s with 2 workers")
    print(f"  lag commit -> receiver: median {statistics.median(lags):.0f} ms, "
          f"p95 {percentile(lags, 95):.0f} ms")  # fmt: skip
    record("api", "webhook throughput (2 workers)", round(len(arrived) / span, 1), "deliveries/s")
    record("api", "webhook lag p95 (commit to receiver)", round(percentile(lags, 95)), "ms")
    record("api", "webhook lag median", round(statistics.median(lags)), "ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="api-bench-")
    url = f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(
        {
            **test_overrides(folder),
            "TESTING": False,
            "INSTANCE_PATH": folder,
            "SQLALCHEMY_DATABASE_URI": url,
            "API_RATE_LIMIT": "1000000 per minute",
        }
    )
    with app.app_context():
        upgrade()
        org, screening = seed(args.invitations)
        bench_listing(app, org, args.invitations)
        bench_webhooks(app, org, screening, args.events, folder)


if __name__ == "__main__":
    main()
