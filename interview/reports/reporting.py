"""Report rows: request one, render it (in a job), notice when its scores changed, serve it.

Lifecycle: ``queued → rendering → ready | failed``. A report is requested from a page (one row
per screening × kind × candidate × paper: asking again re-renders the same row when it failed
or went stale, and reuses it otherwise), rendered by the ``reports.render`` job, stored through
the storage interface under a fresh key (the previous file is deleted once the new one is
recorded), and marked **stale** when the scores, comments, decisions, rubric or completed
candidates it was printed from have changed since (a fingerprint taken *before* reading them).
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, current_app, request
from werkzeug.exceptions import NotFound

from .. import audit, jobs
from ..extensions import db
from ..media.delivery import is_new_viewing, send_stored
from ..media.storage import get_storage
from ..models import (
    Criterion,
    Invitation,
    InvitationStatus,
    PageSize,
    Report,
    ReportKind,
    ReportStatus,
    Rubric,
    Screening,
    User,
    utcnow,
)
from ..transcripts import reading as transcript_reading
from ..webhooks import services as webhooks
from . import csv, documents, pdf, services

JOB = "reports.render"

FILE_TYPES = {
    ReportKind.CANDIDATE_PDF: ("pdf", "application/pdf"),
    ReportKind.SCREENING_PDF: ("pdf", "application/pdf"),
    ReportKind.SCREENING_CSV: ("zip", "application/zip"),
}
KIND_LABELS = {
    ReportKind.CANDIDATE_PDF: "Candidate report (PDF)",
    ReportKind.SCREENING_PDF: "Screening report (PDF)",
    ReportKind.SCREENING_CSV: "Scores (CSV, zipped)",
}
BUSY = (ReportStatus.QUEUED, ReportStatus.RENDERING)


class ReportError(Exception):
    """A report request refused by a rule; the message is shown to the person."""


# --- fingerprints -----------------------------------------------------------------------------


def report_fingerprint(report: Report) -> str:
    """What the report's figures depend on, hashed: scores, comments, reviews and decisions
    (``services.scores_fingerprint``), the rubric's criteria and weights, for screening
    reports the set of completed candidates, and the transcripts when the report prints them."""
    parts = [services.scores_fingerprint(report.screening_id, report.invitation_id)]
    count, latest = db.session.execute(
        sa.select(sa.func.count(Criterion.id), sa.func.max(Criterion.updated_at))
        .join(Rubric, Rubric.id == Criterion.rubric_id)
        .where(Rubric.screening_id == report.screening_id)
    ).one()
    parts.append(f"criteria {count}:{latest.isoformat() if latest else '-'}")
    if report.invitation_id is None:
        count, latest = db.session.execute(
            sa.select(sa.func.count(Invitation.id), sa.func.max(Invitation.completed_at)).where(
                Invitation.screening_id == report.screening_id,
                Invitation.status == InvitationStatus.COMPLETED,
            )
        ).one()
        parts.append(f"completed {count}:{latest.isoformat() if latest else '-'}")
    if report.with_transcripts or report.kind == ReportKind.SCREENING_CSV:
        parts.append(transcript_reading.fingerprint(report.screening_id, report.invitation_id))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def stale_ids(reports: Iterable[Report]) -> set[int]:
    """The ready reports whose figures changed since they were rendered."""
    stale = set()
    for report in reports:
        if report.status == ReportStatus.READY and (
            report.scores_fingerprint != report_fingerprint(report)
        ):
            stale.add(report.id)
    return stale


def is_stale(report: Report) -> bool:
    return report.id in stale_ids([report])


# --- requesting -------------------------------------------------------------------------------


def screening_reports(screening: Screening) -> list[Report]:
    return list(
        db.session.scalars(
            sa.select(Report)
            .where(Report.screening_id == screening.id)
            .order_by(Report.created_at.desc(), Report.id.desc())
        )
    )


def completed_candidates(screening: Screening) -> list[Invitation]:
    return services.completed_invitations(screening)


def parse_page_size(value: str | None) -> PageSize:
    try:
        return PageSize(value or PageSize.A4.value)
    except ValueError:
        raise ReportError("Choose A4 or Letter paper.") from None


def request_report(
    screening: Screening,
    kind: ReportKind,
    user: User | None,
    *,
    invitation: Invitation | None = None,
    page_size: PageSize = PageSize.A4,
    with_transcripts: bool = False,
) -> tuple[Report, bool]:
    """Queue a render of a report, or reuse one in the making or still fresh.

    Returns the report and whether a render was queued. Commits.
    """
    if screening.is_template:
        raise ReportError("A template has no candidates to report on.")
    if kind == ReportKind.CANDIDATE_PDF:
        if invitation is None or invitation.screening_id != screening.id:
            raise ReportError("Choose a candidate of this screening.")
        if invitation.status != InvitationStatus.COMPLETED:
            raise ReportError("Only a candidate who completed the interview has a report.")
    else:
        invitation = None
        with_transcripts = False  # the CSV always has them; the screening PDF never
    if kind == ReportKind.SCREENING_CSV:
        page_size = PageSize.A4  # no paper: one CSV export per screening
    report = db.session.scalar(
        sa.select(Report)
        .where(
            Report.screening_id == screening.id,
            Report.kind == kind,
            Report.page_size == page_size,
            Report.with_transcripts == with_transcripts,
            Report.invitation_id.is_(None)
            if invitation is None
            else Report.invitation_id == invitation.id,
        )
        .order_by(Report.id.desc())
        .limit(1)
    )
    if report is not None and (
        report.status in BUSY or (report.status == ReportStatus.READY and not is_stale(report))
    ):
        return report, False
    if report is None:
        report = Report(
            org_id=screening.org_id,
            screening_id=screening.id,
            invitation_id=invitation.id if invitation else None,
            kind=kind,
            page_size=page_size,
            with_transcripts=with_transcripts,
        )
        db.session.add(report)
    report.requested_by_id = user.id if user else None
    db.session.flush()
    audit.record(
        "report.request",
        report,
        actor=user,
        kind=kind.value,
        screening_id=screening.id,
        invitation_id=report.invitation_id,
        page_size=page_size.value,
    )
    queue_render(report)
    return report, True


def queue_render(report: Report) -> None:
    """Mark ``report`` queued and send it to the reports queue (commits)."""
    if report.status in BUSY and report.rq_job_id:
        return  # already on its way: regenerate twice is one render
    report.status = ReportStatus.QUEUED
    report.error = None
    db.session.flush()
    run = jobs.enqueue(JOB, report.id)  # commits
    report.rq_job_id = run.rq_job_id
    db.session.commit()


def regenerate(report: Report, user: User) -> bool:
    """Render ``report`` again (stale or failed); False when it is already being rendered."""
    if report.status in BUSY:
        return False
    report.requested_by_id = user.id
    audit.record("report.regenerate", report, actor=user, kind=report.kind.value)
    queue_render(report)
    return True


def delete(report: Report, user: User) -> None:
    """Remove a report and its file (commits)."""
    key = report.storage_key
    audit.record("report.delete", report, actor=user, kind=report.kind.value)
    db.session.delete(report)
    db.session.commit()
    if key:
        get_storage().delete(key)


# --- rendering (runs in the worker) -----------------------------------------------------------


def build(report: Report) -> bytes:
    """The report's file, from the database as it is now."""
    screening = db.session.get(Screening, report.screening_id)
    assert screening is not None
    page_size = PageSize(report.page_size)
    if report.kind == ReportKind.CANDIDATE_PDF:
        invitation = db.session.get(Invitation, report.invitation_id)
        assert invitation is not None
        document = documents.candidate_document(
            invitation, page_size=page_size, with_transcripts=report.with_transcripts
        )
        return pdf.render_pdf(
            document.html, stylesheet=documents.stylesheet_text(), page_size=page_size.value
        )
    if report.kind == ReportKind.SCREENING_PDF:
        document = documents.screening_document(screening, page_size=page_size)
        return pdf.render_pdf(
            document.html, stylesheet=documents.stylesheet_text(), page_size=page_size.value
        )
    return csv_bundle(screening)


def csv_bundle(screening: Screening) -> bytes:
    """``scores.csv`` (long format), ``summary.csv`` (one row per candidate) and
    ``answers.csv`` (one row per answer, with its transcript) in one ZIP."""
    results = services.screening_results(screening)
    name = documents.candidate_name(screening)
    email = documents.candidate_email(screening)
    labels = documents.reviewer_labels(screening)
    scores = csv.to_csv(
        csv.SCORES_HEADER,
        csv.scores_rows(results, candidate_name=name, candidate_email=email, reviewer_name=labels),
    )
    summary = csv.to_csv(
        csv.summary_header(results),
        csv.summary_rows(results, candidate_name=name, candidate_email=email),
    )
    texts = transcript_reading.for_takes(
        r.take_id for c in results.candidates for r in c.responses if r.take_id
    )
    answers = csv.to_csv(
        csv.ANSWERS_HEADER,
        csv.answers_rows(results, candidate_name=name, candidate_email=email, transcripts=texts),
    )
    stem = documents.slug(screening.title)
    return csv.bundle(
        {
            f"{stem}-scores.csv": scores,
            f"{stem}-summary.csv": summary,
            f"{stem}-answers.csv": answers,
        }
    )


def _reason(error: BaseException) -> str:
    if isinstance(error, pdf.PDFError | ReportError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text.strip()[:1000] or type(error).__name__


def render(report_id: int) -> str:
    """Render one report (idempotent: a second run renders it again, nothing piles up)."""
    report = db.session.get(Report, report_id)
    if report is None:
        return "gone"  # deleted since it was queued
    report.status = ReportStatus.RENDERING
    report.rq_job_id = jobs.current_job_id() or report.rq_job_id
    report.error = None
    db.session.commit()
    storage = get_storage()
    key = None
    try:
        # Taken before the figures are read: a score given while rendering makes the result
        # stale rather than hiding the change.
        fingerprint = report_fingerprint(report)
        data = build(report)
        extension, _type = FILE_TYPES[report.kind]
        key = f"orgs/{report.org_id}/reports/{report.id}/{secrets.token_hex(8)}.{extension}"
        size = storage.save(key, io.BytesIO(data))
        report = db.session.get(Report, report_id, populate_existing=True)
        if report is None:  # deleted while rendering
            storage.delete(key)
            return "gone"
        previous = report.storage_key
        report.storage_key = key
        report.size_bytes = size
        report.scores_fingerprint = fingerprint
        report.status = ReportStatus.READY
        report.finished_at = utcnow()
        report.error = None
        webhooks.emit(
            report.org_id,
            "report.ready",
            {
                "report_id": report.id,
                "kind": report.kind.value,
                "screening_id": report.screening_id,
                "invitation_id": report.invitation_id,
            },
        )
        db.session.commit()
    except BaseException as error:
        db.session.rollback()
        if key is not None:
            storage.delete(key)
        report = db.session.get(Report, report_id)
        if report is not None:
            report.error = _reason(error)
            # Retried jobs keep the row queued; the last attempt leaves it failed, with why.
            report.status = ReportStatus.FAILED if jobs.is_last_attempt() else ReportStatus.QUEUED
            report.finished_at = utcnow()
            db.session.commit()
        raise
    if previous and previous != key:
        storage.delete(previous)
    current_app.logger.info("report %s (%s) ready: %s bytes", report.id, report.kind, size)
    return "ready"


# --- serving ----------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def download_name(report: Report) -> str:
    """A file name people recognise: screening, candidate (or label), paper, date."""
    screening = db.session.get(Screening, report.screening_id)
    title = screening.title if screening else "Screening"
    stamp = (report.finished_at or report.created_at).strftime("%Y-%m-%d")
    extension, _type = FILE_TYPES[report.kind]
    if report.kind == ReportKind.CANDIDATE_PDF:
        invitation = db.session.get(Invitation, report.invitation_id)
        who = "Candidate"
        if invitation is not None and screening is not None:
            number = services.candidate_number(invitation)
            who = (
                f"Candidate {number}"
                if screening.anonymize_candidates
                else invitation.candidate_name
            )
        base = f"{title} - {who} - {report.page_size.value} - {stamp}"
    elif report.kind == ReportKind.SCREENING_PDF:
        base = f"{title} - screening report - {report.page_size.value} - {stamp}"
    else:
        base = f"{title} - scores - {stamp}"
    cleaned = _UNSAFE.sub(" ", unicodedata.normalize("NFC", base))
    cleaned = " ".join(cleaned.split())[:150].strip(" .") or "report"
    return f"{cleaned}.{extension}"


def send_report(report: Report) -> Response:
    """The report's file as an attachment: Range (206/416), ETag and Last-Modified, private."""
    if report.status != ReportStatus.READY or not report.storage_key:
        raise NotFound()
    _extension, mimetype = FILE_TYPES[report.kind]
    return send_stored(
        report.storage_key,
        mimetype=mimetype,
        download_name=download_name(report),
        as_attachment=True,
        etag=hashlib.sha256(report.storage_key.encode()).hexdigest(),
        last_modified=report.finished_at,
    )


def download(report: Report) -> Response:
    """``send_report`` plus the ``report.download`` audit event when a download starts (the
    Reports page and the API both serve through it). Commits the event."""
    response = send_report(report)
    if response.status_code in (200, 206) and is_new_viewing(request.headers.get("Range")):
        audit.record(
            "report.download",
            report,
            kind=report.kind.value,
            screening_id=report.screening_id,
            invitation_id=report.invitation_id,
        )
        db.session.commit()
    return response


@dataclass
class Row:
    """One report as the Reports page and its status endpoint show it."""

    report: Report
    stale: bool
    label: str
    subject: str


def rows(screening: Screening, reports: list[Report]) -> list[Row]:
    stale = stale_ids(reports)
    invitation_ids = [r.invitation_id for r in reports if r.invitation_id is not None]
    numbers = services.candidate_numbers(screening.id, invitation_ids) if invitation_ids else {}
    names = (
        dict(
            db.session.execute(
                sa.select(Invitation.id, Invitation.candidate_name).where(
                    Invitation.id.in_(invitation_ids)
                )
            ).all()
        )
        if invitation_ids
        else {}
    )
    result = []
    for report in reports:
        if report.invitation_id is None:
            subject = "All completed candidates"
        else:
            label = f"Candidate {numbers.get(report.invitation_id, '?')}"
            name = names.get(report.invitation_id, "")
            subject = label if not name else f"{label} · {name}"
        result.append(Row(report, report.id in stale, KIND_LABELS[report.kind], subject))
    return result
