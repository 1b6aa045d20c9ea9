"""Reports after a purge, the notice from the settings, and the leftovers: recordings left
open, killed workers' folders, orphan storage objects, the daily sweep in the scheduler."""

from __future__ import annotations

import io
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from interview.extensions import db
from interview.media.services import work_dir
from interview.media.storage import get_storage
from interview.models import (
    Invitation,
    JobRun,
    Report,
    ReportKind,
    ReportStatus,
    Role,
    utcnow,
)
from interview.privacy import jobs, leftovers, purge
from interview.reports import reporting

from .. import factories
from ..conftest import csrf_token
from ..reports.conftest import pdf_text
from .conftest import NAME, rich_candidate


def _stored(key: str) -> bytes:
    with get_storage().open(key) as stream:
        return stream.read()


def test_screening_report_renders_again_without_the_deleted_candidate(org, tmp_path):
    """A screening report naming the candidate loses its file at the purge and is queued to
    render again; the new one shows "Deleted candidate" with the kept scores, never the name.
    Their candidate report is deleted."""
    rich = rich_candidate(org)
    admin = org.users[Role.ADMIN]
    report, _queued = reporting.request_report(org.screening, ReportKind.SCREENING_PDF, admin)
    reporting.render(report.id)
    before = pdf_text(_stored(report.storage_key), tmp_path)
    assert NAME in before
    old_key = report.storage_key

    purge.purge([rich.invitation_id], reason="test")

    report = db.session.get(Report, report.id)
    assert report.status == ReportStatus.QUEUED and report.storage_key is None
    assert not get_storage().exists(old_key)
    queued = [
        run
        for run in db.session.scalars(sa.select(JobRun).where(JobRun.name == "reports.render"))
        if run.args == [report.id] and run.enqueued_at > report.finished_at
    ]
    assert queued, "the purge queues the report's render"
    assert not db.session.scalar(
        sa.select(Report.id).where(
            Report.kind == ReportKind.CANDIDATE_PDF, Report.invitation_id == rich.invitation_id
        )
    )
    reporting.render(report.id)
    after = pdf_text(_stored(db.session.get(Report, report.id).storage_key), tmp_path)
    assert NAME not in after and "Deleted candidate" in after
    assert "Robin Reviewed" in after  # everyone else is still there


def test_deleted_candidate_without_kept_scores_leaves_the_results(org, sign_in_as):
    org.org.keep_anonymous_scores = False
    db.session.commit()
    rich = rich_candidate(org)
    purge.purge([rich.invitation_id], reason="test")
    page = sign_in_as(Role.RECRUITER).get(f"/review/screenings/{org.screening.id}/results")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and NAME not in text and "Deleted candidate" not in text
    assert "Robin Reviewed" in text


def test_notice_follows_the_settings(client, org, sign_in_as):
    """The candidate's notice is rendered from the admin's settings, sentence by sentence."""
    invitation, token = factories.invitation(org.screening, "Lee", "lee@example.com")
    db.session.commit()
    page = client.get(f"/i/{token}").get_data(as_text=True)
    assert "deleted 365 days after you submit" in page
    assert "as anonymous numbers" in page and "including what reviewers wrote" in page
    admin = sign_in_as(Role.ADMIN)
    saved = admin.post(
        "/privacy/settings",
        data={
            "retention_days": "90",
            "privacy_contact": "privacy@northwind.example",
            "csrf_token": csrf_token(admin, "/privacy/settings"),
        },  # both boxes left unticked
    )
    assert saved.status_code == 302
    page = client.get(f"/i/{token}").get_data(as_text=True)
    assert "deleted 90 days after you submit" in page and "365" not in page
    assert "nothing about you is kept" in page and "as anonymous numbers" not in page
    assert "including what reviewers wrote" not in page
    assert "Questions about your data: privacy@northwind.example." in page
    refused = admin.post(
        "/privacy/settings",
        data={"retention_days": "0", "csrf_token": csrf_token(admin, "/privacy/settings")},
    )
    assert refused.status_code == 400


def test_orphans_and_killed_workers_folders(app, org, runner):
    """`flask privacy orphans` lists stored objects no row references (after the grace) and
    removes them with --delete; work folders of killed workers go after a day."""
    storage = get_storage()
    storage.save(f"orgs/{org.org.id}/reports/9/superseded.pdf", io.BytesIO(b"old report"))
    storage.save("orgs/1/takes/77/young.mp4", io.BytesIO(b"being published"))
    old = time.time() - 2 * 3600
    root = Path(app.config["MEDIA_ROOT"])
    os.utime(root / f"orgs/{org.org.id}/reports/9/superseded.pdf", (old, old))
    storage.save("orgs/1/takes/78/orphan.mp4", io.BytesIO(b"no row"))
    os.utime(root / "orgs/1/takes/78/orphan.mp4", (old, old))
    listed = runner.invoke(args=["privacy", "orphans"])
    assert f"orgs/{org.org.id}/reports/9/superseded.pdf" in listed.output
    assert "young.mp4" not in listed.output  # within the grace: its row may be on its way
    assert org.asset.storage_key not in listed.output  # referenced
    assert storage.exists(f"orgs/{org.org.id}/reports/9/superseded.pdf")
    assert "superseded_reports=1" in jobs.sweep()  # the daily sweep removes report leftovers
    assert not storage.exists(f"orgs/{org.org.id}/reports/9/superseded.pdf")
    assert storage.exists("orgs/1/takes/78/orphan.mp4")  # other orphans: listed, not removed
    removed = runner.invoke(args=["privacy", "orphans", "--delete"])
    assert "Removed 1 orphan" in removed.output
    assert not storage.exists("orgs/1/takes/78/orphan.mp4")
    assert storage.exists(org.asset.storage_key) and storage.exists("orgs/1/takes/77/young.mp4")

    stale = Path(tempfile.mkdtemp(prefix="take-999999-", dir=work_dir()))
    fresh = Path(tempfile.mkdtemp(prefix="take-999998-", dir=work_dir()))
    day_old = time.time() - 25 * 3600
    os.utime(stale, (day_old, day_old))
    assert leftovers.remove_work_folders() >= 1
    assert not stale.exists() and fresh.exists()
    fresh.rmdir()


def test_scheduler_queues_the_sweep_once_a_day(app, org, runner):
    """`flask jobs tick` queues the privacy sweep when none ran for a day, then not again."""
    first = runner.invoke(args=["jobs", "tick"])
    assert "privacy_sweeps=1" in first.output
    second = runner.invoke(args=["jobs", "tick"])
    assert "privacy_sweeps=0" in second.output
    run = db.session.scalar(sa.select(JobRun).where(JobRun.name == "privacy.sweep"))
    assert run.queue == "privacy"
    run.enqueued_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert "privacy_sweeps=1" in runner.invoke(args=["jobs", "tick"]).output


def test_purge_cli_dry_run_lists_and_changes_nothing(org, runner):
    rich = rich_candidate(org)
    invitation = db.session.get(Invitation, rich.invitation_id)
    invitation.completed_at = utcnow() - timedelta(days=400)
    db.session.commit()
    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert f"invitation {rich.invitation_id}\tretention" in dry.output
    assert "1 candidate(s) would be deleted" in dry.output
    assert db.session.get(Invitation, rich.invitation_id).deleted_at is None
    done = runner.invoke(args=["privacy", "purge"])
    assert "purged=1" in done.output
