"""Job wiring with a real Redis and real `flask worker` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.models import JobRun, JobStatus, Organization

from .conftest import PROJECT_ROOT, free_port, worker_env

pytestmark = pytest.mark.slow


@pytest.fixture
def test_jobs(monkeypatch):
    monkeypatch.setitem(
        jobs.JOBS, "test.bump", jobs.JobSpec("emails", "tests.jobs_targets.bump_retention", 30, ())
    )
    monkeypatch.setitem(
        jobs.JOBS, "test.explode", jobs.JobSpec("emails", "tests.jobs_targets.explode", 30, ())
    )
    monkeypatch.setitem(
        jobs.JOBS,
        "test.slow",
        jobs.JobSpec("emails", "tests.jobs_targets.slow_then_bump", 120, ()),
    )


def _start_worker(app, log_path, *args: str) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", "emails", *args],
            cwd=PROJECT_ROOT,
            env=worker_env(app),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: we stop it (and its horse) by PID
        )


def _run_burst_worker(app) -> str:
    log_path = os.path.join(app.instance_path, f"worker-{time.monotonic_ns()}.log")
    proc = _start_worker(app, log_path, "--burst")
    proc.wait(timeout=120)
    with open(log_path) as log:
        out = log.read()
    assert proc.returncode == 0, out
    return out


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as handle:
        return [int(child) for child in handle.read().split()]


def _reload(run: JobRun) -> JobRun:
    db.session.expire_all()
    return db.session.get(JobRun, run.id)


def test_job_runs_in_a_worker_and_its_outcome_is_recorded(app, org, test_jobs):
    """Does a queued job run in a real worker, in the app context, and end up `finished`?"""
    before = org.org.retention_days
    run = jobs.enqueue("test.bump", org.org.id)
    assert run.status == JobStatus.QUEUED and run.rq_job_id
    log = _run_burst_worker(app)
    run = _reload(run)
    assert run.status == JobStatus.FINISHED, log
    assert run.attempts == 1 and run.started_at and run.ended_at
    assert db.session.get(Organization, org.org.id).retention_days == before + 1
    assert run.rq_job_id in log  # the job id appears in the worker's log lines


def test_failed_job_records_the_reason(app, org, test_jobs):
    run = jobs.enqueue("test.explode", org.org.id)
    _run_burst_worker(app)
    run = _reload(run)
    assert run.status == JobStatus.FAILED
    assert run.error == f"RuntimeError: boom for org {org.org.id}"


def test_unknown_job_name_is_refused(app):
    with pytest.raises(jobs.EnqueueError):
        jobs.enqueue("no.such.job", 1)


def test_enqueue_with_redis_down_keeps_the_run_and_reconcile_sends_it(app, org, test_jobs):
    """If Redis is unreachable, is the run kept in the database and sent once Redis is back?"""
    live_url = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app.extensions.pop("redis", None)
    run = jobs.enqueue("test.bump", org.org.id)
    assert _reload(run).status == JobStatus.QUEUED
    app.config["REDIS_URL"] = live_url
    app.extensions.pop("redis", None)
    resent = jobs.reconcile()
    assert [r.id for r in resent] == [run.id]
    assert jobs.reconcile() == []  # now alive in Redis: left alone
    _run_burst_worker(app)
    assert _reload(run).status == JobStatus.FINISHED


def test_redis_restart_loses_nothing(app, org, test_jobs):
    """After Redis forgets every queued job (a restart without persistence), does reconcile
    re-queue them from the database?"""
    runs = [jobs.enqueue("test.bump", org.org.id) for _ in range(3)]
    jobs.redis_connection().flushdb()  # what a restart of a non-persistent Redis leaves
    assert len(jobs.reconcile()) == 3
    _run_burst_worker(app)
    assert all(_reload(r).status == JobStatus.FINISHED for r in runs)
    assert db.session.get(Organization, org.org.id).retention_days == 365 + 3


def test_killed_worker_job_is_recovered(app, org, test_jobs):
    """A worker killed with SIGKILL mid-job: does reconcile hand the job to a new worker?"""
    run = jobs.enqueue("test.slow", org.org.id)
    worker = _start_worker(app, os.path.join(app.instance_path, "killed-worker.log"))
    deadline = time.monotonic() + 60
    while _reload(run).status != JobStatus.STARTED:
        assert time.monotonic() < deadline, "worker never started the job"
        time.sleep(0.2)
    # RQ's work horse runs in a process group of its own: kill it (what a crash of the machine
    # would do), then the worker, by PID; otherwise the horse finishes its job minutes later.
    for child in _children(worker.pid):  # the work horse (and the scheduler)
        os.kill(child, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    first_rq_id = run.rq_job_id
    assert jobs.reconcile(stale_after=timedelta(minutes=5)) == []  # heartbeat still fresh
    time.sleep(2.5)
    resent = jobs.reconcile(stale_after=timedelta(seconds=2))
    assert [r.id for r in resent] == [run.id]
    assert _reload(run).rq_job_id != first_rq_id
    _run_burst_worker(app)
    run = _reload(run)
    assert run.status == JobStatus.FINISHED and run.attempts == 2
    count = db.session.scalar(sa.select(sa.func.count()).select_from(JobRun))
    assert count == 1
    assert db.session.get(Organization, org.org.id).retention_days == 365 + 1  # done once
