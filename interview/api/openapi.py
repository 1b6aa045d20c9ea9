"""The OpenAPI 3.1 document (built by flask-smorest from the schemas the views validate with)
and the browsable docs page (Swagger UI, vendored from npm)."""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from ..extensions import api
from ..security import public

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")

# Every operation may answer these; each is an RFC 9457 problem document.
ERRORS = {
    "400": "Malformed request (a bad Idempotency-Key, a body that is not JSON).",
    "401": "No API key, or not a live one.",
    "403": "The key lacks the scope this operation needs.",
    "404": "No such object in the key's organisation.",
    "409": "A rule refuses this as things stand (the screening is closed, the candidate is "
    "already invited, decisions are final...), or the same Idempotency-Key is still running; "
    "`detail` says why.",
    "422": "The request did not validate (`errors` lists the fields), or an Idempotency-Key "
    "was reused with another request.",
    "429": "Too many requests for this key; see Retry-After.",
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# What ``interview.rate_limits`` writes on every API answer, and on a 429.
RATE_HEADERS = {
    "X-RateLimit-Limit": "Requests this key may make in the current window (API_RATE_LIMIT).",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the current window ends (Unix time, seconds).",
}
RETRY_AFTER = {"Retry-After": "Seconds to wait before the next request is let through."}


def _headers(described: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"description": text, "schema": {"type": "integer"}}
        for name, text in described.items()
    }


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def document() -> dict[str, Any]:
    """The spec as flask-smorest built it, plus what holds for every operation: bearer keys,
    problem documents for errors, the Idempotency-Key header on POSTs."""
    spec = copy.deepcopy(api.spec.to_dict())
    components = spec.setdefault("components", {})
    components.setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An organisation's API key (Admin → API keys, or `flask api keys create`).",
    }
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            public_route = path.startswith("/api/v1/media/")
            codes = ["404", "429"] if public_route else list(ERRORS)
            for code in codes:
                responses[code] = _problem_response(ERRORS[code])
            responses.pop("default", None)
            for code, response in responses.items():
                extra = RATE_HEADERS | (RETRY_AFTER if code == "429" else {})
                response.setdefault("headers", {}).update(_headers(extra))
            if not public_route:
                operation["security"] = [{"apiKey": []}]
            if method == "post" and not public_route:
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Retry safely: the same key with the same request gets "
                        "the first response again (for 24 hours); with another request, 422.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                )
    return spec


@bp.route("/openapi.json")
@public
def openapi_json():
    return jsonify(document())


@bp.route("/docs")
@public
def docs():
    return render_template(
        "api/docs.html", spec_url="/api/v1/openapi.json", title=current_app.config["API_TITLE"]
    )
