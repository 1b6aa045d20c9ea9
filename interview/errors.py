"""Error pages that say what happened, for people and for JSON callers."""

from __future__ import annotations

from contextlib import suppress

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES

from .extensions import db, login_manager
from .security import request_body_limit

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your account does not have permission to open this page.")),
    404: (
        _l("Not found"),
        _l("There is nothing here. The link may be wrong, or the item was removed."),
    ),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    409: (_l("Conflict"), _l("This changed while you were working on it. Reload and try again.")),
    413: (_l("Too large"), _l("What you sent is larger than this service accepts.")),
    429: (
        _l("Too many attempts"),
        _l("Too many attempts in a short time. Wait a few minutes and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error happened on our side. Nothing you did caused it."),
    ),
    503: (
        _l("Briefly unavailable"),
        _l(
            "The service is briefly unavailable. Nothing was saved from this request; "
            "try again in a few seconds."
        ),
    ),
}

# Seconds a client is asked to wait when the database cannot be reached for a moment.
DATABASE_RETRY_AFTER = 5
# The database is away for a moment (down, restarting, locked, out of connections, or the
# driver's connection already closed): 503 with Retry-After, from the app and the upload
# fast path alike.
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


API_PREFIX = "/api/"


def problem(
    code: int, detail: str | None = None, *, errors: dict | None = None, title: str | None = None
):
    """An RFC 9457 problem document: what the API answers for every error."""
    body: dict = {
        "type": "about:blank",
        "title": title or MESSAGES.get(code, (HTTP_STATUS_CODES.get(code, "Error"), ""))[0],
        "status": code,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = code
    response.mimetype = "application/problem+json"
    return response


def _api_problem(error: HTTPException):
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if errors and set(errors) <= {"json", "query", "headers", "files", "form", "view_args"}:
        # webargs nests messages by location; one location is the common case.
        errors = errors[next(iter(errors))] if len(errors) == 1 else errors
    detail = getattr(error, "explicit_message", None) or data.get("message")
    if isinstance(errors, list):  # a message about the whole body ("Invalid JSON body.")
        detail, errors = detail or " ".join(str(e) for e in errors), None
    if detail is None and code == 422 and errors:
        detail = "The request did not validate; see errors."
    if detail is None and error.description != type(error).description:
        detail = error.description  # a message given with abort(code, description=...)
    if detail is None:
        detail = MESSAGES[code][1] if code in MESSAGES else error.description
    response = problem(code, detail, errors=errors)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _render(error: HTTPException):
    code = error.code or 500
    if request.path.startswith(API_PREFIX):
        return _api_problem(error)
    title, default_text = MESSAGES.get(code, (error.name, error.description))
    text = default_text
    if isinstance(error, CSRFError):
        title = _l("Form expired")
        text = _l(
            "This form expired or was not sent from this site. Reload the page and try again."
        )
    elif getattr(error, "explicit_message", None):
        text = error.explicit_message  # set by views that raise with a message for the person
    elif code == 413:
        limit = request_body_limit() or current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            text = gettext(
                "What you sent is larger than this form accepts (at most %(size)s MB). "
                "Nothing was saved: go back and choose a smaller file.",
                size=f"{limit / 2**20:g}",
            )
    elif error.description != type(error).description:
        text = error.description  # abort(code, description="what the person should know")
    if _wants_json():
        return jsonify(error=str(title), message=str(text)), code
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html"
    return render_template(template, code=code, title=title, text=text), code


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error)

    def database_unavailable(error: Exception):
        # The database is down, restarting, locked or out of connections: nothing of this
        # request was committed (the transaction is rolled back), and trying again shortly
        # is the right thing for a person or a tus client to do.
        with suppress(sa.exc.SQLAlchemyError):
            db.session.rollback()
        app.logger.error("Database unavailable on %s %s: %s", request.method, request.path, error)
        # Render as nobody: loading (or refreshing) the signed-in user needs the database.
        g._login_user = login_manager.anonymous_user()
        response = _render(ServiceUnavailable())
        if not isinstance(response, tuple):  # an API problem document
            response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
            return response
        body, code = response
        return body, code, {"Retry-After": str(DATABASE_RETRY_AFTER), "Cache-Control": "no-store"}

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError())
