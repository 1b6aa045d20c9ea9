"""A work horse SIGKILLed mid-transcode while its worker lives on.

tests/test_jobs.py and tests/media/test_workers.py kill the worker *and* its horse (the
machine is lost) and recover through ``reconcile``. Here only the horse dies (the kernel's
OOM killer picks the process using the most memory: ffmpeg's parent, not the worker), so
the recovery path is RQ's own retry of the same job, with no sweep at all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.media import services
from interview.models import AssetKind, JobRun, JobStatus, MediaAsset, Take, TakeStatus

from .. import factories
from ..conftest import PROJECT_ROOT, worker_env
from ..media.conftest import RECIPES, ffmpeg
from ..media.test_workers import _horse_running_ffmpeg
from .conftest import wait_until

pytestmark = pytest.mark.slow


def test_killed_work_horse_is_retried_by_rq_without_the_sweep(app, org, tmp_path, monkeypatch):
    """Is the take claimed again by the retried job (same RQ job id) and made ready once, with
    a single set of outputs and the run recorded as finished after two attempts?"""
    monkeypatch.setitem(
        jobs.JOBS,
        "process_take",
        jobs.JobSpec("media", jobs.JOBS["process_take"].target, 600, (1,)),
    )
    jobs.redis_connection().flushdb()
    clip = tmp_path / "slow.mov"
    ffmpeg(*RECIPES["slow.mov"], str(clip))
    take = factories.take(org.screening)
    services.store_original(take, clip, "video/quicktime")
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    log_path = tmp_path / "worker.log"
    env = worker_env(app)
    # The job is queued by this process with a 1 s retry interval (the monkeypatched spec).
    run = jobs.enqueue("process_take", take.id, timeout=600)
    with open(log_path, "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", "media"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until(
            lambda: _horse_running_ffmpeg(worker.pid) is not None,
            60,
            "ffmpeg under the work horse",
            log_path.read_text,
        )
        os.killpg(_horse_running_ffmpeg(worker.pid), signal.SIGKILL)  # the horse and its ffmpeg

        def ready() -> bool:  # the take, and the job's run recorded after it
            db.session.expire_all()
            return (
                db.session.get(Take, take.id).status == TakeStatus.READY
                and db.session.get(JobRun, run.id).status != JobStatus.STARTED
            )

        wait_until(ready, 120, "the retried job to finish the take", log_path.read_text)
        assert worker.poll() is None  # the worker itself lived through it
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    db.session.expire_all()
    take = db.session.get(Take, take.id)
    assert take.processing_attempts == 2 and take.failure_reason is None
    run = db.session.get(JobRun, run.id)
    assert run.status == JobStatus.FINISHED and run.attempts == 2
    assets = db.session.scalars(sa.select(MediaAsset).where(MediaAsset.take_id == take.id)).all()
    assert sorted(a.kind for a in assets) == sorted(
        [AssetKind.ORIGINAL, AssetKind.MP4, AssetKind.POSTER]
    )
    folder = Path(app.config["MEDIA_ROOT"]) / f"orgs/{org.org.id}/takes/{take.id}"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        Path(a.storage_key).name for a in assets
    )
