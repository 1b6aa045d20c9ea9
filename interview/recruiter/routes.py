"""Screening pages for staff."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from ..models import Screening
from ..security import ALL_STAFF, get_in_org_or_404, roles_required
from . import services

bp = Blueprint("recruiter", __name__, url_prefix="/screenings")


@bp.route("/")
@roles_required(*ALL_STAFF)
def screenings():
    return render_template(
        "recruiter/screenings.html", screenings=services.org_screenings(current_user.org_id)
    )


@bp.route("/<int:screening_id>")
@roles_required(*ALL_STAFF)
def screening(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    return render_template(
        "recruiter/screening.html", screening=screening, funnel=services.funnel(screening)
    )
