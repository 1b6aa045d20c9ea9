"""Data requests: the candidate's "your data" link, deletion requests, legal holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import audit, tokens
from ..extensions import db
from ..models import (
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Invitation,
    Organization,
    User,
    utcnow,
)

REASON_MAX = 500


class RequestRefused(Exception):
    """A request a rule refuses; the message is shown to the person."""


# --- the "your data" link ---------------------------------------------------------------------


def _key() -> str:
    return tokens.signing_key(
        current_app.config["SECRET_KEY"], current_app.config.get("INVITATION_TOKEN_KEY")
    )


def data_token(invitation: Invitation) -> str | None:
    """The candidate's data link token, created on first use (None once deleted).

    Derived like the interview link (HMAC of the id and a random nonce; only the nonce and
    the token's hash are stored), with its own purpose, so it works after the interview link
    expired. Created with a conditional UPDATE: two pages racing get the same token. If the
    server key changed since (the old link is dead anyway), a new one is issued.
    """
    if invitation.deleted_at is not None:
        return None
    if invitation.data_token_nonce is not None:
        token = tokens.data_link_token(_key(), invitation.id, invitation.data_token_nonce)
        if tokens.token_hash(token) == invitation.data_token_hash:
            return token
    nonce = tokens.new_nonce()
    token = tokens.data_link_token(_key(), invitation.id, nonce)
    db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.data_token_nonce.is_(None)
            if invitation.data_token_nonce is None
            else Invitation.data_token_nonce == invitation.data_token_nonce,
        )
        .values(data_token_nonce=nonce, data_token_hash=tokens.token_hash(token))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(invitation)
    return tokens.data_link_token(_key(), invitation.id, invitation.data_token_nonce)


def data_link(invitation: Invitation, *, external: bool = False) -> str | None:
    """The path of the candidate's data link (or the full URL, for emails)."""
    token = data_token(invitation)
    if token is None:
        return None
    path = f"/my-data/{token}"
    return current_app.config["BASE_URL"].rstrip("/") + path if external else path


def resolve_data_token(token: str) -> Invitation | None:
    """The invitation behind a data link, or None (unknown links and others' are the same)."""
    if not tokens.looks_like_token(token):
        return None
    return db.session.scalar(
        sa.select(Invitation).where(Invitation.data_token_hash == tokens.token_hash(token))
    )


# --- requests --------------------------------------------------------------------------------


def window() -> timedelta:
    return timedelta(days=current_app.config["DELETION_WINDOW_DAYS"])


def pending_deletion(invitation: Invitation) -> DataRequest | None:
    return db.session.scalar(
        sa.select(DataRequest).where(
            DataRequest.invitation_id == invitation.id,
            DataRequest.kind == DataRequestKind.DELETION,
            DataRequest.status == DataRequestStatus.PENDING,
        )
    )


def latest_deletion(invitation: Invitation) -> DataRequest | None:
    return db.session.scalar(
        sa.select(DataRequest)
        .where(
            DataRequest.invitation_id == invitation.id,
            DataRequest.kind == DataRequestKind.DELETION,
        )
        .order_by(DataRequest.id.desc())
        .limit(1)
    )


def request_deletion(
    invitation: Invitation, *, by: User | None = None, reason: str = ""
) -> DataRequest:
    """Record a deletion request (idempotent: a pending one is returned as it is)."""
    if invitation.deleted_at is not None:
        raise RequestRefused("This candidate's data is already deleted.")
    existing = pending_deletion(invitation)
    if existing is not None:
        return existing
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise RequestRefused(f"The reason is too long (at most {REASON_MAX} characters).")
    now = utcnow()
    data_request = DataRequest(
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        kind=DataRequestKind.DELETION,
        requested_by="candidate" if by is None else by.role.value,
        requested_by_id=by.id if by else None,
        reason=reason,
        requested_at=now,
        due_at=now + window(),
    )
    db.session.add(data_request)
    audit.record(
        "data.deletion_requested",
        invitation,
        actor=by,
        actor_label=None if by else "candidate",
        due_at=data_request.due_at.isoformat(),
    )
    db.session.commit()
    return data_request


def record_export(invitation: Invitation, *, by: User | None = None) -> DataRequest:
    """An export is a request too (GDPR Art. 15): recorded as done at once."""
    now = utcnow()
    data_request = DataRequest(
        org_id=invitation.org_id,
        invitation_id=invitation.id,
        kind=DataRequestKind.EXPORT,
        status=DataRequestStatus.DONE,
        requested_by="candidate" if by is None else by.role.value,
        requested_by_id=by.id if by else None,
        requested_at=now,
        due_at=now + window(),
        done_at=now,
    )
    db.session.add(data_request)
    audit.record("data.exported", invitation, actor=by, actor_label=None if by else "candidate")
    db.session.commit()
    return data_request


def place_hold(invitation: Invitation, reason: str, by: User) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RequestRefused("Say why the data must be kept (for example a court order).")
    if len(reason) > REASON_MAX:
        raise RequestRefused(f"The reason is too long (at most {REASON_MAX} characters).")
    if invitation.deleted_at is not None:
        raise RequestRefused("This candidate's data is already deleted.")
    invitation.legal_hold_reason = reason
    invitation.legal_hold_at = utcnow()
    audit.record("data.hold_placed", invitation, actor=by, reason=reason)
    db.session.commit()


def lift_hold(invitation: Invitation, by: User) -> None:
    if invitation.legal_hold_reason is None:
        return
    invitation.legal_hold_reason = None
    invitation.legal_hold_at = None
    audit.record("data.hold_lifted", invitation, actor=by)
    db.session.commit()


# --- the Data requests page -----------------------------------------------------------------


@dataclass
class RequestRow:
    request: DataRequest
    invitation: Invitation
    state: str  # pending, held, done, overdue

    @property
    def overdue(self) -> bool:
        return self.state == "pending" and self.request.due_at < utcnow()


def request_rows(org: Organization, *, limit: int = 200) -> list[RequestRow]:
    rows = db.session.execute(
        sa.select(DataRequest, Invitation)
        .join(Invitation, Invitation.id == DataRequest.invitation_id)
        .where(DataRequest.org_id == org.id)
        .order_by(
            sa.case((DataRequest.status == DataRequestStatus.PENDING, 0), else_=1),
            DataRequest.requested_at.desc(),
        )
        .limit(limit)
    ).all()
    result = []
    for data_request, invitation in rows:
        if data_request.status == DataRequestStatus.DONE:
            state = "done"
        elif invitation.legal_hold_reason is not None:
            state = "held"
        else:
            state = "pending"
        result.append(RequestRow(data_request, invitation, state))
    return result


def held(org: Organization) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.org_id == org.id, Invitation.legal_hold_reason.is_not(None))
            .order_by(Invitation.legal_hold_at)
        )
    )
