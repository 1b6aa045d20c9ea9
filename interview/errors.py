"""Error pages that say what happened, for people and for JSON callers."""

from __future__ import annotations

from contextlib import suppress

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .extensions import db, login_manager
from .security import request_body_limit

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your account does not have permission to open this page."),
    404: ("Not found", "There is nothing here. The link may be wrong, or the item was removed."),
    405: ("Not allowed", "This page cannot be used that way."),
    409: ("Conflict", "This changed while you were working on it. Reload and try again."),
    413: ("Too large", "What you sent is larger than this service accepts."),
    429: (
        "Too many attempts",
        "Too many attempts in a short time. Wait a few minutes and try again.",
    ),
    500: (
        "Something went wrong",
        "An unexpected error happened on our side. Nothing you did caused it.",
    ),
    503: (
        "Briefly unavailable",
        "The service is briefly unavailable. Nothing was saved from this request; "
        "try again in a few seconds.",
    ),
}

# Seconds a client is asked to wait when the database cannot be reached for a moment.
DATABASE_RETRY_AFTER = 5


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _render(error: HTTPException):
    code = error.code or 500
    title, default_text = MESSAGES.get(code, (error.name, error.description))
    text = default_text
    if isinstance(error, CSRFError):
        title = "Form expired"
        text = "This form expired or was not sent from this site. Reload the page and try again."
    elif getattr(error, "explicit_message", None):
        text = error.explicit_message  # set by views that raise with a message for the person
    elif code == 413:
        limit = request_body_limit() or current_app.config.get("MAX_CONTENT_LENGTH")
        if limit:
            text = (
                f"What you sent is larger than this form accepts (at most {limit / 2**20:g} MB). "
                "Nothing was saved: go back and choose a smaller file."
            )
    if _wants_json():
        return jsonify(error=title, message=text), code
    template = f"errors/{code}.html" if code in (403, 404, 500) else "errors/generic.html"
    return render_template(template, code=code, title=title, text=text), code


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _render(error)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.TimeoutError)
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
        body, code = response
        return body, code, {"Retry-After": str(DATABASE_RETRY_AFTER), "Cache-Control": "no-store"}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError())
