"""The integration API, ``/api/v1``: thin views over the services the pages call.

Each view parses its request (the schemas validate it), calls one service and returns rows
that the schemas turn into JSON. Errors are RFC 9457 problem documents (``interview.errors``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, g, url_for
from flask_smorest import Blueprint

from ..extensions import db
from ..media import delivery
from ..media import services as media
from ..models import Invitation, Report, ReportKind, ReportStatus, Screening, WebhookEndpoint
from ..recruiter import services as recruiting
from ..reports import reporting
from ..review import services as reviewing
from ..security import public
from ..webhooks import services as webhooks
from . import schemas, services
from .auth import current_key, get_or_404, org_id, scope

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Screenings, invitations, results, decisions, reports and answers.",
)


def _refused(error: Exception):
    """A rule of the service refused the change as things stand: 409 with its reason."""
    abort(409, description=str(error))


# --- screenings -------------------------------------------------------------------------------


@bp.route("/screenings")
@scope("read")
@bp.response(200, schemas.ScreeningList)
def list_screenings():
    """Screenings of the key's organisation (templates left out), newest first."""
    return {"data": recruiting.org_screenings(org_id(), templates=False)}


@bp.route("/screenings/<int:screening_id>")
@scope("read")
@bp.response(200, schemas.ScreeningDetail)
def get_screening(screening_id: int):
    """One screening with its questions (the practice one flagged) and its rubric."""
    screening = get_or_404(Screening, screening_id)
    if screening.is_template:
        abort(404)
    return screening


# --- invitations ------------------------------------------------------------------------------


def _cursor(value: str | None) -> int | None:
    """The last id of the previous page (the schema allows digits only; ids are below 2**31)."""
    return None if value is None else min(int(value), 2**31)


def _next_cursor(last_id: int) -> str:
    return str(last_id)


@bp.route("/invitations")
@scope("read")
@bp.arguments(schemas.InvitationFilter, location="query", as_kwargs=True)
@bp.response(200, schemas.InvitationPage)
def list_invitations(limit: int, cursor: str | None = None, **filters):
    """Invitations, newest first, ``limit`` a page; filter by screening, status or email.

    Keyset pagination: one query per page however deep the page.
    """
    query = sa.select(Invitation).where(Invitation.org_id == org_id())
    if filters.get("screening_id") is not None:
        query = query.where(Invitation.screening_id == filters["screening_id"])
    if filters.get("status") is not None:
        query = query.where(Invitation.status == filters["status"])
    if filters.get("email") is not None:
        query = query.where(Invitation.candidate_email == filters["email"].strip().lower())
    last_id = _cursor(cursor)
    if last_id is not None:
        query = query.where(Invitation.id < last_id)
    rows = list(db.session.scalars(query.order_by(Invitation.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": _next_cursor(rows[-1].id) if more and rows else None}


@bp.route("/screenings/<int:screening_id>/invitations", methods=["POST"])
@scope("invite")
@bp.arguments(schemas.NewInvitation)
@bp.response(201, schemas.Invitation)
def create_invitation(body, screening_id: int):
    """Invite one candidate (the invitation email is queued unless ``send_email`` is false)."""
    screening = get_or_404(Screening, screening_id)
    try:
        return recruiting.invite(
            screening, body["name"], body["email"], send_email=body["send_email"]
        )
    except recruiting.RecruitingError as error:
        _refused(error)


@bp.route("/screenings/<int:screening_id>/invitations/bulk", methods=["POST"])
@scope("invite")
@bp.arguments(schemas.BulkInvitations)
@bp.response(200, schemas.BulkResult)
def create_invitations(body, screening_id: int):
    """Invite many candidates at once: good rows are invited, bad rows and duplicates are
    reported by their 0-based index. Send an ``Idempotency-Key`` to retry safely."""
    screening = get_or_404(Screening, screening_id)
    rows = [(i, c["name"], c["email"]) for i, c in enumerate(body["candidates"])]
    try:
        result = recruiting.invite_many(screening, rows, send_email=body["send_email"])
    except recruiting.RecruitingError as error:
        _refused(error)
    return {
        "invited": result.invited,
        "errors": [{"index": i, "reason": reason} for i, reason in result.errors],
        "duplicates": [
            {"index": i, "reason": f"{email} is already invited"} for i, email in result.duplicates
        ],
    }


@bp.route("/invitations/<int:invitation_id>")
@scope("read")
@bp.response(200, schemas.Invitation)
def get_invitation(invitation_id: int):
    return get_or_404(Invitation, invitation_id)


@bp.route("/invitations/<int:invitation_id>/extend", methods=["POST"])
@scope("invite")
@bp.arguments(schemas.Extend)
@bp.response(200, schemas.Invitation)
def extend_invitation(body, invitation_id: int):
    """Move the deadline (an expired invitation becomes live again)."""
    invitation = get_or_404(Invitation, invitation_id)
    try:
        recruiting.extend_deadline(invitation, body["expires_at"])
    except recruiting.RecruitingError as error:
        _refused(error)
    return invitation


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@scope("invite")
@bp.response(200, schemas.Invitation)
def revoke_invitation(invitation_id: int):
    """Revoke the link: it stops working at once."""
    invitation = get_or_404(Invitation, invitation_id)
    recruiting.revoke(invitation)
    return invitation


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@scope("invite")
@bp.response(200, schemas.Invitation)
def resend_invitation(invitation_id: int):
    """Queue the invitation email again (live invitations only)."""
    invitation = get_or_404(Invitation, invitation_id)
    try:
        recruiting.resend(invitation)
    except recruiting.RecruitingError as error:
        _refused(error)
    return invitation


@bp.route("/invitations/<int:invitation_id>/link")
@scope("invite")
@bp.response(200, schemas.Link)
def invitation_link(invitation_id: int):
    """The candidate's personal link, to send another way (never stored; rebuilt)."""
    invitation = get_or_404(Invitation, invitation_id)
    if invitation.status not in recruiting.LIVE_STATUSES:
        abort(409, description="This invitation is no longer live; its link does not work.")
    return {"url": recruiting.candidate_link(invitation)}


# --- results, decisions, answers --------------------------------------------------------------


@bp.route("/invitations/<int:invitation_id>/results")
@scope("read")
@bp.response(200, schemas.Results)
def get_results(invitation_id: int):
    """Status, scores per criterion and per reviewer (submitted reviews), recommendations and
    the decision. Names follow the screening's blind and hidden-name settings."""
    return services.candidate_results(get_or_404(Invitation, invitation_id))


@bp.route("/invitations/<int:invitation_id>/decision", methods=["POST"])
@scope("decide")
@bp.arguments(schemas.DecisionIn)
@bp.response(200, schemas.DecisionOut)
def record_decision(body, invitation_id: int):
    """Record (or change) the final decision on a candidate who completed the interview."""
    invitation = get_or_404(Invitation, invitation_id)
    try:
        decision = reviewing.record_decision(invitation, body["outcome"], body["note"], None)
    except reviewing.ReviewError as error:
        db.session.rollback()
        _refused(error)
    db.session.commit()
    return {"outcome": decision.outcome, "note": decision.note, "decided_at": decision.updated_at}


@bp.route("/invitations/<int:invitation_id>/answers")
@scope("read")
@bp.response(200, schemas.Answers)
def list_answers(invitation_id: int):
    """The kept answers with short-lived playback URLs (``expires_in`` seconds)."""
    invitation = get_or_404(Invitation, invitation_id)
    key = current_key()

    def url(asset_id: int | None) -> str | None:
        if asset_id is None:
            return None
        token = services.playback_token(asset_id, key)
        return url_for("api.playback", token=token, _external=True)

    answers = [
        {
            "number": a.number,
            "prompt": a.prompt,
            "duration_ms": a.duration_ms,
            "audio_only": a.audio_only,
            "flags": a.flags,
            "playback_url": url(a.video_asset_id),
            "poster_url": url(a.poster_asset_id),
        }
        for a in services.kept_answers(invitation)
    ]
    return {"expires_in": current_app.config["API_PLAYBACK_URL_SECONDS"], "data": answers}


@bp.route("/media/<token>")
@public
def playback(token: str):
    """An answer's video or poster, for as long as its playback URL lives (no key needed: the
    URL is the authorisation, signed and short-lived). Range requests work."""
    found = services.asset_for_playback(token)
    if found is None:
        abort(404, description="This playback URL is unknown or has expired. Ask for a new one.")
    asset, key = found
    if asset.take_id is None or media.kept_answer_invitation(asset.take_id) is None:
        abort(404)
    g.audit_actor_label = services.actor_label(key)
    return delivery.serve_and_audit(asset)


# --- reports ----------------------------------------------------------------------------------


@bp.route("/reports", methods=["POST"])
@scope("read")
@bp.arguments(schemas.ReportRequest)
@bp.response(202, schemas.Report)
def request_report(body):
    """Ask for a report; a fresh one (or one being rendered) is reused. Poll it until
    ``status`` is ``ready``, then download ``/reports/{id}/file``."""
    screening = get_or_404(Screening, body["screening_id"])
    invitation = None
    if body["invitation_id"] is not None:
        invitation = get_or_404(Invitation, body["invitation_id"])
    elif body["kind"] == ReportKind.CANDIDATE_PDF:
        abort(422, description="A candidate report needs invitation_id.")
    try:
        report, _queued = reporting.request_report(
            screening, body["kind"], None, invitation=invitation, page_size=body["page_size"]
        )
    except reporting.ReportError as error:
        db.session.rollback()
        _refused(error)
    return report


@bp.route("/reports/<int:report_id>")
@scope("read")
@bp.response(200, schemas.Report)
def get_report(report_id: int):
    return get_or_404(Report, report_id)


@bp.route("/reports/<int:report_id>/file")
@scope("read")
@bp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf")
@bp.alt_response(206, description="A byte range (Range requests are honoured)", success=True)
def download_report(report_id: int):
    """The report's file (PDF, or a ZIP of CSV files for the scores export)."""
    report = get_or_404(Report, report_id)
    if report.status != ReportStatus.READY:
        abort(409, description=f"The report is {report.status.value}, not ready yet.")
    return reporting.download(report)


# --- webhook endpoints ------------------------------------------------------------------------


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    return get_or_404(WebhookEndpoint, endpoint_id)


@bp.route("/webhooks")
@scope("webhooks")
@bp.response(200, schemas.EndpointList)
def list_webhooks():
    return {"data": webhooks.org_endpoints(org_id())}


@bp.route("/webhooks", methods=["POST"])
@scope("webhooks")
@bp.arguments(schemas.NewEndpoint)
@bp.response(201, schemas.EndpointWithSecret)
def create_webhook(body):
    """Subscribe a URL to events. The answer holds the signing secret: the only time it is
    shown. Targets on private, loopback or link-local addresses are refused."""
    try:
        endpoint, _secret = webhooks.create_endpoint(
            org_id(), body["url"], body["events"], body["description"]
        )
    except webhooks.WebhookError as error:
        _refused(error)
    return endpoint  # EndpointWithSecret shows ``secret`` this once


@bp.route("/webhooks/<int:endpoint_id>")
@scope("webhooks")
@bp.response(200, schemas.Endpoint)
def get_webhook(endpoint_id: int):
    return _endpoint(endpoint_id)


@bp.route("/webhooks/<int:endpoint_id>", methods=["PATCH"])
@scope("webhooks")
@bp.arguments(schemas.EndpointChange)
@bp.response(200, schemas.Endpoint)
def update_webhook(body, endpoint_id: int):
    """Change the URL, events, description, or enable it again (which clears its failures)."""
    endpoint = _endpoint(endpoint_id)
    try:
        webhooks.update_endpoint(endpoint, **body)
    except webhooks.WebhookError as error:
        db.session.rollback()
        _refused(error)
    return endpoint


@bp.route("/webhooks/<int:endpoint_id>", methods=["DELETE"])
@scope("webhooks")
@bp.response(204)
def delete_webhook(endpoint_id: int):
    webhooks.delete_endpoint(_endpoint(endpoint_id))


@bp.route("/webhooks/<int:endpoint_id>/rotate", methods=["POST"])
@scope("webhooks")
@bp.response(200, schemas.EndpointWithSecret)
def rotate_webhook(endpoint_id: int):
    """A new secret (shown once); the old one also signs for WEBHOOKS_ROTATION_OVERLAP_HOURS."""
    endpoint = _endpoint(endpoint_id)
    webhooks.rotate_secret(endpoint)
    return endpoint  # EndpointWithSecret shows the new ``secret`` this once


@bp.route("/webhooks/<int:endpoint_id>/deliveries")
@scope("webhooks")
@bp.response(200, schemas.DeliveryList)
def list_deliveries(endpoint_id: int):
    """The latest 50 deliveries to this endpoint, newest first."""
    return {"data": webhooks.deliveries(_endpoint(endpoint_id))}
