"""Real `flask worker` processes: a worker killed mid-transcode, a Redis that forgot its
queues, and two workers racing for one take. Nothing is lost, nothing is done twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import Worker

from interview import jobs
from interview.extensions import db
from interview.media import services
from interview.models import AssetKind, JobRun, JobStatus, MediaAsset, TakeStatus

from ..conftest import PROJECT_ROOT, worker_env
from .conftest import reload

pytestmark = pytest.mark.slow


class Workers:
    """Starts `flask worker --queues media` processes, each in its own process group."""

    def __init__(self, app) -> None:
        self.app = app
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, *args: str) -> subprocess.Popen:
        log_path = Path(self.app.instance_path) / f"worker-{len(self.procs)}.log"
        env = worker_env(self.app)
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "worker", "--queues", "media", *args],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killed with its horse and ffmpeg
            )
        self.procs.append(proc)
        self.logs.append(log_path)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs if p.exists())

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)


@pytest.fixture
def workers(app) -> Iterator[Workers]:
    jobs.redis_connection().flushdb()
    started = Workers(app)
    yield started
    started.stop_all()


def _processes() -> list[tuple[int, str, int, int]]:
    """(pid, command, parent pid, process group) of every process, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            pid, comm = fields[0].split(" (", 1)
            rest = fields[1].split()
            found.append((int(pid), comm, int(rest[1]), int(rest[2])))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _horse_running_ffmpeg(worker_pid: int) -> int | None:
    """The work horse of ``worker_pid`` (RQ puts it in a process group of its own) when an
    ffmpeg runs under it; None otherwise."""
    procs = _processes()
    horses = {pid for pid, _, ppid, _ in procs if ppid == worker_pid}
    for _, comm, ppid, _ in procs:
        if comm == "ffmpeg" and ppid in horses:
            return ppid
    return None


def _wait_for(condition, seconds: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{workers.log()}"
        time.sleep(0.1)


def _run(run: JobRun) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, run.id)


def _runs_settled() -> bool:
    """No job run still recorded as started (a job records its end after its work)."""
    db.session.expire_all()
    started = sa.select(JobRun.id).where(JobRun.status == JobStatus.STARTED)
    return db.session.scalar(started.limit(1)) is None


def _one_set_of_outputs(app, take) -> None:
    assets = db.session.scalars(sa.select(MediaAsset).where(MediaAsset.take_id == take.id)).all()
    assert sorted(a.kind for a in assets) == sorted(
        [AssetKind.ORIGINAL, AssetKind.MP4, AssetKind.POSTER]
    )
    folder = (
        Path(app.config["MEDIA_ROOT"]) / f"orgs/{take.question.invitation.org_id}/takes/{take.id}"
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        Path(a.storage_key).name for a in assets
    )


def test_worker_killed_mid_transcode_is_recovered_by_the_sweep(
    app, clips, uploaded_take, runner, workers
):
    """SIGKILL a worker while ffmpeg runs, start another, run `flask jobs reconcile`: does the
    take become ready with exactly one set of outputs?"""
    take = uploaded_take(clips["slow.mov"])
    services.enqueue_processing(take)
    first = workers.start()
    _wait_for(
        lambda: _horse_running_ffmpeg(first.pid) is not None,
        60,
        "the first worker to start ffmpeg",
        workers,
    )
    horse = _horse_running_ffmpeg(first.pid)
    assert reload(take).status == TakeStatus.PROCESSING
    # The machine is lost: the work horse with its ffmpeg, and the worker, all at once.
    os.killpg(horse, signal.SIGKILL)
    workers.kill(first)
    assert reload(take).status == TakeStatus.PROCESSING
    workers.start()
    time.sleep(1.1)  # let the killed job's heartbeat age past the deadline given below
    result = runner.invoke(args=["jobs", "reconcile", "--stale-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Re-queued 1 job(s)." in result.output
    assert "Re-queued 0 take(s)" in result.output  # its job was re-queued: nothing more to do
    _wait_for(lambda: reload(take).status == TakeStatus.READY, 90, "the take to be ready", workers)
    # The job's run is recorded finished just after the work it did is committed.
    _wait_for(_runs_settled, 30, "the job's run to be recorded", workers)
    take = reload(take)
    assert take.processing_attempts == 2 and take.failure_reason is None
    _one_set_of_outputs(app, take)
    runs = db.session.scalars(sa.select(JobRun)).all()
    assert len(runs) == 1 and runs[0].status == JobStatus.FINISHED and runs[0].attempts == 2


def test_redis_restart_loses_no_take(app, clips, uploaded_take, runner, workers):
    """Redis forgets every queued job (a restart without persistence), and one take was never
    queued at all: does the sweep recover every take from the database?"""
    queued = [uploaded_take(clips["landscape.mp4"]) for _ in range(3)]
    for take in queued:
        services.enqueue_processing(take)
    never_queued = uploaded_take(clips["h264_opus.mkv"])
    not_a_video = uploaded_take(clips["text.webm"])
    refused_run = services.enqueue_processing(not_a_video)
    jobs.redis_connection().flushdb()
    result = runner.invoke(args=["jobs", "reconcile", "--stale-minutes", "0"])
    assert result.exit_code == 0, result.output
    assert "Re-queued 4 job(s)." in result.output
    assert "Re-queued 1 take(s)" in result.output and f"take {never_queued.id}" in result.output
    worker = workers.start("--burst")
    worker.wait(timeout=120)
    for take in [*queued, never_queued]:
        take = reload(take)
        assert take.status == TakeStatus.READY, workers.log()
        assert take.processing_attempts == 1
        _one_set_of_outputs(app, take)
    # A recording that is not a video fails for good: the job finishes, nothing is retried.
    assert reload(not_a_video).failure_reason == "not a video file"
    assert db.session.get(JobRun, refused_run.id).status == JobStatus.FINISHED
    assert reload(not_a_video).processing_attempts == 1


def test_two_workers_never_process_one_take_at_once(app, clips, uploaded_take, workers):
    """The same take queued twice, two workers: is it claimed once and processed once?"""
    take = uploaded_take(clips["slow.mov"])
    workers.start()
    workers.start()
    connection = jobs.redis_connection()
    _wait_for(lambda: len(Worker.all(connection=connection)) == 2, 60, "two workers", workers)
    runs = [services.enqueue_processing(take), services.enqueue_processing(take)]
    _wait_for(
        lambda: all(_run(r).status == JobStatus.FINISHED for r in runs),
        120,
        "both jobs to finish",
        workers,
    )
    take = reload(take)
    assert take.status == TakeStatus.READY, workers.log()
    assert take.processing_attempts == 1
    _one_set_of_outputs(app, take)
    db.session.expire_all()
    first, second = sorted((db.session.get(JobRun, r.id) for r in runs), key=lambda r: r.started_at)
    assert first.status == second.status == JobStatus.FINISHED
    assert second.started_at < first.ended_at  # they really ran at the same time
