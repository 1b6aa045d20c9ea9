"""The hottest requests of the product without Flask's dispatch: a PATCH that appends a chunk
of a tus upload (every recorder sends one a second, per candidate), the last one included.

Under the load of issue 17 a PATCH spent about a third of its CPU in Flask's request machinery
(request context, URL matching, the before- and after-request hooks, the rate limiter's
wrapper, the response object) around work that needs none of it. This WSGI layer, in front of
the app, answers such a PATCH itself when the one-query link check (``uploads.state_for_link``)
vouches for the link and the request is the plain case: the right offset, the right content
type. It calls the same service (``uploads.append``) as the route, in an app context, and
answers with the same headers (tus, CORS, security). A final PATCH that declares the length
(``Upload-Length``: deferred-length uploads, as the recorder sends them) is answered here too,
in a request context (its audit event records the sender's address, as the route's does), and
hands the take to the finisher once its answer is sent, as the route does. Anything else (a
stale offset, a chunk that may finish an upload created with its length, a link the check
cannot vouch for, every other method) goes to the app untouched, which reads the state again
and answers as it always has; only a refusal found while the body is received (checksum, size,
storage, a lost race) is answered here, since the body is gone by then.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import partial
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask
from werkzeug.wsgi import ClosingIterator, get_input_stream

from ..errors import DATABASE_RETRY_AFTER, DATABASE_UNAVAILABLE
from ..extensions import db
from ..models import TakeStatus
from ..security import ID_MAX, fixed_headers
from . import finisher, uploads

log = logging.getLogger(__name__)

_UPLOAD_PATH = re.compile(r"/i/([^/]+)/api/uploads/([0-9]{1,10})")
_OCTETS = "application/offset+octet-stream"
_REFUSAL_TYPE = {"Content-Type": "text/html; charset=utf-8"}


def _status(code: int) -> str:
    if code == 460:
        return "460 Checksum Mismatch"  # tus's own status (checksum extension)
    return f"{code} {HTTPStatus(code).phrase}"


class UploadFastPath:
    """WSGI middleware: ``app.wsgi_app = UploadFastPath(app, app.wsgi_app)``."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        answer = None
        if (
            environ["REQUEST_METHOD"] == "PATCH"
            and environ.get("HTTP_TUS_RESUMABLE") == uploads.TUS_VERSION
            and "HTTP_X_HTTP_METHOD_OVERRIDE" not in environ
        ):
            match = _UPLOAD_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None and int(match[2]) <= ID_MAX:
                # The last byte writes an audit event, which records the request's address: a
                # final PATCH gets the request context the route would give it.
                if "HTTP_UPLOAD_LENGTH" in environ:
                    context = self.app.request_context(environ)
                else:
                    context = self.app.app_context()
                with context:
                    try:
                        answer = self._append(environ, match[1], int(match[2]))
                    finally:
                        uploads.release_connection()
        if answer is None:
            return self.wsgi_app(environ, start_response)
        code, headers, body, finished = answer
        start_response(_status(code), headers)
        if finished is None:
            return [body]
        # As the route: the finisher takes the upload once the answer is sent.
        return ClosingIterator([body], partial(finisher.finish_after_answering, self.app, finished))

    def _append(self, environ: dict, token: str, take_id: int):
        """(status, headers, body, the take to finish or None) when this PATCH is answered
        here, None for the app."""
        content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        offset = environ.get("HTTP_UPLOAD_OFFSET", "")
        declared = environ.get("HTTP_UPLOAD_LENGTH")
        if content_type != _OCTETS or not offset.isdigit():
            return None
        if declared is not None and not declared.isdigit():
            return None  # the route says what is wrong with it
        body_length = environ.get("CONTENT_LENGTH", "")
        body_length = int(body_length) if body_length.isdigit() else None
        try:
            found = uploads.state_for_link(token, take_id)
        except sa.exc.SQLAlchemyError:
            return None  # the database is away: the app answers (503), nothing was read yet
        if found is None:
            return None
        state, _language = found
        offset = int(offset)
        if state.status != TakeStatus.RECORDING or offset != state.offset:
            return None
        known = state.length
        if (
            declared is None
            and known is not None
            and (body_length is None or offset + body_length >= known)
        ):
            return None  # this body may finish an upload created with its length: the route's
        try:
            checksum = uploads.parse_checksum(environ.get("HTTP_UPLOAD_CHECKSUM"))
            new_offset, complete = uploads.append(
                state,
                get_input_stream(environ),  # ``append`` holds it to the upload's limit
                offset,
                int(declared) if declared is not None else None,
                body_length,
                checksum,
            )
        except DATABASE_UNAVAILABLE as error:
            # The claim could not be written: nothing of this chunk was kept (``append``
            # removed its object); the client sends it again, as after any 503.
            with suppress(sa.exc.SQLAlchemyError):
                db.session.rollback()
            log.error("Database unavailable on PATCH %s: %s", environ.get("PATH_INFO"), error)
            refused = uploads.TusError(
                503, "the database is briefly unavailable; resume from Upload-Offset later",
                retry_after=DATABASE_RETRY_AFTER,
            )  # fmt: skip
            return self._refusal(environ, refused)
        except uploads.TusError as refused:
            return self._refusal(environ, refused)
        own = uploads.tus_headers(uploads.offset_headers(new_offset, complete))
        return 204, self._headers(environ, own), b"", state.take_id if complete else None

    def _refusal(self, environ: dict, refused: uploads.TusError):
        message = str(refused).encode()
        own = {**uploads.refusal_headers(refused), **_REFUSAL_TYPE}
        own["Content-Length"] = str(len(message))
        return refused.status, self._headers(environ, own), message, None

    def _headers(self, environ: dict, own: dict) -> list[tuple[str, str]]:
        """The route's own headers (``uploads.tus_headers`` and the rest), then what its hooks
        add: CORS and the security headers."""
        return [
            *own.items(),
            *uploads.cors_headers(
                environ.get("HTTP_ORIGIN"),
                environ.get("PATH_INFO", ""),
                "PATCH",
                self.app.config["UPLOAD_CORS_ORIGINS"],
            ),
            *fixed_headers(self.app.config),
        ]
