"""A report's life: requested, rendered by its job, stored, marked stale when scores change,
regenerated, failed with a reason; and once through a real RQ worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import (
    AuditEvent,
    JobRun,
    JobStatus,
    PageSize,
    Report,
    ReportKind,
    ReportStatus,
    Role,
)
from interview.reports import pdf, reporting
from interview.reports.services import scored_responses
from interview.review import services as reviewing

from .. import factories
from ..conftest import PROJECT_ROOT, worker_env


def _reload(report: Report) -> Report:
    db.session.expire_all()
    return db.session.get(Report, report.id)


def _request(scored, kind=ReportKind.SCREENING_PDF, **kw) -> tuple[Report, bool]:
    return reporting.request_report(scored.org.screening, kind, scored.org.users[Role.HR], **kw)


def test_requested_report_is_queued_with_a_job_run_and_rendered_by_its_job(app, scored):
    report, queued = _request(scored, page_size=PageSize.LETTER)
    assert queued and report.status == ReportStatus.QUEUED
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == reporting.JOB))
    assert run.args == [report.id] and run.queue == "reports"
    assert report.rq_job_id == run.rq_job_id
    assert reporting.render(report.id) == "ready"
    report = _reload(report)
    assert report.status == ReportStatus.READY and report.error is None
    with get_storage().open(report.storage_key) as stream:
        data = stream.read()
    assert data.startswith(b"%PDF-") and report.size_bytes == len(data)
    assert report.storage_key.startswith(f"orgs/{report.org_id}/reports/{report.id}/")
    assert report.finished_at is not None and report.scores_fingerprint
    assert not reporting.is_stale(report)
    events = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "report.request" in events


def test_asking_again_reuses_a_fresh_or_busy_report(app, scored):
    first, queued = _request(scored)
    again, queued_again = _request(scored)
    assert queued and not queued_again and again.id == first.id  # still queued: one render
    reporting.render(first.id)
    again, queued_again = _request(scored)
    assert again.id == first.id and not queued_again  # ready and fresh: nothing to do
    letter, queued_letter = _request(scored, page_size=PageSize.LETTER)
    assert queued_letter and letter.id != first.id  # another paper is another report


def test_changed_scores_mark_the_report_stale_and_regenerating_replaces_the_file(app, scored):
    """A reviewer reopens and changes a score: is the candidate report stale, and does a
    regenerate give a fresh file (and delete the old one)?"""
    ada = scored.candidates["Ada Lovelace"]
    report, _ = _request(scored, ReportKind.CANDIDATE_PDF, invitation=ada)
    screening_report, _ = _request(scored)
    other, _ = _request(
        scored, ReportKind.CANDIDATE_PDF, invitation=scored.candidates["Brian Kernighan"]
    )
    for r in (report, screening_report, other):
        reporting.render(r.id)
    report = _reload(report)
    old_key = report.storage_key
    assert reporting.stale_ids([report, screening_report, other]) == set()

    review = scored.reviews[("Ada Lovelace", 0)]
    reviewing.reopen(review)
    response = scored_responses([ada.id])[0][0]
    criterion = scored.org.screening.rubric.criteria[0]
    reviewing.set_score(review, response.id, criterion.id, 1)
    reviewing.submit(review)
    db.session.commit()

    assert reporting.stale_ids([report, screening_report, other]) == {
        report.id,
        screening_report.id,
    }
    assert reporting.regenerate(report, scored.org.users[Role.HR])
    assert _reload(report).status == ReportStatus.QUEUED
    assert not reporting.regenerate(report, scored.org.users[Role.HR])  # already queued
    reporting.render(report.id)
    report = _reload(report)
    assert report.status == ReportStatus.READY and not reporting.is_stale(report)
    assert report.storage_key != old_key and not get_storage().exists(old_key)


def test_a_decision_or_a_newly_completed_candidate_makes_reports_stale(app, scored):
    ada = scored.candidates["Ada Lovelace"]
    candidate_report, _ = _request(scored, ReportKind.CANDIDATE_PDF, invitation=ada)
    screening_report, _ = _request(scored)
    reporting.render(candidate_report.id)
    reporting.render(screening_report.id)
    factories.completed_candidate(scored.org.screening, "Late Comer", "late@example.com")
    db.session.commit()
    assert reporting.stale_ids([candidate_report, screening_report]) == {screening_report.id}
    reporting.render(screening_report.id)
    reviewing.record_decision(ada, "hold", "Second thoughts", scored.org.users[Role.ADMIN])
    db.session.commit()
    assert reporting.stale_ids([_reload(candidate_report), _reload(screening_report)]) == {
        candidate_report.id,
        screening_report.id,
    }


def test_a_failing_render_ends_failed_with_its_reason(app, scored, monkeypatch):
    report, _ = _request(scored)

    def broken(*args, **kwargs):
        raise pdf.PDFError("PDF layout failed: the page exploded")

    monkeypatch.setattr(pdf, "render_pdf", broken)
    with pytest.raises(pdf.PDFError):
        reporting.render(report.id)
    report = _reload(report)
    assert report.status == ReportStatus.FAILED
    assert report.error == "PDF layout failed: the page exploded"
    assert report.storage_key is None
    assert list((get_storage().root).rglob("*.pdf")) == []  # nothing half-written is left
    # The error goes away once a regenerate succeeds.
    monkeypatch.undo()
    assert reporting.regenerate(report, scored.org.users[Role.HR])
    reporting.render(report.id)
    report = _reload(report)
    assert report.status == ReportStatus.READY and report.error is None


def test_an_unexpected_error_is_named_in_the_reason(app, scored, monkeypatch):
    report, _ = _request(scored, ReportKind.SCREENING_CSV)
    monkeypatch.setattr(reporting, "csv_bundle", lambda screening: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        reporting.render(report.id)
    assert _reload(report).error == "ZeroDivisionError: division by zero"


def test_only_a_completed_candidate_has_a_report(app, scored):
    with pytest.raises(reporting.ReportError):
        _request(scored, ReportKind.CANDIDATE_PDF, invitation=scored.org.invitation)
    with pytest.raises(reporting.ReportError):
        _request(scored, ReportKind.CANDIDATE_PDF)


def test_a_report_deleted_before_its_job_runs_is_skipped(app, scored):
    report, _ = _request(scored)
    report_id = report.id
    reporting.delete(report, scored.org.users[Role.HR])
    assert reporting.render(report_id) == "gone"


def test_download_names_are_readable_and_safe(app, scored):
    ada = scored.candidates["Ada Lovelace"]
    ada.candidate_name = 'Zoë "Z" Ångström/..\\evil'
    report, _ = _request(scored, ReportKind.CANDIDATE_PDF, invitation=ada)
    reporting.render(report.id)
    name = reporting.download_name(_reload(report))
    assert name.startswith("Support Engineer - Zoë Z Ångström .. evil - A4 - ")
    assert name.endswith(".pdf") and "/" not in name and "\\" not in name and '"' not in name
    scored.org.screening.anonymize_candidates = True
    db.session.commit()
    assert "Candidate" in reporting.download_name(report) and "Zo" not in reporting.download_name(
        report
    )


@pytest.mark.slow
def test_a_real_worker_renders_queued_reports(app, scored):
    """`flask worker --burst` on the reports queue: does each report end ready, its job run
    finished, and its file in storage?"""
    jobs.redis_connection().flushdb()
    pdf_report, _ = _request(
        scored, ReportKind.CANDIDATE_PDF, invitation=scored.candidates["Ada Lovelace"]
    )
    csv_report, _ = _request(scored, ReportKind.SCREENING_CSV)
    env = worker_env(app)
    log_path = os.path.join(app.instance_path, f"worker-{time.monotonic_ns()}.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--queues", "reports", "--burst"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    with open(log_path) as log:
        output = log.read()
    assert proc.returncode == 0, output
    for report in (pdf_report, csv_report):
        report = _reload(report)
        assert report.status == ReportStatus.READY, (report.error, output)
        assert get_storage().exists(report.storage_key)
        assert report.rq_job_id in output  # the job id is in the worker's log lines
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.name == reporting.JOB)).all()
    assert len(runs) == 2 and {r.status for r in runs} == {JobStatus.FINISHED}
