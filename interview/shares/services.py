"""Share links: one candidate or a shortlist shown to a hiring manager without an account.

Rules:
- The link carries a 256-bit token; only its SHA-256 is stored. It expires (1–90 days) and can be
  revoked; an unknown, revoked or expired link shows the same "no longer available" page.
- An optional passcode is stored hashed (scrypt) and its attempts are rate limited.
- View only: the candidates' kept answers (transcripts when they exist), their scores only if
  the person sharing ticked it, downloads only if allowed. Only completed candidates of the
  screening the link names can be in it; nothing else of the organisation is reachable.
- Every view and every playback is an audit event naming the link.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db
from ..media.services import kept_answer_invitation
from ..models import (
    AssetKind,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Screening,
    ShareLink,
    User,
    accounts,
    utcnow,
)
from ..reports import documents
from ..reports import services as results

MAX_DAYS = 90
PASSCODE_MIN = 4
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)


class ShareError(Exception):
    """A share was refused; the message is safe to show."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    screening: Screening,
    invitation_ids: list[int],
    by: User,
    *,
    recipient: str = "",
    days: int | None = None,
    passcode: str = "",
    show_scores: bool = False,
    allow_download: bool = False,
) -> tuple[ShareLink, str]:
    """Make a link for completed candidates of ``screening``; returns it and its token (shown
    once: the link cannot be rebuilt from the database). Commits."""
    days = days or current_app.config["SHARE_LINK_DAYS"]
    if not 1 <= days <= MAX_DAYS:
        raise ShareError(f"A link lasts 1 to {MAX_DAYS} days.")
    wanted = set(invitation_ids)
    if not wanted:
        raise ShareError("Choose at least one candidate to share.")
    candidates = list(
        db.session.scalars(
            sa.select(Invitation).where(
                Invitation.id.in_(wanted),
                Invitation.screening_id == screening.id,
                Invitation.org_id == screening.org_id,
                Invitation.status == InvitationStatus.COMPLETED,
            )
        )
    )
    if len(candidates) != len(wanted):
        raise ShareError("Only candidates of this screening who completed the interview.")
    passcode = (passcode or "").strip()
    if passcode and len(passcode) < PASSCODE_MIN:
        raise ShareError(f"A passcode has at least {PASSCODE_MIN} characters.")
    token = secrets.token_urlsafe(32)
    share = ShareLink(
        org_id=screening.org_id,
        screening_id=screening.id,
        created_by_id=by.id,
        recipient=(recipient or "").strip()[:200],
        token_hash=_hash(token),
        passcode_hash=generate_password_hash(passcode, method=accounts.PASSWORD_METHOD)
        if passcode
        else None,
        show_scores=show_scores,
        allow_download=allow_download,
        expires_at=utcnow() + timedelta(days=days),
        candidates=candidates,
    )
    db.session.add(share)
    db.session.flush()
    audit.record(
        "share.created",
        share,
        actor=by,
        candidates=sorted(wanted),
        days=days,
        passcode=bool(passcode),
        show_scores=show_scores,
        allow_download=allow_download,
    )
    db.session.commit()
    return share, token


def revoke(share: ShareLink, by: User) -> None:
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        audit.record("share.revoked", share, actor=by)
    db.session.commit()


def of_screening(screening: Screening) -> list[ShareLink]:
    return list(
        db.session.scalars(
            sa.select(ShareLink)
            .where(ShareLink.screening_id == screening.id)
            .order_by(ShareLink.created_at.desc())
        )
    )


def is_live(share: ShareLink) -> bool:
    return share.revoked_at is None and share.expires_at > utcnow()


def resolve(token: str) -> ShareLink | None:
    """The live share a token opens, or None (unknown, revoked and expired look the same)."""
    if len(token) != TOKEN_LENGTH:
        return None
    share = db.session.scalar(sa.select(ShareLink).where(ShareLink.token_hash == _hash(token)))
    if share is None or not is_live(share):
        return None
    return share


def check_passcode(share: ShareLink, passcode: str) -> bool:
    ok = share.passcode_hash is not None and check_password_hash(share.passcode_hash, passcode)
    audit.record(
        "share.passcode_ok" if ok else "share.passcode_wrong",
        share,
        actor_label=label(share),
        org_id=share.org_id,
    )
    db.session.commit()
    return ok


def label(share: ShareLink) -> str:
    """How the audit log names someone using the link."""
    who = share.recipient or "no recipient named"
    return f"share link {share.id} ({who})"


# --- what the link shows ----------------------------------------------------------------------


@dataclass
class SharedCandidate:
    result: results.CandidateResult
    name: str
    reviewers: dict[int, str]


def record_view(share: ShareLink) -> None:
    share.view_count += 1
    share.last_viewed_at = utcnow()
    audit.record("share.viewed", share, actor_label=label(share), org_id=share.org_id)
    db.session.commit()


def shown(share: ShareLink) -> list[SharedCandidate]:
    """The shared candidates, named as the reports name them (hidden names stay hidden)."""
    screening = db.session.get(Screening, share.screening_id)
    candidates = [c for c in share.candidates if c.status == InvitationStatus.COMPLETED]
    found = results.candidate_results(screening, candidates, with_comments=False)
    name = documents.candidate_name(screening)
    reviewers = documents.reviewer_labels(screening) if share.show_scores else {}
    return [SharedCandidate(r, name(r), reviewers) for r in found]


def asset_in_share(share: ShareLink, asset_id: int) -> MediaAsset | None:
    """An answer's video or poster, only if it belongs to a candidate in this share."""
    if not 0 < asset_id < 2**31:
        return None
    asset = db.session.get(MediaAsset, asset_id)
    if asset is None or asset.org_id != share.org_id or asset.take_id is None:
        return None
    if asset.kind not in (AssetKind.MP4, AssetKind.POSTER):
        return None
    invitation = kept_answer_invitation(asset.take_id)
    if invitation is None or invitation.id not in {c.id for c in share.candidates}:
        return None
    return asset
