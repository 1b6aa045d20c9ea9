"""Candidate pages reached through a personal link: /i/<token>."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for

from ..extensions import limiter
from ..models import InvitationStatus
from ..security import client_ip, public
from . import services
from .forms import ConsentForm

bp = Blueprint("candidate", __name__, url_prefix="/i")


def _link_limit() -> str:
    return current_app.config["CANDIDATE_LINK_LIMIT"]


def _problem(error: services.LinkProblem):
    response = render_template("candidate/link_problem.html", error=error)
    return response, error.status_code, {"Cache-Control": "no-store"}


def _landing(token: str, invitation, form: ConsentForm, status: int):
    """The first page: who is asking, what will happen, privacy notice and consent."""
    # Before the start the screening's current questions show; after it, the snapshot.
    questions = invitation.questions or invitation.screening.questions
    page = render_template(
        "candidate/landing.html",
        token=token,
        invitation=invitation,
        screening=invitation.screening,
        organization=invitation.screening.organization,
        questions=[(q, services.limits(invitation, q)) for q in questions if not q.is_practice],
        practice=next((q for q in questions if q.is_practice), None),
        form=form,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/<token>")
@public
@limiter.limit(_link_limit)
def landing(token: str):
    try:
        invitation = services.resolve(token)
    except services.LinkProblem as error:
        return _problem(error)
    if invitation.status != InvitationStatus.COMPLETED:
        services.touch(invitation, client_ip())
    return _landing(token, invitation, ConsentForm(), 200)


@bp.route("/<token>/start", methods=["POST"])
@public
@limiter.limit(_link_limit)
def start(token: str):
    try:
        invitation = services.resolve(token)
    except services.LinkProblem as error:
        return _problem(error)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _landing(token, invitation, form, 400)
    try:
        services.start(invitation, client_ip())
    except services.LinkProblem as error:
        return _problem(error)
    return redirect(url_for("candidate.landing", token=token))
