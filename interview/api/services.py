"""API rules: keys (made, checked, revoked), idempotent POSTs, short-lived playback tokens.

Everything an integration *does* (invite, decide, request a report...) goes through the same
services the pages call; this module only knows who is calling and how to replay a response.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import audit
from ..extensions import db
from ..models import (
    SCOPES,
    ApiKey,
    IdempotentRequest,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    User,
    utcnow,
)
from ..reports import documents, scoring
from ..reports import services as results

KEY_PREFIX = "ivk_"
# last_used_at is written at most this often per key (a busy integration is not a write per call).
LAST_USED_EVERY = timedelta(minutes=1)
# Stored responses to POSTs are replayed for a day.
IDEMPOTENCY_TTL = timedelta(hours=24)


class ApiKeyError(Exception):
    """A key could not be made; the message is safe to show."""


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    scopes = sorted({s.strip().lower() for s in items if s.strip()} | {"read"})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"Unknown scope {', '.join(unknown)}; choose from {', '.join(SCOPES)}.")
    return scopes


def create_key(org: Organization, name: str, scopes: str | list[str], by: User | None) -> str:
    """Make a key and return it in clear (the only time it exists outside the caller). Commits."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ApiKeyError("Give the key a name of at most 100 characters.")
    chosen = parse_scopes(scopes)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)  # 256 bits
    key = ApiKey(
        org_id=org.id,
        name=name,
        prefix=raw[:12],
        key_hash=_hash(raw),
        scopes=chosen,
        created_by_id=by.id if by else None,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        "api_key.created",
        key,
        actor=by,
        org_id=org.id,
        name=name,
        scopes=chosen,
        actor_label=None if by else "cli",
    )
    db.session.commit()
    return raw


def revoke_key(key: ApiKey, by: User | None) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record("api_key.revoked", key, actor=by, org_id=key.org_id, name=key.name)
    db.session.commit()


def org_keys(org_id: int) -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at.desc())
        )
    )


def key_for(raw: str | None) -> ApiKey | None:
    """The live key a caller presented, or None (unknown, revoked, malformed)."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 100:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == _hash(raw)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
        db.session.execute(sa.update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        db.session.commit()
    return key


def actor_label(key: ApiKey) -> str:
    """How the audit log names what a key did."""
    return f"api key {key.prefix}… ({key.name})"


# --- idempotency ------------------------------------------------------------------------------


@dataclass
class Replay:
    status_code: int
    body: Any


class IdempotencyConflict(Exception):
    """Same key, different request (422) or the first request still running (409)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def begin_idempotent(key: ApiKey, idem_key: str, print_: str) -> Replay | IdempotentRequest:
    """Claim ``idem_key`` for this request, or return the response stored for it."""
    if not idem_key or len(idem_key) > 255:
        raise IdempotencyConflict(400, "An Idempotency-Key is 1 to 255 characters.")
    row = db.session.scalar(
        sa.select(IdempotentRequest).where(
            IdempotentRequest.api_key_id == key.id, IdempotentRequest.key == idem_key
        )
    )
    if row is not None and row.created_at < utcnow() - IDEMPOTENCY_TTL:
        db.session.delete(row)
        db.session.commit()
        row = None
    if row is None:
        row = IdempotentRequest(api_key_id=key.id, key=idem_key, fingerprint=print_)
        db.session.add(row)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            raise IdempotencyConflict(
                409, "A request with this Idempotency-Key is still being processed."
            ) from None
        return row
    if row.fingerprint != print_:
        raise IdempotencyConflict(
            422, "This Idempotency-Key was used with a different request. Use a new key."
        )
    if row.status_code is None:
        raise IdempotencyConflict(
            409, "A request with this Idempotency-Key is still being processed."
        )
    return Replay(row.status_code, row.body)


def finish_idempotent(row_id: int, status_code: int, body: bytes) -> None:
    """Keep the response for replays; a server error frees the key for a real retry."""
    row = db.session.get(IdempotentRequest, row_id)
    if row is None:
        return
    if status_code >= 500:
        db.session.delete(row)
    else:
        row.status_code = status_code
        try:
            row.body = json.loads(body) if body else None
        except ValueError:
            row.body = None
    db.session.commit()


# --- playback tokens --------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-playback")


def playback_token(asset_id: int, key: ApiKey) -> str:
    return _serializer().dumps({"a": asset_id, "k": key.id})


def asset_for_playback(token: str) -> tuple[MediaAsset, ApiKey] | None:
    """The asset a playback token names, if the token is fresh and its key still live."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["API_PLAYBACK_URL_SECONDS"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    asset = db.session.get(MediaAsset, data.get("a"))
    key = db.session.get(ApiKey, data.get("k"))
    if asset is None or key is None or not key.is_active or asset.org_id != key.org_id:
        return None
    return asset, key


# --- what the API shows of a candidate's results ----------------------------------------------


def candidate_results(invitation: Invitation) -> dict[str, Any]:
    """Status, scores per criterion and reviewer, recommendations and the decision, named the
    way the reports name them (the data leaves the product): "Candidate N" when the screening
    hides names, "Reviewer N" when it is blind-reviewed. Submitted reviews only."""
    screening = invitation.screening
    completed = invitation.status == InvitationStatus.COMPLETED
    found = (
        results.candidate_results(screening, [invitation], with_comments=False) if completed else []
    )
    empty = scoring.spread([])
    if not found:  # not completed: no results yet
        number = results.candidate_number(invitation)
        label = f"Candidate {number}" if screening.anonymize_candidates else None
        return {
            "invitation_id": invitation.id,
            "status": invitation.status,
            "candidate": label or invitation.candidate_name,
            "completed_at": invitation.completed_at,
            "overall": empty,
            "criteria": [],
            "reviewers": [],
            "recommendations": {},
            "decision": None,
        }
    (result,) = found
    labels = documents.reviewer_labels(screening)
    names = {c.id: c.name for c in results.criteria_of(screening)}
    reviewers = []
    for reviewer in result.reviewers:
        reviewers.append(
            {
                "reviewer": labels.get(reviewer.id, "Reviewer"),
                "recommendation": reviewer.recommendation,
                "submitted_at": reviewer.submitted_at,
                "mean": reviewer.mean,
                "scores": [
                    {"answer": response.number, "criterion_id": cid, "value": value}
                    for response in result.responses
                    for cid, value in sorted(response.scores.get(reviewer.id, {}).items())
                ],
            }
        )
    return {
        "invitation_id": invitation.id,
        "status": invitation.status,
        "candidate": documents.candidate_name(screening)(result),
        "completed_at": result.completed_at,
        "overall": result.overall,
        "criteria": [
            {"criterion_id": cid, "name": names.get(cid, ""), "spread": spread}
            for cid, spread in result.criteria.items()
        ],
        "reviewers": reviewers,
        "recommendations": {r.value: n for r, n in result.recommendations.items()},
        "decision": {
            "outcome": result.decision,
            "note": result.decision_note,
            "decided_at": result.decided_at,
        }
        if result.decision
        else None,
    }


def kept_answers(invitation: Invitation) -> list[results.ResponseResult]:
    """The answers reviewers see (kept takes of scored questions), in question order."""
    found = results.candidate_results(invitation.screening, [invitation], with_comments=False)
    return found[0].responses if found else []
