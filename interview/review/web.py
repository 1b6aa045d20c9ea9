"""The review area's blueprint and the helpers its page modules share (look-ups that apply
the access rules, JSON-or-redirect answers)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user

from ..extensions import db
from ..models import Invitation, Role, Screening
from ..security import get_in_org_or_404, parse_id
from . import services as reviewing
from .services import ReviewError

bp = Blueprint("review", __name__, url_prefix="/review")

SCORERS = (Role.ADMIN, Role.RECRUITER, Role.REVIEWER)
READERS = (Role.ADMIN, Role.RECRUITER, Role.HR)


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def screening_or_404(screening_id: int) -> Screening:
    screening = get_in_org_or_404(Screening, screening_id)
    if not reviewing.may_see_screening(current_user, screening):
        abort(404)
    return screening


def candidate_or_404(candidate_id: int) -> Invitation:
    invitation = get_in_org_or_404(Invitation, candidate_id)
    if not reviewing.may_see_candidate(current_user, invitation):
        abort(404)
    return invitation


def form_int(name: str, *, required: bool = True) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        if required:
            raise ReviewError(f"Missing {name.replace('_', ' ')}.")
        return None
    value = parse_id(raw)
    if value is None:
        raise ReviewError(f"Bad {name.replace('_', ' ')}.")
    return value


def back(invitation: Invitation, anchor: str = ""):
    return redirect(url_for("review.candidate", candidate_id=invitation.id) + anchor)


def refused(error: ReviewError, invitation: Invitation):
    db.session.rollback()
    if wants_json():
        return jsonify(ok=False, error=str(error)), 409
    flash(str(error), "danger")
    return back(invitation)


def saved(review, **extra):
    return jsonify(
        ok=True,
        status=review.status.value,
        my_score=review.mean_score,
        responses_scored=review.responses_scored,
        saved_at=review.updated_at.isoformat(),
        **extra,
    )
