"""The "done when" of the integration: examples/ats_integration.py, using only the documented
API, invites a candidate, receives interview.completed signed and verified, reads the scores,
records a decision and downloads the PDF, against the real server and a real RQ worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from interview.candidate import services as candidate
from interview.extensions import db
from interview.models import Decision, Invitation, Response, Role, Take, TakeStatus, utcnow

from .. import factories
from ..conftest import PROJECT_ROOT, worker_env
from .conftest import make_key

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="an end-to-end check run once per suite (on SQLite); the API and webhook tests it "
        "builds on run on both databases",
    ),
]


def _answer_everything(invitation: Invitation) -> None:
    """The candidate's side, through the candidate services (opening, consent, submit); the
    recordings themselves are stood in for by ready takes (the media tests cover them)."""
    candidate.touch(invitation, "127.0.0.1")
    candidate.start(invitation, "127.0.0.1")
    now = utcnow()
    for question in invitation.questions:
        take = Take(question=question, attempt=1, status=TakeStatus.READY, started_at=now,
                    finished_at=now, duration_ms=20_000)  # fmt: skip
        db.session.add(take)
        db.session.flush()
        db.session.add(Response(question_id=question.id, take_id=take.id))
    db.session.commit()
    candidate.submit(invitation)


class Lines:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.seen: list[str] = []

    def until(self, word: str, timeout: float = 90) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.seen.append(line.strip())
            if line.startswith(word + " "):
                return line.split()
        raise AssertionError(f"no '{word}' line; script said: {self.seen}, {self.proc.poll()}")


def test_ats_script_runs_the_whole_integration(app, org, live_server, tmp_path):
    key = make_key(org.org, "read,invite,decide,webhooks")
    env = worker_env(app, WEBHOOKS_ALLOW_PRIVATE_TARGETS="1", BASE_URL=live_server)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--queues", "webhooks,reports"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    pdf_path = tmp_path / "candidate.pdf"
    script = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "examples" / "ats_integration.py"),
         "--base", live_server, "--key", key, "--screening", str(org.screening.id),
         "--name", "Ada Lovelace", "--email", "ada@example.com", "--out", str(pdf_path),
         "--timeout", "90"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines = Lines(script)
    try:
        invited = lines.until("invited")
        invitation = db.session.get(Invitation, int(invited[1]))
        assert invitation.candidate_email == "ada@example.com" and "/i/" in invited[2]
        _answer_everything(invitation)
        lines.until("completed")  # interview.completed arrived, signature verified
        factories.scored_review(invitation, org.users[Role.REVIEWER], [[4]])
        db.session.commit()
        scores = lines.until("scores")
        assert float(scores[1]) == 4.0
        assert lines.until("decision")[1] == "advance"
        pdf = lines.until("pdf")
        assert script.wait(timeout=30) == 0, lines.seen
    finally:
        for proc in (script, worker):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        script.stdout.close()
    assert pdf_path.read_bytes().startswith(b"%PDF") and int(pdf[2]) > 1000
    db.session.expire_all()
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == invitation.id))
    assert decision.outcome.value == "advance" and decision.note == "Recorded by the ATS"
