"""Privacy pages: the admin's settings, the Data requests page, staff deletion and holds,
and the candidate's "your data" link (/my-data/<token>)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_login import current_user

from .. import jobs
from ..extensions import limiter
from ..forms import ConfirmForm
from ..models import Invitation, Role
from ..security import get_in_org_or_404, public, roles_required
from . import export, purge, requests, retention, settings
from .forms import CandidateDeleteForm, DeleteForm, HoldForm, SettingsForm

bp = Blueprint("privacy", __name__)

STAFF = (Role.ADMIN, Role.RECRUITER)


# --- admin: settings -------------------------------------------------------------------------


@bp.route("/privacy/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings_page():
    org = current_user.organization
    form = SettingsForm(obj=org)
    status = 200
    if form.validate_on_submit():
        try:
            settings.update(
                org,
                current_user,
                retention_days=form.retention_days.data,
                keep_anonymous_scores=form.keep_anonymous_scores.data,
                export_includes_reviews=form.export_includes_reviews.data,
                privacy_contact=form.privacy_contact.data or "",
            )
        except settings.SettingsError as error:
            form.retention_days.errors.append(str(error))
            status = 400
        else:
            flash("Privacy settings saved. The notice candidates read now says this.", "success")
            return redirect(url_for("privacy.settings_page"))
    elif form.is_submitted():
        status = 400
    return render_template(
        "privacy/settings.html", form=form, notice=settings.notice(org), organization=org
    ), status


# --- staff: data requests, the next sweep --------------------------------------------------


@bp.route("/privacy/requests")
@roles_required(*STAFF)
def requests_page():
    org = current_user.organization
    return render_template(
        "privacy/requests.html",
        rows=requests.request_rows(org),
        held=requests.held(org),
        next_sweep=retention.next_sweep_at(),
        sweep_overdue=retention.sweep_is_due(),
        last_sweep=retention.last_sweep(),
        due=retention.dry_run(org),
        tombstones=purge.pending_tombstones(),
        confirm=ConfirmForm(),
    )


@bp.route("/privacy/sweep", methods=["POST"])
@roles_required(Role.ADMIN)
def run_sweep():
    form = ConfirmForm()
    if form.validate_on_submit():
        jobs.enqueue(retention.SWEEP_JOB)
        flash("The sweep is queued; this page shows its result when it is done.", "success")
    return redirect(url_for("privacy.requests_page"))


# --- staff: one candidate ------------------------------------------------------------------


def _candidate_page(invitation: Invitation) -> str:
    return (
        url_for(
            "recruiter.invitation",
            screening_id=invitation.screening_id,
            invitation_id=invitation.id,
        )
        + "#privacy"
    )


@bp.route("/privacy/candidates/<int:candidate_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF)
def delete_candidate(candidate_id: int):
    """Delete one candidate now (a confirmation page, then the purge)."""
    invitation = get_in_org_or_404(Invitation, candidate_id)
    form = DeleteForm()
    status = 200
    if invitation.deleted_at is None and form.validate_on_submit():
        if invitation.legal_hold_reason is not None:
            form.confirm.errors.append("A legal hold keeps this candidate's data. Lift it first.")
            status = 409
        else:
            result = purge.purge(
                [invitation.id],
                reason=form.reason.data.strip(),
                actor=current_user,
                source="staff",
            )
            flash(
                f"Deleted: {result.files_deleted} file(s) removed"
                + (
                    f", {result.files_failed} left for the next sweep"
                    if result.files_failed
                    else ""
                )
                + ".",
                "success",
            )
            return redirect(_candidate_page(invitation))
    elif form.is_submitted():
        status = 400
    return render_template("privacy/delete.html", invitation=invitation, form=form), status


@bp.route("/privacy/candidates/<int:candidate_id>/hold", methods=["POST"])
@roles_required(Role.ADMIN)
def hold(candidate_id: int):
    invitation = get_in_org_or_404(Invitation, candidate_id)
    form = HoldForm()
    if form.validate_on_submit():
        try:
            requests.place_hold(invitation, form.reason.data, current_user)
        except requests.RequestRefused as error:
            flash(str(error), "danger")
        else:
            flash(
                "Legal hold placed: nothing about this candidate is deleted until it is lifted.",
                "success",
            )
        return redirect(_candidate_page(invitation))
    flash("Say why the data must be kept.", "danger")
    return redirect(_candidate_page(invitation)), 303


@bp.route("/privacy/candidates/<int:candidate_id>/release", methods=["POST"])
@roles_required(Role.ADMIN)
def release(candidate_id: int):
    invitation = get_in_org_or_404(Invitation, candidate_id)
    if ConfirmForm().validate_on_submit():
        requests.lift_hold(invitation, current_user)
        flash("Legal hold lifted.", "success")
    return redirect(_candidate_page(invitation))


# --- the candidate's "your data" link ------------------------------------------------------


def _link_limit() -> str:
    return current_app.config["CANDIDATE_LINK_LIMIT"]


def _mine_or_404(data_token: str) -> Invitation:
    invitation = requests.resolve_data_token(data_token)
    if invitation is None:
        abort(404)
    return invitation


def _my_data_page(data_token: str, invitation: Invitation, form, status: int):
    org = invitation.screening.organization
    page = render_template(
        "privacy/my_data.html",
        data_token=data_token,
        invitation=invitation,
        organization=org,
        screening=invitation.screening,
        notice=settings.notice(org),
        deletion=requests.latest_deletion(invitation),
        form=form,
        retention_ends=retention.delete_after(invitation, org),
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/my-data/<data_token>")
@public
@limiter.limit(_link_limit)
def my_data(data_token: str):
    invitation = _mine_or_404(data_token)
    return _my_data_page(data_token, invitation, CandidateDeleteForm(), 200)


@bp.route("/my-data/<data_token>/export")
@public
@limiter.limit(_link_limit)
def my_export(data_token: str):
    invitation = _mine_or_404(data_token)
    if invitation.deleted_at is not None:
        abort(404)
    archive = export.build_zip(invitation)
    requests.record_export(invitation)
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name="my-interview-data.zip",
        max_age=0,
    ), {"Cache-Control": "no-store"}


@bp.route("/my-data/<data_token>/delete", methods=["POST"])
@public
@limiter.limit(_link_limit)
def my_deletion(data_token: str):
    invitation = _mine_or_404(data_token)
    form = CandidateDeleteForm()
    if invitation.deleted_at is None and form.validate_on_submit():
        requests.request_deletion(invitation)
        return redirect(url_for("privacy.my_data", data_token=data_token) + "#deletion", 303)
    return _my_data_page(data_token, invitation, form, 400)
