"""Invitation pages, on the recruiter blueprint: invite one candidate or a CSV file of them
(and follow the import), and manage an invitation (resend, revoke, extend, accommodations, show
the link, reset a question)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from .. import audit
from ..extensions import db
from ..forms import ConfirmForm
from ..models import InvitationStatus, Role, Screening, utcnow
from ..security import get_in_org_or_404, roles_required
from . import imports, services
from .forms import AccommodationsForm, CsvImportForm, ExtendForm, InviteForm
from .routes import MANAGERS, _to_overview, bp


def _invitation(screening: Screening, invitation_id: int):
    invitation = services.invitation_in_screening_or_none(screening, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


# --- invitations ------------------------------------------------------------------------------


@bp.route("/<int:screening_id>/invitations", methods=["POST"])
@roles_required(*MANAGERS)
def invite(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite(screening, form.name.data, form.email.data)
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash(f"Invited {invitation.candidate_email}; the email is on its way.", "success")
    else:
        for field_errors in form.errors.values():
            for message in field_errors:
                flash(message, "danger")
    return _to_overview(screening, "#candidates")


@bp.route("/<int:screening_id>/invitations/import", methods=["POST"])
@roles_required(*MANAGERS)
def import_invitations(screening_id: int):
    """Check the CSV file at once, then invite its rows in a job (the page shows progress)."""
    screening = get_in_org_or_404(Screening, screening_id)
    form = CsvImportForm()
    if not form.validate_on_submit():
        for field_errors in form.errors.values():
            for message in field_errors:
                flash(message, "danger")
        return _to_overview(screening, "#candidates")
    try:
        record = imports.start_import(
            screening, current_user, form.file.data.read(), form.file.data.filename
        )
    except services.RecruitingError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _to_overview(screening, "#candidates")
    return redirect(
        url_for("recruiter.invitation_import", screening_id=screening.id, import_id=record.id)
    )


def _import(screening_id: int, import_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    record = imports.import_in_screening_or_none(screening, import_id)
    if record is None:
        abort(404)
    return screening, record


@bp.route("/<int:screening_id>/imports/<int:import_id>")
@roles_required(*MANAGERS)
def invitation_import(screening_id: int, import_id: int):
    """A CSV import: its progress while the job runs, then what happened to each line."""
    screening, record = _import(screening_id, import_id)
    return render_template(
        "recruiter/import_result.html",
        screening=screening,
        record=record,
        progress=imports.progress(record),
        shown=imports.RESULTS_SHOWN,
    )


@bp.route("/<int:screening_id>/imports/<int:import_id>/status")
@roles_required(*MANAGERS)
def invitation_import_status(screening_id: int, import_id: int):
    """The import's progress, for the page's polling script."""
    _screening, record = _import(screening_id, import_id)
    return jsonify(imports.progress(record))


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>")
@roles_required(*MANAGERS, Role.HR)
def invitation(screening_id: int, invitation_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    return render_template(
        "recruiter/invitation.html",
        screening=screening,
        invitation=invitation,
        can_manage=current_user.role in MANAGERS,
        extend_form=ExtendForm(),
        accommodations_form=AccommodationsForm(obj=invitation),
        confirm=ConfirmForm(),
        link=None,
    )


def _invitation_action(screening_id: int, invitation_id: int, action, success: str):
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(invitation)
    except services.RecruitingError as error:
        flash(str(error), "danger")
    else:
        flash(success, "success")
    return redirect(
        url_for("recruiter.invitation", screening_id=screening.id, invitation_id=invitation.id)
    )


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>/resend", methods=["POST"])
@roles_required(*MANAGERS)
def resend_invitation(screening_id: int, invitation_id: int):
    return _invitation_action(
        screening_id, invitation_id, services.resend, "The invitation email is on its way again."
    )


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required(*MANAGERS)
def revoke_invitation(screening_id: int, invitation_id: int):
    return _invitation_action(
        screening_id, invitation_id, services.revoke, "The link is revoked and no longer works."
    )


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>/extend", methods=["POST"])
@roles_required(*MANAGERS)
def extend_invitation(screening_id: int, invitation_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    form = ExtendForm()
    if form.validate_on_submit():
        base = max(invitation.expires_at, utcnow())
        try:
            services.extend_deadline(invitation, base + timedelta(days=form.days.data))
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash("Deadline extended.", "success")
    else:
        flash("Choose between 1 and 90 days.", "danger")
    return redirect(
        url_for("recruiter.invitation", screening_id=screening.id, invitation_id=invitation.id)
    )


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>/accommodations", methods=["POST"])
@roles_required(*MANAGERS)
def accommodations(screening_id: int, invitation_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    form = AccommodationsForm()
    if form.validate_on_submit():
        services.set_accommodations(
            invitation,
            extra_time_percent=form.extra_time_percent.data or 0,
            extra_think_seconds=form.extra_think_seconds.data or 0,
            extra_answer_seconds=form.extra_answer_seconds.data or 0,
            extra_retakes=form.extra_retakes.data or 0,
            audio_only_allowed=form.audio_only_allowed.data,
        )
        flash("Accommodations saved; they apply from the next question.", "success")
        return redirect(
            url_for("recruiter.invitation", screening_id=screening.id, invitation_id=invitation.id)
        )
    return (
        render_template(
            "recruiter/invitation.html",
            screening=screening,
            invitation=invitation,
            can_manage=True,
            extend_form=ExtendForm(),
            accommodations_form=form,
            confirm=ConfirmForm(),
            link=None,
        ),
        400,
    )


@bp.route("/<int:screening_id>/invitations/<int:invitation_id>/link", methods=["POST"])
@roles_required(*MANAGERS)
def show_link(screening_id: int, invitation_id: int):
    """Show the candidate's link so it can be sent by hand (e.g. after an email failed)."""
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if invitation.deleted_at is not None:
        flash("This candidate's data was deleted; their link no longer works.", "danger")
        link = None
    elif invitation.status == InvitationStatus.REVOKED:
        flash("This invitation is revoked; its link does not work.", "danger")
        link = None
    else:
        link = services.candidate_link(invitation)
        audit.record("invitation.link_viewed", invitation)
        db.session.commit()
    return render_template(
        "recruiter/invitation.html",
        screening=screening,
        invitation=invitation,
        can_manage=True,
        extend_form=ExtendForm(),
        accommodations_form=AccommodationsForm(obj=invitation),
        confirm=ConfirmForm(),
        link=link,
    )


@bp.route(
    "/<int:screening_id>/invitations/<int:invitation_id>/questions/<int:interview_question_id>"
    "/reset",
    methods=["POST"],
)
@roles_required(*MANAGERS)
def reset_question(screening_id: int, invitation_id: int, interview_question_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    invitation = _invitation(screening, invitation_id)
    question = next((q for q in invitation.questions if q.id == interview_question_id), None)
    if question is None:
        abort(404)
    return _invitation_action(
        screening_id,
        invitation_id,
        lambda inv: services.reset_question(inv, question),
        f"Question {question.position + 1} was reset: the candidate can answer it again.",
    )
