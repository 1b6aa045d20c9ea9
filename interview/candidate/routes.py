"""Candidate pages reached through a personal link: /i/<token>."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l

from ..database import loaded_objects_kept
from ..errors import MESSAGES
from ..extensions import csrf, db, limiter
from ..forms import ConfirmForm
from ..languages import use_language
from ..media import delivery
from ..media import services as media
from ..models import AssetKind, InvitationStatus, MediaAsset, TakeStatus, utcnow
from ..privacy import requests as data_requests
from ..privacy import settings as privacy_settings
from ..security import client_ip, public
from ..transcripts import reading as transcript_reading
from . import services, turns, uploads
from .forms import ConsentForm
from .turns import in_turn

bp = Blueprint("candidate", __name__, url_prefix="/i")

BUSY = _l("The server is busy right now. Nothing was changed: try again in a few seconds.")


@bp.errorhandler(turns.Busy)
def _busy(error: turns.Busy):
    """No turn came in time (see turns): nothing was done; the recorder tries again."""
    headers = {"Retry-After": str(error.retry_after), "Cache-Control": "no-store"}
    if "/api/" in request.path:
        return jsonify(error=str(BUSY)), 503, headers
    # Trying again: the same page, or after a refused form (consent) the link's first page.
    retry = request.path
    if request.method != "GET" and request.endpoint != "candidate.review":
        retry = url_for("candidate.landing", token=(request.view_args or {}).get("token", ""))
    title = MESSAGES[503][0]
    page = render_template("errors/generic.html", code=503, title=title, text=BUSY, retry_url=retry)
    return page, 503, headers


def _link_limit() -> str:
    return current_app.config["CANDIDATE_LINK_LIMIT"]


def _resolve(token: str, *, finishing: bool = False, interview: bool = False):
    """The invitation behind ``token`` (see services.resolve); the rest of the request is in
    its screening's language, or the one the candidate chose."""
    try:
        invitation = services.resolve(token, finishing=finishing, interview=interview)
    except services.LinkProblem as error:
        use_language(error.language)  # known only for real links (expired, closed)
        raise
    use_language(invitation.screening.language)
    return invitation


def _problem(error: services.LinkProblem):
    response = render_template("candidate/link_problem.html", error=error, brand_org=error.org)
    return response, error.status_code, {"Cache-Control": "no-store"}


def _landing(token: str, invitation, form: ConsentForm, status: int):
    """The first page: who is asking, what will happen, privacy notice and consent."""
    # Before the start the screening's current questions show; after it, the snapshot.
    questions = invitation.questions or invitation.screening.questions
    page = render_template(
        "candidate/landing.html",
        brand_org=invitation.screening.organization,
        token=token,
        invitation=invitation,
        screening=invitation.screening,
        organization=invitation.screening.organization,
        questions=[(q, services.limits(invitation, q)) for q in questions if not q.is_practice],
        practice=next((q for q in questions if q.is_practice), None),
        form=form,
        notice=privacy_settings.notice(invitation.screening.organization),
        # Once they consented, something is stored about them: their data link shows.
        data_link=data_requests.data_link(invitation) if invitation.started_at else None,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/<token>")
@public
@limiter.limit(_link_limit)
@in_turn
def landing(token: str):
    try:
        invitation = _resolve(token, finishing=True)
    except services.LinkProblem as error:
        return _problem(error)
    if invitation.status != InvitationStatus.COMPLETED:
        services.touch(invitation, client_ip())
    return _landing(token, invitation, ConsentForm(), 200)


@bp.route("/<token>/start", methods=["POST"])
@public
@limiter.limit(_link_limit)
@in_turn
def start(token: str):
    try:
        invitation = _resolve(token)
    except services.LinkProblem as error:
        return _problem(error)
    form = ConsentForm()
    if not form.validate_on_submit():
        return _landing(token, invitation, form, 400)
    try:
        services.start(invitation, client_ip())
    except services.LinkProblem as error:
        return _problem(error)
    return redirect(url_for("candidate.interview", token=token))


# --- the interview page and its API -------------------------------------------------------------


def _api_limit() -> str:
    return current_app.config["CANDIDATE_API_LIMIT"]


def _json_error(message: str, status: int, **extra):
    return jsonify(error=message, **extra), status, {"Cache-Control": "no-store"}


def _resolve_for_api(token: str):
    """The invitation, or a JSON error response (the same for unknown and revoked links)."""
    try:
        return _resolve(token, finishing=True, interview=True), None
    except services.LinkProblem as error:
        return None, _json_error(str(error), error.status_code, title=str(error.title))


def _take_json(token: str, take) -> dict:
    return {
        "id": take.id,
        "attempt": take.attempt,
        "status": take.status.value,
        "content_type": take.content_type,
        "audio_only": take.audio_only,
        "bytes_received": take.bytes_received,
        "upload_length": take.upload_length,
        "checksum_sha256": take.checksum_sha256,
        "failure_reason": take.failure_reason,
        "failure_message": services.failure_message(take.failure_reason),
        "flags": take.flags or [],
        "duration_ms": next(
            (a.duration_ms for a in take.assets if a.duration_ms is not None), None
        ),
        "started_at": take.started_at.isoformat() if take.started_at else None,
        "upload_url": url_for("candidate.upload", token=token, take_id=take.id)
        if take.status == TakeStatus.RECORDING
        else None,
        "media_url": url_for("candidate.take_media", token=token, take_id=take.id)
        if take.status in uploads.media_done()
        else None,
    }


def _state(token: str, invitation) -> dict:
    current = services.current_question(invitation)
    questions = []
    for q in invitation.questions:
        limit = services.limits(invitation, q)
        allowed = services.attempts_allowed(invitation, q)
        deadline = None
        if q.revealed_at is not None and limit["think_seconds"]:
            deadline = q.revealed_at.timestamp() + limit["think_seconds"]
        questions.append(
            {
                "position": q.position,
                "number": sum(
                    1
                    for p in invitation.questions
                    if not p.is_practice and p.position <= q.position
                ),
                # A question stays secret until it is revealed: think time starts then.
                "prompt": q.prompt if q.revealed_at is not None or q.takes else None,
                "is_practice": q.is_practice,
                "think_seconds": limit["think_seconds"],
                "answer_seconds": limit["answer_seconds"],
                "attempts_allowed": allowed,
                "attempts_used": len(q.takes),
                "revealed_at": q.revealed_at.isoformat() if q.revealed_at else None,
                "think_ends_at": deadline,
                "open_reveal": services.open_reveal(q),
                "kept_take_id": q.response.take_id if q.response else None,
                "closed": services.question_closed(invitation, q),
                "takes": [_take_json(token, t) for t in q.takes],
                "reveal_url": url_for("candidate.reveal", token=token, position=q.position),
                "prompt_video_url": url_for(
                    "candidate.prompt_video", token=token, position=q.position
                )
                if q.prompt_video_id is not None and q.revealed_at is not None
                else None,
                "prompt_captions_url": url_for(
                    "candidate.prompt_captions", token=token, position=q.position
                )
                if q.prompt_video_id is not None
                and q.revealed_at is not None
                and transcript_reading.prompt_captions(q.prompt_video_id) is not None
                else None,
                "upload_create_url": url_for(
                    "candidate.create_upload", token=token, position=q.position
                ),
            }
        )
    return {
        "status": invitation.status.value,
        "candidate_name": invitation.candidate_name,
        "audio_only_allowed": invitation.audio_only_allowed,
        "expires_at": invitation.expires_at.isoformat(),
        "server_time": utcnow().timestamp(),
        "grace_seconds": current_app.config["TIMING_GRACE_SECONDS"],
        "max_take_bytes": current_app.config["MAX_TAKE_BYTES"],
        "current_position": current.position if current else None,
        "total_questions": sum(1 for q in invitation.questions if not q.is_practice),
        "questions": questions,
        "review_url": url_for("candidate.review", token=token),
    }


@in_turn
def _state_changing(token: str, action):
    """Run one interview step; answer with the new state, or the refusal and the state."""
    invitation, error = _resolve_for_api(token)
    if error:
        return error
    with loaded_objects_kept(db.session()):  # the state is answered from what was loaded
        try:
            action(invitation)
        except services.InterviewRefused as refused:
            return _json_error(str(refused), refused.status_code, state=_state(token, invitation))
        return jsonify(_state(token, invitation)), 200, {"Cache-Control": "no-store"}


@bp.route("/<token>/interview")
@public
@limiter.limit(_link_limit)
@in_turn
def interview(token: str):
    try:
        invitation = _resolve(token, finishing=True)
    except services.LinkProblem as error:
        return _problem(error)
    if invitation.status == InvitationStatus.COMPLETED:
        return redirect(url_for("candidate.done", token=token))
    if invitation.status != InvitationStatus.IN_PROGRESS:
        return redirect(url_for("candidate.landing", token=token))
    services.touch(invitation, client_ip())
    page = render_template(
        "candidate/interview.html",
        brand_org=invitation.screening.organization,
        token=token,
        invitation=invitation,
        screening=invitation.screening,
        state_url=url_for("candidate.state", token=token),
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/<token>/api/state")
@public
@csrf.exempt
@limiter.limit(_api_limit)
@in_turn
def state(token: str):
    invitation, error = _resolve_for_api(token)
    if error:
        return error
    return jsonify(_state(token, invitation)), 200, {"Cache-Control": "no-store"}


@bp.route("/<token>/api/questions/<int:position>/reveal", methods=["POST"])
@public
@csrf.exempt
@limiter.limit(_api_limit)
def reveal(token: str, position: int):
    return _state_changing(
        token, lambda inv: services.reveal(inv, services.question_by_position(inv, position))
    )


@bp.route("/<token>/api/takes/<int:take_id>/keep", methods=["POST"])
@public
@csrf.exempt
@limiter.limit(_api_limit)
def keep(token: str, take_id: int):
    return _state_changing(token, lambda inv: services.keep(inv, services.take_of(inv, take_id)))


def _own_or_404(token: str, lookup):
    """One of this candidate's rows for media playback; any problem is a plain 404."""
    try:
        return lookup(_resolve(token, finishing=True))
    except (services.LinkProblem, services.InterviewRefused):
        abort(404)


@bp.route("/<token>/api/takes/<int:take_id>/media")
@public
@limiter.limit(_api_limit)
def take_media(token: str, take_id: int):
    """The candidate plays back their own take (the processed MP4 once ready)."""
    take = _own_or_404(token, lambda inv: services.take_of(inv, take_id))
    asset = media.asset_of(take, AssetKind.MP4) or media.asset_of(take, AssetKind.ORIGINAL)
    if asset is None:
        abort(404)
    return delivery.send_asset(asset)


@bp.route("/<token>/api/questions/<int:position>/video")
@public
@limiter.limit(_api_limit)
def prompt_video(token: str, position: int):
    """The recruiter's video of a question, once the candidate has revealed that question."""
    question = _own_or_404(token, lambda inv: services.question_by_position(inv, position))
    if question.prompt_video_id is None or question.revealed_at is None:
        abort(404)
    asset = db.session.get(MediaAsset, question.prompt_video_id)
    if asset is None:
        abort(404)
    return delivery.send_asset(asset)


@bp.route("/<token>/api/questions/<int:position>/captions")
@public
@limiter.limit(_api_limit)
def prompt_captions(token: str, position: int):
    """Captions (WebVTT) of the question's video, made on this server like answers' ones."""
    question = _own_or_404(token, lambda inv: services.question_by_position(inv, position))
    if question.prompt_video_id is None or question.revealed_at is None:
        abort(404)
    captions = transcript_reading.prompt_captions(question.prompt_video_id)
    if captions is None:
        abort(404)
    return delivery.send_asset(captions)


@bp.route("/<token>/review", methods=["GET", "POST"])
@public
@limiter.limit(_link_limit)
@in_turn
def review(token: str):
    """Every kept answer before handing in; submitting locks the interview."""
    try:
        invitation = _resolve(token, finishing=True)
    except services.LinkProblem as error:
        return _problem(error)
    if invitation.status == InvitationStatus.COMPLETED:
        return redirect(url_for("candidate.done", token=token))
    form = ConfirmForm()
    problem = None
    if form.validate_on_submit():
        try:
            services.submit(invitation)
        except services.InterviewRefused as refused:
            problem = str(refused)
        else:
            return redirect(url_for("candidate.done", token=token))
    page = render_template(
        "candidate/review.html",
        brand_org=invitation.screening.organization,
        token=token,
        invitation=invitation,
        screening=invitation.screening,
        answers=[q for q in invitation.questions if not q.is_practice],
        unsaved=services.unsaved(invitation),
        pending=services.current_question(invitation),
        playable=uploads.media_done(),
        problem=problem,
        form=form,
    )
    return page, 400 if problem else 200, {"Cache-Control": "no-store"}


@bp.route("/<token>/done")
@public
@limiter.limit(_link_limit)
@in_turn
def done(token: str):
    """The receipt: what the server holds for each answer."""
    try:
        invitation = _resolve(token, finishing=True)
    except services.LinkProblem as error:
        return _problem(error)
    if invitation.status != InvitationStatus.COMPLETED:
        return redirect(url_for("candidate.landing", token=token))
    answers = [q for q in invitation.questions if not q.is_practice]
    page = render_template(
        "candidate/done.html",
        brand_org=invitation.screening.organization,
        invitation=invitation,
        screening=invitation.screening,
        answers=answers,
        texts=transcript_reading.for_takes(q.response.take_id for q in answers if q.response),
        data_link=data_requests.data_link(invitation),
        data_link_external=data_requests.data_link(invitation, external=True),
    )
    return page, 200, {"Cache-Control": "no-store"}


# The tus endpoints live beside these, on the same blueprint.
from . import upload_routes  # noqa: E402,F401
