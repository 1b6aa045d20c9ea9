"""Public branding files (an organisation's logo and accent colour), and the branding every page
is rendered with: the candidate's inviting organisation, or the signed-in person's."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask_login import current_user

from ..extensions import db
from ..models import Organization
from ..security import public
from . import services

bp = Blueprint("branding", __name__, url_prefix="/brand")

ONE_DAY = 86_400


@bp.app_context_processor
def _branding() -> dict:
    """Staff pages carry their organisation's branding; candidates' pages pass ``brand_org``
    (the inviting organisation) to render_template, which takes precedence over this."""
    org = None
    if getattr(current_user, "is_authenticated", False):
        org = current_user.organization
    return {"brand_org": org, "brand_version": services.version}


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    return org


def _cached(response: Response, org: Organization) -> Response:
    """Public and long-lived: the URL carries the branding's version."""
    response.set_etag(services.version(org))
    response.cache_control.public = True
    response.cache_control.max_age = ONE_DAY
    return response.make_conditional(request)


@bp.route("/<int:org_id>/logo.png")
@public
def logo(org_id: int):
    org = _org(org_id)
    data = services.logo_bytes(org)
    if data is None:
        abort(404)
    return _cached(Response(data, mimetype="image/png"), org)


@bp.route("/<int:org_id>/style.css")
@public
def style(org_id: int):
    org = _org(org_id)
    css = f":root {{ --brand: {org.brand_color}; }}\n" if org.brand_color else ""
    return _cached(Response(css, mimetype="text/css"), org)
