"""The candidate's tus endpoints (creation, HEAD, PATCH, termination), on the candidate
blueprint: thin over ``uploads`` (the protocol's rules and the upload state). A plain middle
PATCH never gets here: ``fast_path`` answers it in front of Flask with the same service."""

from __future__ import annotations

from functools import partial

from flask import current_app, jsonify, make_response, request, url_for
from flask_babel import gettext

from ..database import loaded_objects_kept
from ..extensions import csrf, db, limiter
from ..languages import use_language
from ..models import InvitationStatus, TakeStatus
from ..security import public
from . import finisher, services, turns, upload_claims, uploads
from .routes import _api_limit, _json_error, _resolve_for_api, _state, _take_json, bp

TUS_ENDPOINTS = {"candidate.create_upload", "candidate.upload"}


@bp.after_request
def _tus_and_cors(response):
    """Every tus answer says its protocol version, errors included; the candidate API answers
    cross-origin calls from the origins in UPLOAD_CORS_ORIGINS (to embed the recorder)."""
    if request.endpoint in TUS_ENDPOINTS:
        response.headers.setdefault("Tus-Resumable", uploads.TUS_VERSION)
    for name, value in uploads.cors_headers(
        request.headers.get("Origin"),
        request.path,
        request.method,
        current_app.config["UPLOAD_CORS_ORIGINS"],
    ):
        if name == "Vary":
            response.headers.add(name, value)
        else:
            response.headers[name] = value
    return response


_tus_headers = uploads.tus_headers


def _tus_refusal(tus_error: uploads.TusError):
    return tus_error.args[0], tus_error.status, uploads.refusal_headers(tus_error)


def _tus_options():
    return (
        "",
        204,
        _tus_headers(
            {
                "Tus-Version": uploads.TUS_VERSION,
                "Tus-Extension": uploads.TUS_EXTENSIONS,
                "Tus-Max-Size": str(current_app.config["MAX_TAKE_BYTES"]),
                "Tus-Checksum-Algorithm": uploads.TUS_CHECKSUM_ALGORITHMS,
            }
        ),
    )


def _tus_version_ok() -> bool:
    return request.headers.get("Tus-Resumable") == uploads.TUS_VERSION


def _tus_preamble(token: str):
    """What every tus request goes through: OPTIONS discovery, the protocol version, the link.

    Returns (invitation, None) to go on, or (None, response) to answer at once.
    """
    if request.method == "OPTIONS":
        return None, _tus_options()
    if not _tus_version_ok():
        return None, (
            "Tus-Resumable 1.0.0 required",
            412,
            _tus_headers({"Tus-Version": uploads.TUS_VERSION}),
        )
    return _resolve_for_api(token)


@bp.teardown_request
def _release_upload_connection(_error=None) -> None:
    uploads.release_connection()


@limiter.request_filter
def _is_upload_patch() -> bool:
    # A PATCH needs a valid link and the exact offset of an open upload, and each appends at
    # most MAX_TAKE_BYTES in all; limiting it only adds work to the hottest path. (A request
    # filter, not ``exempt_when``: the limiter then does nothing at all for it.)
    return request.method == "PATCH" and request.endpoint == "candidate.upload"


def _after_last_byte(response, take_id: int):
    """Answer first; assemble and queue once the response is sent."""
    response.call_on_close(
        partial(finisher.finish_after_answering, current_app._get_current_object(), take_id)
    )
    return response


def _with_body(state: uploads.UploadState, offset: int, declared: int | None):
    """Append the request's body at ``offset`` (PATCH, or the first chunk in a POST)."""
    if request.mimetype != "application/offset+octet-stream":
        raise uploads.TusError(415, "Content-Type must be application/offset+octet-stream")
    # The per-take cap, not the form-size cap, bounds a chunk.
    request.max_content_length = current_app.config["MAX_TAKE_BYTES"]
    return uploads.append(
        state,
        request.stream,
        offset,
        declared,
        request.content_length,
        uploads.parse_checksum(request.headers.get("Upload-Checksum")),
    )


@bp.route("/<token>/api/questions/<int:position>/uploads", methods=["POST", "OPTIONS"])
@public
@csrf.exempt
@limiter.limit(_api_limit)
def create_upload(token: str, position: int):
    """tus creation: starting an upload starts the take (the server checks the timing). With
    creation-with-upload the body is the first chunk; a zero-length upload is complete.
    Starting the take runs in the process's turn (``turns``); the body is read after it."""
    if request.method == "OPTIONS":
        return _tus_options()  # discovery reads nothing: no turn
    with turns.turn():
        invitation, error = _tus_preamble(token)
        if error:
            return error
        try:
            length = uploads.parse_length(request.headers.get("Upload-Length"), "Upload-Length")
            defer = request.headers.get("Upload-Defer-Length")
            if length is None and defer != "1":
                raise uploads.TusError(400, "send Upload-Length or Upload-Defer-Length: 1")
            metadata = uploads.parse_metadata(request.headers.get("Upload-Metadata"))
            with loaded_objects_kept(db.session()):  # the answer describes the take just made
                take = services.start_take(
                    invitation,
                    services.question_by_position(invitation, position),
                    content_type=metadata.get("filetype", ""),
                    upload_length=length,
                    audio_only=metadata.get("audio_only") == "1",
                    upload_expires_at=uploads.expiry(),
                )
        except uploads.TusError as tus_error:
            return _json_error(str(tus_error), tus_error.status)
        except services.InterviewRefused as refused:
            return _json_error(str(refused), refused.status_code, state=_state(token, invitation))
        take_id = take.id
        body = _take_json(token, take)
    offset, complete = 0, length == 0
    if complete:
        upload_claims.complete_empty(take)
    elif request.content_length or request.headers.get("Transfer-Encoding"):
        # creation-with-upload: whatever is refused here, the upload exists; the client
        # resumes from the Upload-Offset answered (HEAD says the same).
        try:
            state = uploads.upload_state(invitation, take_id)
            offset, complete = _with_body(state, 0, None)
        except uploads.TusError as tus_error:
            offset = tus_error.offset or 0
    location = url_for("candidate.upload", token=token, take_id=take_id)
    response = make_response(
        jsonify(take=body),
        201,
        _tus_headers({"Location": location, **uploads.offset_headers(offset, complete)}),
    )
    return _after_last_byte(response, take_id) if complete else response


@bp.route("/<token>/api/uploads/<int:take_id>", methods=["HEAD", "PATCH", "DELETE", "OPTIONS"])
@public
@csrf.exempt
@limiter.limit(_api_limit)
def upload(token: str, take_id: int):
    """tus core (HEAD offset, PATCH append) and termination (DELETE) for one take."""
    found = None
    if request.method in ("HEAD", "PATCH") and _tus_version_ok():
        found = uploads.state_for_link(token, take_id)  # one query for the common case
    if found is not None:
        state, language = found
        use_language(language)
        invitation_status = InvitationStatus.IN_PROGRESS
    else:
        invitation, error = _tus_preamble(token)
        if error:
            return error
        invitation_status = invitation.status
    try:
        if found is None:
            state = uploads.upload_state(invitation, take_id)
        if request.method == "HEAD":
            if state.gone:
                raise uploads.TusError(404, "this upload was discarded or has expired")
            headers = {"Upload-Offset": str(state.offset)}
            if state.length is None:
                headers["Upload-Defer-Length"] = "1"
            else:
                headers["Upload-Length"] = str(state.length)
            if state.status == TakeStatus.RECORDING and state.expires_at is not None:
                headers["Upload-Expires"] = uploads.http_date(state.expires_at)
            return "", 200, _tus_headers(headers)
        if invitation_status == InvitationStatus.COMPLETED:
            raise uploads.TusError(
                409, gettext("Your answers were already submitted."), offset=state.offset
            )
        if request.method == "DELETE":
            uploads.terminate(state)
            return "", 204, _tus_headers()
        offset = uploads.parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
        if offset is None:
            raise uploads.TusError(400, "Upload-Offset is required")
        declared = uploads.parse_length(request.headers.get("Upload-Length"), "Upload-Length")
        new_offset, complete = _with_body(state, offset, declared)
    except uploads.TusError as tus_error:
        return _tus_refusal(tus_error)
    response = make_response("", 204, _tus_headers(uploads.offset_headers(new_offset, complete)))
    return _after_last_byte(response, take_id) if complete else response
