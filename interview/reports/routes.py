"""Reports pages: request PDF/CSV reports, watch them render, download them, preview them.

HR, recruiters and admins of the organisation use them (reviewers score; they do not export).
Every download is an audit event (``report.download``); another organisation's report, screening
or candidate answers 404.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from .. import audit
from ..extensions import db
from ..forms import ConfirmForm
from ..models import (
    Invitation,
    PageSize,
    Report,
    ReportKind,
    ReportStatus,
    Role,
    Screening,
)
from ..security import get_in_org_or_404, roles_required
from . import documents, reporting
from .reporting import ReportError

bp = Blueprint("reports", __name__, url_prefix="/reports")

READERS = (Role.ADMIN, Role.RECRUITER, Role.HR)
SCREENING_KINDS = {ReportKind.SCREENING_PDF.value, ReportKind.SCREENING_CSV.value}


def _screening(screening_id: int) -> Screening:
    screening = get_in_org_or_404(Screening, screening_id)
    if screening.is_template:
        abort(404)
    return screening


def _to_index(screening_id: int, report: Report | None = None):
    anchor = f"#report-{report.id}" if report is not None else ""
    return redirect(url_for("reports.index", screening_id=screening_id) + anchor)


def _status(row: reporting.Row) -> dict:
    report = row.report
    return {
        "id": report.id,
        "status": report.status.value,
        "stale": row.stale,
        "error": report.error,
        "size_bytes": report.size_bytes,
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "download_url": url_for("reports.download", report_id=report.id)
        if report.status == ReportStatus.READY
        else None,
    }


@bp.route("/screenings/<int:screening_id>")
@roles_required(*READERS)
def index(screening_id: int):
    screening = _screening(screening_id)
    reports = reporting.screening_reports(screening)
    return render_template(
        "reports/index.html",
        screening=screening,
        rows=reporting.rows(screening, reports),
        candidates=reporting.completed_candidates(screening),
        page_sizes=list(PageSize),
        confirm=ConfirmForm(),
    )


@bp.route("/screenings/<int:screening_id>/status")
@roles_required(*READERS)
def status(screening_id: int):
    """The reports of a screening and their state, for the page's polling script."""
    screening = _screening(screening_id)
    rows = reporting.rows(screening, reporting.screening_reports(screening))
    return jsonify(
        reports=[_status(row) for row in rows],
        busy=any(row.report.status in reporting.BUSY for row in rows),
    )


@bp.route("/screenings/<int:screening_id>", methods=["POST"])
@roles_required(*READERS)
def request_screening_report(screening_id: int):
    screening = _screening(screening_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    kind = request.form.get("kind", ReportKind.SCREENING_PDF.value)
    try:
        if kind not in SCREENING_KINDS:
            raise ReportError("Choose the screening report or the scores export.")
        report, queued = reporting.request_report(
            screening,
            ReportKind(kind),
            current_user,
            page_size=reporting.parse_page_size(request.form.get("page_size")),
        )
    except ReportError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _to_index(screening.id)
    flash("Report queued: it appears below when ready." if queued else _reused(report), "info")
    return _to_index(screening.id, report)


@bp.route("/candidates/<int:candidate_id>", methods=["POST"])
@roles_required(*READERS)
def request_candidate_report(candidate_id: int):
    """The "Download PDF" action on a candidate: render their report (or reuse a fresh one)."""
    invitation = get_in_org_or_404(Invitation, candidate_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        report, queued = reporting.request_report(
            invitation.screening,
            ReportKind.CANDIDATE_PDF,
            current_user,
            invitation=invitation,
            page_size=reporting.parse_page_size(request.form.get("page_size")),
            with_transcripts=request.form.get("with_transcripts") == "1",
        )
    except ReportError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _to_index(invitation.screening_id)
    flash("Candidate report queued: it appears below when ready." if queued else _reused(report))
    return _to_index(invitation.screening_id, report)


def _reused(report: Report) -> str:
    if report.status == ReportStatus.READY:
        return "This report is up to date: download it below."
    return "This report is already being prepared."


@bp.route("/<int:report_id>/download")
@roles_required(*READERS)
def download(report_id: int):
    return reporting.download(get_in_org_or_404(Report, report_id))


@bp.route("/<int:report_id>/regenerate", methods=["POST"])
@roles_required(*READERS)
def regenerate(report_id: int):
    report = get_in_org_or_404(Report, report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if reporting.regenerate(report, current_user):
        flash("Report queued again with the current scores.", "info")
    else:
        flash("This report is already being prepared.", "info")
    return _to_index(report.screening_id, report)


@bp.route("/<int:report_id>/delete", methods=["POST"])
@roles_required(*READERS)
def delete(report_id: int):
    report = get_in_org_or_404(Report, report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    screening_id = report.screening_id
    reporting.delete(report, current_user)
    flash("Report deleted.", "info")
    return _to_index(screening_id)


# --- previews: the report's own HTML in the browser -------------------------------------------


def _page_size() -> PageSize:
    try:
        return reporting.parse_page_size(request.args.get("page_size"))
    except ReportError:
        return PageSize.A4


@bp.route("/screenings/<int:screening_id>/preview")
@roles_required(*READERS)
def preview_screening(screening_id: int):
    screening = _screening(screening_id)
    context = documents.screening_context(screening, page_size=_page_size(), preview=True)
    audit.record("report.preview", screening, kind=ReportKind.SCREENING_PDF.value)
    db.session.commit()
    return render_template(
        "reports/screening.html",
        title=f"{screening.title} · screening report",
        back_url=url_for("reports.index", screening_id=screening.id),
        **context,
    )


@bp.route("/candidates/<int:candidate_id>/preview")
@roles_required(*READERS)
def preview_candidate(candidate_id: int):
    invitation = get_in_org_or_404(Invitation, candidate_id)
    context = documents.candidate_context(
        invitation,
        page_size=_page_size(),
        preview=True,
        image_src=lambda asset_id: url_for("media.asset", asset_id=asset_id),
        with_transcripts=request.args.get("transcripts") == "1",
    )
    audit.record(
        "report.preview",
        invitation,
        kind=ReportKind.CANDIDATE_PDF.value,
        screening_id=invitation.screening_id,
    )
    db.session.commit()
    return render_template(
        "reports/candidate.html",
        title=f"{context['candidate']} · {invitation.screening.title}",
        back_url=url_for("reports.index", screening_id=invitation.screening_id),
        **context,
    )
