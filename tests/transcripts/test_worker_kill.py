"""A transcribe job survives its worker being killed (SIGKILL, as a lost machine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.models import AssetKind, JobRun, JobStatus, MediaAsset, Transcript, TranscriptStatus
from tests.conftest import PROJECT_ROOT, worker_env
from tests.faults.conftest import wait_until

from .conftest import EXPECTED_WORDS, needs_espeak

pytestmark = pytest.mark.slow


def _worker(app, model_dir: Path, log_path: Path) -> subprocess.Popen:
    env = worker_env(app, TRANSCRIPTS_ENABLED="1", TRANSCRIPTS_MODEL_DIR=str(model_dir))
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", "transcripts"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


@needs_espeak
def test_a_killed_worker_loses_no_transcript(app, ready_take, speech_mp4, model_dir, tmp_path):
    """Killed mid-recognition, the run is re-queued by reconcile, a new worker takes over the
    dead claim, and the answer ends with one transcript and one set of captions/audio files."""
    take = ready_take(speech_mp4)
    transcript = db.session.scalar(sa.select(Transcript).where(Transcript.take_id == take.id))
    log_path = tmp_path / "worker.log"
    worker = _worker(app, model_dir, log_path)
    try:

        def claimed() -> bool:
            db.session.expire_all()
            return db.session.get(Transcript, transcript.id).status == TranscriptStatus.PROCESSING

        wait_until(claimed, 120, "the worker to claim the transcript", log_path.read_text)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker, its work horse, everything
        worker.wait(timeout=10)
        resent = jobs.reconcile(timedelta(0))
        assert [r.name for r in resent] == ["transcribe"]
        worker = _worker(app, model_dir, log_path)

        def ready() -> bool:  # the transcript, and the job's run recorded after it
            db.session.expire_all()
            done = db.session.get(Transcript, transcript.id).status == TranscriptStatus.READY
            started = sa.select(JobRun.id).where(JobRun.status == JobStatus.STARTED)
            return done and db.session.scalar(started.limit(1)) is None

        wait_until(ready, 240, "the new worker to finish the transcript", log_path.read_text)
    finally:
        _stop(worker)
    db.session.expire_all()
    transcript = db.session.get(Transcript, transcript.id)
    assert transcript.attempts == 2
    assert all(word in transcript.text.lower() for word in EXPECTED_WORDS)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "transcribe"))
    assert run.status == JobStatus.FINISHED
    assets = db.session.scalars(sa.select(MediaAsset).where(MediaAsset.take_id == take.id)).all()
    kinds = sorted(a.kind for a in assets)
    assert kinds.count(AssetKind.CAPTIONS) == 1 and kinds.count(AssetKind.AUDIO) == 1
    root = Path(app.config["MEDIA_ROOT"]) / f"orgs/{transcript.org_id}"
    stored = sorted(
        str(p.relative_to(root.parent.parent))
        for folder in (root / f"takes/{take.id}", root / f"captions/{transcript.id}")
        for p in folder.iterdir()
    )
    assert stored == sorted(a.storage_key for a in assets)  # nothing left by the dead claim
