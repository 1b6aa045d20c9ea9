"""Queueing takes and the recovery sweep, against the real Redis (no worker needed here)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from rq.job import Job

from interview import jobs
from interview.extensions import db
from interview.media import services
from interview.models import JobRun, JobStatus, Take, TakeStatus, utcnow

from .. import factories
from .conftest import reload


def test_job_timeout_grows_with_the_answer_limit(app, clips, uploaded_take):
    """Is a processing job given a timeout proportional to the longest answer it may get?"""
    short = uploaded_take(clips["landscape.mp4"], answer_seconds=30)
    long = uploaded_take(clips["landscape.mp4"], answer_seconds=300, extra_time_percent=50)
    assert services.job_timeout(long) > services.job_timeout(short)
    run = services.enqueue_processing(long)
    job = Job.fetch(run.rq_job_id, connection=jobs.redis_connection())
    assert job.timeout == services.job_timeout(long) == int(120 + 4 * (450 + 5))
    assert job.origin == "media"
    assert reload(long).rq_job_id == run.rq_job_id


def test_submit_for_processing_marks_the_take_uploaded_and_queues_it(app, clips, org):
    take = factories.take(org.screening)
    services.store_original(take, clips["landscape.mp4"], "video/mp4; codecs=avc1")
    db.session.commit()
    run = services.submit_for_processing(take)
    take = reload(take)
    assert take.status == TakeStatus.UPLOADED and run.name == "process_take"
    assert run.args == [take.id] and take.content_type == "video/mp4"
    assert take.checksum_sha256 and len(take.checksum_sha256) == 64


def test_sweep_requeues_a_take_whose_job_is_gone(app, clips, uploaded_take):
    """A take left `processing` by a job that ended without finishing it (and a take nobody
    queued): are both given back and queued again, and a fresh take left alone?"""
    stuck = uploaded_take(clips["landscape.mp4"])
    services.claim(stuck.id, job_id="job-that-died")
    forgotten = uploaded_take(clips["landscape.mp4"])
    fresh = uploaded_take(clips["landscape.mp4"])
    past = utcnow() - timedelta(minutes=30)
    db.session.execute(
        sa.update(Take)
        .where(Take.id.in_([stuck.id, forgotten.id]))
        .values(processing_started_at=past, updated_at=past)
    )
    db.session.commit()
    resent = services.reconcile_takes(timedelta(minutes=10))
    assert sorted(t.id for t in resent) == sorted([stuck.id, forgotten.id])
    assert reload(stuck).status == TakeStatus.UPLOADED and reload(stuck).claim_token is None
    assert reload(fresh).status == TakeStatus.UPLOADED
    runs = db.session.scalars(sa.select(JobRun)).all()
    assert sorted(r.args[0] for r in runs) == sorted([stuck.id, forgotten.id])
    assert all(r.status == JobStatus.QUEUED for r in runs)
    # Their jobs are queued now: a second sweep leaves them alone.
    assert services.reconcile_takes(timedelta(0)) == [fresh]


def test_a_take_that_keeps_failing_is_failed_in_the_end(app, clips, uploaded_take):
    """After MEDIA_MAX_ATTEMPTS claims, is the take failed instead of retried forever?"""
    take = uploaded_take(clips["landscape.mp4"])
    take.processing_attempts = app.config["MEDIA_MAX_ATTEMPTS"]
    db.session.commit()
    assert services.process(take.id).status == "failed"
    assert reload(take).failure_reason == "processing kept failing"


def test_take_without_an_original_fails(app, org):
    take = factories.take(org.screening, status=TakeStatus.UPLOADED)
    db.session.commit()
    assert services.process(take.id).status == "failed"
    assert reload(take).failure_reason == "no recording was uploaded"
