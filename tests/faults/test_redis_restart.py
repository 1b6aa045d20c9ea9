"""A real redis-server killed and started again (empty) while takes are queued and one is
being processed by a real `flask worker`: every take still ends ``ready``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.media import services
from interview.models import JobRun, JobStatus, Take, TakeStatus

from .. import factories
from ..clips import h264_mp4
from ..conftest import PROJECT_ROOT, worker_env
from ..media.conftest import RECIPES, ffmpeg
from .conftest import wait_until

pytestmark = pytest.mark.slow


def _status(take_id: int) -> TakeStatus:
    db.session.expire_all()
    return db.session.get(Take, take_id).status


def _uploaded(org, path: Path, content_type: str) -> Take:
    take = factories.take(org.screening)
    services.store_original(take, path, content_type)
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    return take


def test_redis_killed_and_restarted_mid_run_loses_no_take(app, org, private_redis, tmp_path):
    """Redis is SIGKILLed while one take is being transcoded and two wait in its queue, and a
    fourth is uploaded while it is down. After it comes back empty, does the worker carry on,
    and do retry and the reconcile sweep bring every take to ``ready``?"""
    app.config["REDIS_URL"] = private_redis.url
    app.extensions.pop("redis", None)
    slow = tmp_path / "slow.mov"
    ffmpeg(*RECIPES["slow.mov"], str(slow))
    short = h264_mp4(tmp_path / "short.mp4", seconds=2)
    log_path = tmp_path / "worker.log"
    env = worker_env(app, REDIS_URL=private_redis.url)
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", "media"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    worker_log = log_path.read_text
    try:
        busy = _uploaded(org, slow, "video/quicktime")
        waiting = [_uploaded(org, short, "video/mp4") for _ in range(2)]
        for take in [busy, *waiting]:
            services.enqueue_processing(take)
        wait_until(lambda: _status(busy.id) == TakeStatus.PROCESSING, 60, "processing", worker_log)
        private_redis.kill()
        # Uploaded while Redis is down: its job cannot be queued, the database keeps the run.
        late = _uploaded(org, short, "video/mp4")
        late_run = services.enqueue_processing(late)
        assert db.session.get(JobRun, late_run.id).status == JobStatus.QUEUED
        time.sleep(1)
        private_redis.start()  # empty: the queued jobs are gone
        wait_until(lambda: _status(busy.id) == TakeStatus.READY, 120, "the busy take", worker_log)
        # The sweep re-queues what Redis forgot (takes whose jobs are gone, and the late one).
        resent = jobs.reconcile()
        swept = services.reconcile_takes(stale_after=timedelta(0))
        assert {run.args[0] for run in resent} | {t.id for t in swept} >= {
            late.id,
            *(t.id for t in waiting),
        }
        for take in [*waiting, late]:
            wait_until(
                lambda take=take: _status(take.id) == TakeStatus.READY,
                120,
                f"take {take.id}",
                worker_log,
            )
        assert worker.poll() is None, "the worker exited when Redis restarted\n" + worker_log()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    for take in [busy, *waiting, late]:
        db.session.expire_all()
        take = db.session.get(Take, take.id)
        assert take.status == TakeStatus.READY and take.failure_reason is None
    pending = db.session.scalars(
        sa.select(JobRun).where(JobRun.status.in_([JobStatus.QUEUED, JobStatus.STARTED]))
    ).all()
    assert pending == []
