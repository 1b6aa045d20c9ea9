"""Background jobs: the one module that talks to RQ.

Jobs are named; each name maps to a queue, a target function that takes row ids, a timeout
and a retry schedule. Every run is mirrored in a ``JobRun`` row keyed by the RQ job id, so the
database knows a job's fate after Redis forgets it, and ``reconcile`` re-enqueues runs that a
lost Redis or a killed worker left behind.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from flask_sqlalchemy.session import Session as FlaskSession
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RQJobStatus
from werkzeug.utils import import_string

from .extensions import db
from .models import JobRun, JobStatus, utcnow

log = logging.getLogger(__name__)

# A worker started without --queues serves all of them, in this order of priority.
QUEUES = ("media", "emails", "reports", "imports", "privacy", "webhooks", "transcripts")


@dataclass(frozen=True)
class JobSpec:
    queue: str
    target: str  # dotted path of a function that takes row ids
    timeout: int = 600
    retry_intervals: tuple[int, ...] = field(default=(10, 60, 300))


# Named jobs. Areas add theirs here, so this module stays the only one that knows RQ.
_EMAIL_RETRIES = (30, 120, 600)
JOBS: dict[str, JobSpec] = {
    # media.services queues it with a timeout proportional to the answer's length; this one
    # applies when reconcile re-queues a run, and covers the longest answer allowed.
    "process_take": JobSpec("media", "interview.media.jobs.process_take", 3600, (10, 60, 300)),
    "email.invitation": JobSpec(
        "emails", "interview.recruiter.jobs.send_invitation", 60, _EMAIL_RETRIES
    ),
    "email.reminder_start": JobSpec(
        "emails", "interview.recruiter.jobs.send_start_reminder", 60, _EMAIL_RETRIES
    ),
    "email.reminder_deadline": JobSpec(
        "emails", "interview.recruiter.jobs.send_deadline_reminder", 60, _EMAIL_RETRIES
    ),
    # A 200-candidate screening report renders in seconds; the timeout leaves room for big ones.
    # Two retries cover a storage hiccup; a template or data error fails the same way each time.
    "reports.render": JobSpec("reports", "interview.reports.jobs.render_report", 300, (10, 60)),
    # The daily retention sweep: batched purges (each batch commits), so a retry or a re-run
    # after a killed worker continues where it stopped. 10,000 candidates fit in the timeout.
    "privacy.sweep": JobSpec("privacy", "interview.privacy.jobs.sweep", 3600, (60, 600)),
    "email.receipt": JobSpec("emails", "interview.privacy.jobs.send_receipt", 60, _EMAIL_RETRIES),
    # Queued with a timeout proportional to the answer; this one (reconcile) covers 10 minutes.
    "transcribe": JobSpec(
        "transcripts", "interview.transcripts.jobs.transcribe", 1800, (30, 120, 600)
    ),
    # A CSV of candidates (at most CSV_MAX_ROWS rows), invited in batches that each commit.
    "invitations.import": JobSpec("imports", "interview.recruiter.imports.run_import", 900),
    # One HTTP attempt; the webhooks area keeps its own retry schedule (Standard Webhooks).
    "webhooks.deliver": JobSpec("webhooks", "interview.webhooks.jobs.deliver", 60, ()),
    "email.webhook_disabled": JobSpec(
        "emails", "interview.webhooks.jobs.notify_disabled", 60, _EMAIL_RETRIES
    ),
}


class EnqueueError(Exception):
    """A job name that does not exist."""


def redis_connection(app: Flask | None = None) -> redis.Redis:
    app = app or current_app
    conn = app.extensions.get("redis")
    if conn is None:
        conn = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10
        )
        app.extensions["redis"] = conn
    return conn


def _queue(name: str, connection: redis.Redis) -> Queue:
    return Queue(name, connection=connection)


@dataclass(frozen=True)
class _Ticket:
    """What RQ needs to carry a run (plain values: usable after the session expired the row)."""

    run_id: str
    rq_job_id: str
    name: str
    args: tuple[int, ...]

    @classmethod
    def of(cls, run: JobRun) -> _Ticket:
        return cls(run.id, run.rq_job_id or "", run.name, tuple(run.args))


def _send(ticket: _Ticket, spec: JobSpec, timeout: int | None, delay: float = 0) -> None:
    """Put a run on its RQ queue under its current RQ job id (raises RedisError)."""
    queue = _queue(spec.queue, redis_connection())
    options: dict[str, Any] = {
        "job_id": ticket.rq_job_id,
        "meta": {"run_id": ticket.run_id},
        "result_ttl": 24 * 3600,
        "failure_ttl": 7 * 24 * 3600,
        "retry": Retry(max=len(spec.retry_intervals), interval=list(spec.retry_intervals))
        if spec.retry_intervals
        else None,
        "description": f"{ticket.name}{ticket.args}",
    }
    if delay > 0:
        queue.enqueue_in(
            timedelta(seconds=delay),
            "interview.jobs.execute",
            spec.target,
            *ticket.args,
            job_timeout=timeout or spec.timeout,
            **options,
        )
    else:
        queue.enqueue_call(
            "interview.jobs.execute",
            args=(spec.target, *ticket.args),
            timeout=timeout or spec.timeout,
            **options,
        )


def _push(run: JobRun, spec: JobSpec, timeout: int | None, delay: float = 0) -> bool:
    """Put ``run`` on its RQ queue under a fresh RQ job id (committed on the run first).

    False (and a log line) when Redis cannot be reached: the run stays queued in the database.
    """
    run.rq_job_id = uuid.uuid4().hex
    db.session.commit()
    try:
        _send(_Ticket.of(run), spec, timeout, delay)
    except redis.RedisError as error:
        log.warning("job %s (%s) not queued, Redis unavailable: %s", run.id, run.name, error)
        return False
    return True


def _spec(name: str) -> JobSpec:
    spec = JOBS.get(name)
    if spec is None:
        raise EnqueueError(f"unknown job {name!r}")
    return spec


def enqueue(name: str, *ids: int, timeout: int | None = None, delay_seconds: float = 0) -> JobRun:
    """Record a run of job ``name`` for ``ids``, commit, then queue it (after ``delay_seconds``:
    RQ's scheduler, which every worker runs, starts it then).

    The commit comes first so the worker always finds the rows it is given. If Redis is down
    the run stays ``queued`` in the database and ``reconcile`` sends it later.
    """
    spec = _spec(name)
    run = JobRun(id=uuid.uuid4().hex, name=name, queue=spec.queue, args=list(ids))
    db.session.add(run)
    _push(run, spec, timeout, delay_seconds)
    return run


def enqueue_all(name: str, ids: list[tuple[int, ...]]) -> list[JobRun]:
    """Record one run of ``name`` per id tuple and commit them in ONE transaction with whatever
    the caller has pending (e.g. the invitations they email), then queue each.

    Rows and their jobs are committed together, so a process killed in between leaves runs
    that ``reconcile`` sends, never rows whose job was forgotten. Commits even when ``ids`` is
    empty.
    """
    spec = JOBS.get(name)
    if spec is None:
        raise EnqueueError(f"unknown job {name!r}")
    runs = [JobRun(id=uuid.uuid4().hex, name=name, queue=spec.queue, args=list(i)) for i in ids]
    db.session.add_all(runs)
    db.session.commit()
    for run in runs:
        _push(run, spec, None)
    return runs


_AFTER_COMMIT = "jobs_after_commit"


def enqueue_after_commit(name: str, *ids: int) -> JobRun:
    """Record a run in the caller's transaction; it goes to Redis only once that commits.

    For work that must follow a change (a webhook for it) and never precede or outlive it: a
    rollback discards the run with the change; a Redis outage leaves it for ``reconcile``.
    """
    spec = _spec(name)
    run = JobRun(
        id=uuid.uuid4().hex,
        name=name,
        queue=spec.queue,
        args=list(ids),
        rq_job_id=uuid.uuid4().hex,
    )
    db.session.add(run)
    db.session.info.setdefault(_AFTER_COMMIT, []).append((_Ticket.of(run), spec))
    return run


@sa.event.listens_for(FlaskSession, "after_commit")
def _send_after_commit(session: sa.orm.Session) -> None:
    for ticket, spec in session.info.pop(_AFTER_COMMIT, []):
        try:
            _send(ticket, spec, None)
        except redis.RedisError as error:
            log.warning("job %s (%s) not queued, Redis down: %s", ticket.run_id, ticket.name, error)


@sa.event.listens_for(FlaskSession, "after_rollback")
def _forget_after_rollback(session: sa.orm.Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def current_job_id() -> str | None:
    """The RQ job id this code runs under, or None outside a worker (for claims and logs)."""
    job = get_current_job()
    return job.id if job else None


def execute(target: str, *ids: int) -> Any:
    """RQ entry point (runs in the worker, inside the app context): run ``target`` and record it."""
    job = get_current_job()
    job_id = job.id if job else None
    run_id = job.meta.get("run_id") if job else None
    run = db.session.get(JobRun, run_id) if run_id else None
    if run is not None and run.rq_job_id != job_id:
        # A newer RQ job carries this run (it was re-queued): leave the work to that one.
        log.info("[job %s] superseded by %s, skipping", job_id, run.rq_job_id)
        return None
    if run is not None:
        run.status = JobStatus.STARTED
        run.started_at = utcnow()
        run.attempts += 1
        db.session.commit()
    log.info("[job %s] %s%s started", job_id, target, ids)
    try:
        result = import_string(target)(*ids)
    except BaseException as error:
        db.session.rollback()
        log.exception("[job %s] %s%s failed", job_id, target, ids)
        if run is not None:
            run = db.session.get(JobRun, run_id)
            run.status = JobStatus.FAILED
            run.error = "".join(traceback.format_exception_only(error)).strip()[:2000]
            run.ended_at = utcnow()
            db.session.commit()
        raise
    if run is not None:
        run = db.session.get(JobRun, run_id)
        run.status = JobStatus.FINISHED
        run.error = None
        run.ended_at = utcnow()
        db.session.commit()
    log.info("[job %s] %s%s finished", job_id, target, ids)
    return result


def is_last_attempt() -> bool:
    """Inside a job: True when a failure now will not be retried (or outside any RQ job)."""
    job = get_current_job()
    return job is None or not job.retries_left


def _is_lost(run: JobRun, stale_after: timedelta) -> bool:
    """Has Redis forgotten this run's job, or has the worker running it stopped beating?"""
    if run.rq_job_id is None:
        return True
    try:
        job = Job.fetch(run.rq_job_id, connection=redis_connection())
    except NoSuchJobError:
        return True  # Redis restarted (it keeps nothing) or the job expired
    status = job.get_status(refresh=True)
    if status in (RQJobStatus.FAILED, RQJobStatus.STOPPED, RQJobStatus.CANCELED):
        return True
    if status == RQJobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        return beat is None or utcnow() - beat > stale_after  # the worker died mid-job
    return False


def reconcile(stale_after: timedelta = timedelta(minutes=5)) -> list[JobRun]:
    """Re-queue runs that Redis lost (restart) or whose worker died (SIGKILL, machine lost).

    Safe to run at any time and from several places: a run still alive in Redis is left alone.
    """
    candidates = db.session.scalars(
        sa.select(JobRun).where(JobRun.status.in_([JobStatus.QUEUED, JobStatus.STARTED]))
    ).all()
    resent = []
    for run in candidates:
        spec = JOBS.get(run.name)
        if spec is None or not _is_lost(run, stale_after):
            continue
        log.warning("re-queueing lost job run %s %s%s", run.id, run.name, tuple(run.args))
        run.status = JobStatus.QUEUED
        run.enqueued_at = utcnow()
        if _push(run, spec, None):
            resent.append(run)
    return resent


class AppWorker(Worker):
    """An RQ worker that runs each job inside the Flask app context."""

    flask_app: Flask | None = None

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        """Entry point of the forked work horse: give it the app context and fresh connections."""
        assert self.flask_app is not None
        with self.flask_app.app_context():
            # The work horse is a fork: never reuse the parent's database connections.
            db.engine.dispose(close=False)
            super().main_work_horse(*args, **kwargs)


def wait_for_redis(app: Flask, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            redis_connection(app).ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def run_worker(app: Flask, queues: list[str], *, burst: bool = False) -> None:
    """Run an RQ worker for ``queues`` (blocks)."""
    wait_for_redis(app)
    connection = redis_connection(app)
    AppWorker.flask_app = app
    worker = AppWorker([_queue(q, connection) for q in queues], connection=connection)
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
