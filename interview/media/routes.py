"""Staff playback and download of media, through the app (Range, ETag) or a presigned URL."""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user

from ..models import InvitationStatus, MediaAsset, Role
from ..review.access import may_stream_answer_asset
from ..security import get_in_org_or_404, may_see_invitation, roles_required
from . import delivery, services

bp = Blueprint("media", __name__, url_prefix="/media")

STAFF_WHO_MAY_WATCH = (Role.ADMIN, Role.RECRUITER, Role.REVIEWER, Role.HR)


@bp.route("/assets/<int:asset_id>")
@roles_required(*STAFF_WHO_MAY_WATCH)
def asset(asset_id: int):
    """Stream (or, with ``?download=1``, download) one asset of the signed-in staff's org."""
    media = get_in_org_or_404(MediaAsset, asset_id)
    if media.take_id is not None:
        # Only kept answers to scored questions; reviewers only once the candidate submitted
        # and only for candidates they are assigned to.
        invitation = services.kept_answer_invitation(media.take_id)
        if invitation is None:
            abort(404)
        if not may_see_invitation(current_user, invitation) or (
            current_user.role == Role.REVIEWER and invitation.status != InvitationStatus.COMPLETED
        ):
            abort(404)
        # Audio-only and transcript-only review: no picture (or sound) before they submit.
        if not may_stream_answer_asset(current_user, invitation, media.kind, media.content_type):
            abort(404)
    return delivery.serve_and_audit(media, as_attachment=request.args.get("download") == "1")
