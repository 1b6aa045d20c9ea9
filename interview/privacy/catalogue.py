"""The parts of a candidate that the core models hold: the invitation itself, answers and
their media files, reviews, decisions, data requests, audit events and emails in the outbox.

Other areas register their own parts (reports, upload chunks, transcripts...) beside their
code; these are the ones that belong to no area.
"""

from __future__ import annotations

import email.policy
import os
from collections.abc import Iterable, Sequence
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import (
    AuditEvent,
    Comment,
    DataRequest,
    Decision,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    Review,
    Score,
    Take,
    TakeStatus,
    utcnow,
)
from . import services
from .services import ErasePolicy, ExportOptions, StoredFile

DELETED_NAME = "Deleted candidate"
DELETED_DOMAIN = "deleted.invalid"  # RFC 2606: can never receive mail


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def take_ids(invitation_ids: Sequence[int]) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Take.id)
            .join(InterviewQuestion, InterviewQuestion.id == Take.question_id)
            .where(InterviewQuestion.invitation_id.in_(invitation_ids))
        )
    )


def _review_ids(invitation_ids: Sequence[int]) -> list[int]:
    return list(
        db.session.scalars(sa.select(Review.id).where(Review.invitation_id.in_(invitation_ids)))
    )


# --- the invitation: name, email, consent, IP, links ------------------------------------------


def _export_candidate(inv: Invitation, _options: ExportOptions) -> dict[str, Any]:
    columns = [c.key for c in Invitation.__table__.columns]
    hidden = {"token_nonce", "token_hash", "data_token_nonce", "data_token_hash"}
    return {
        name: _iso(getattr(inv, name))
        if not hasattr(getattr(inv, name), "value")
        else getattr(inv, name).value
        for name in columns
        if name not in hidden
    }


def _erase_candidate(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    now = utcnow()
    live = (InvitationStatus.INVITED, InvitationStatus.OPENED, InvitationStatus.IN_PROGRESS)
    # An interview still under way stops: its link no longer works and no email goes out.
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id.in_(invitation_ids), Invitation.status.in_(live))
        .values(status=InvitationStatus.REVOKED, revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id.in_(invitation_ids))
        .values(
            candidate_name=DELETED_NAME,
            candidate_email=sa.literal("deleted-")
            + sa.cast(Invitation.id, sa.String)
            + sa.literal(f"@{DELETED_DOMAIN}"),
            # A value no token hashes to: the interview link is dead for good.
            token_hash=sa.literal("deleted-") + sa.cast(Invitation.id, sa.String),
            token_nonce="",
            # The data link keeps its hash so the candidate can still read "deleted".
            data_token_nonce=None,
            consent_ip=None,
            email_error=None,
            deleted_at=now,
        )
        .execution_options(synchronize_session=False)
    )


# --- answers: takes and their media files ---------------------------------------------------


def _answer_files(invitation_ids: Sequence[int]) -> list[StoredFile]:
    ids = take_ids(invitation_ids)
    found = [
        StoredFile("storage", key)
        for key in db.session.scalars(
            sa.select(MediaAsset.storage_key).where(MediaAsset.take_id.in_(ids))
        )
    ]
    # Work folders of a media worker killed while it processed one of these answers
    # (media.services names them take-<id>-<random> in WORK_DIR); one listing per batch.
    wanted = {str(take_id) for take_id in ids}
    folder = current_app.config["WORK_DIR"]
    if not os.path.isdir(folder):
        return found
    with os.scandir(folder) as entries:
        for entry in entries:
            parts = entry.name.split("-", 2)
            if len(parts) == 3 and parts[0] == "take" and parts[1] in wanted:
                found.append(StoredFile("path", entry.path))
    return found


def _export_answers(inv: Invitation, _options: ExportOptions) -> list[dict[str, Any]]:
    answers = []
    for question in inv.questions:
        kept = question.response.take_id if question.response else None
        for take in question.takes:
            answers.append(
                {
                    "question": question.position,
                    "practice": question.is_practice,
                    "attempt": take.attempt,
                    "kept_as_answer": take.id == kept,
                    "status": take.status.value,
                    "started_at": _iso(take.started_at),
                    "finished_at": _iso(take.finished_at),
                    "bytes_received": take.bytes_received,
                    "sha256": take.checksum_sha256,
                    "content_type": take.content_type,
                    "audio_only": take.audio_only,
                    "duration_ms": take.duration_ms,
                    "flags": take.flags or [],
                    "media_summary": take.media_summary or {},
                    "failure_reason": take.failure_reason,
                    "files": [
                        {"kind": a.kind.value, "bytes": a.size_bytes, "sha256": a.checksum_sha256}
                        for a in take.assets
                    ],
                }
            )
    return answers


def _erase_answers(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    ids = take_ids(invitation_ids)
    if not ids:
        return
    db.session.execute(
        sa.delete(MediaAsset)
        .where(MediaAsset.take_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    # Takes stay as bare attempts (times, sizes) so kept scores still point somewhere; a take
    # still being processed loses its claim, so a running worker publishes nothing.
    db.session.execute(
        sa.update(Take)
        .where(Take.id.in_(ids), Take.status.in_([TakeStatus.UPLOADED, TakeStatus.PROCESSING]))
        .values(status=TakeStatus.FAILED)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Take)
        .where(Take.id.in_(ids))
        .values(
            checksum_sha256=None,
            media_summary={},
            failure_reason=None,
            claim_token=None,
            rq_job_id=None,
        )
        .execution_options(synchronize_session=False)
    )


def _asset_keys() -> Iterable[str]:
    return db.session.scalars(sa.select(MediaAsset.storage_key))


def _logo_keys() -> Iterable[str]:
    """Not about candidates, but stored files that rows point at (for the orphan scan)."""
    return db.session.scalars(
        sa.select(Organization.logo_key).where(Organization.logo_key.is_not(None))
    )


# --- reviews, comments and decisions --------------------------------------------------------


def _export_reviews(inv: Invitation, options: ExportOptions) -> dict[str, Any] | None:
    if not options.include_reviews:
        return None
    reviews = db.session.scalars(
        sa.select(Review).where(Review.invitation_id == inv.id).order_by(Review.id)
    ).all()
    out = []
    for number, review in enumerate(reviews, start=1):
        comments = db.session.scalars(
            sa.select(Comment).where(Comment.review_id == review.id).order_by(Comment.id)
        ).all()
        out.append(
            {
                # Reviewers are staff: the candidate sees what was written, not who wrote it.
                "reviewer": f"Reviewer {number}",
                "status": review.status.value,
                "recommendation": review.recommendation.value if review.recommendation else None,
                "note": review.note,
                "submitted_at": _iso(review.submitted_at),
                "scores": [
                    {
                        "question": s.response.question.position,
                        "criterion": s.criterion.name,
                        "value": s.value,
                    }
                    for s in review.scores
                ],
                "comments": [
                    {"at_ms": c.at_ms, "text": c.body, "written_at": _iso(c.created_at)}
                    for c in comments
                ],
            }
        )
    decision = db.session.scalar(sa.select(Decision).where(Decision.invitation_id == inv.id))
    return {
        "reviews": out,
        "decision": {"outcome": decision.outcome.value, "note": decision.note}
        if decision
        else None,
    }


def _erase_reviews(invitation_ids: Sequence[int], policy: ErasePolicy) -> None:
    review_ids = _review_ids(invitation_ids)
    if review_ids:
        db.session.execute(
            sa.delete(Comment)
            .where(Comment.review_id.in_(review_ids))
            .execution_options(synchronize_session=False)
        )
    if policy.keep_anonymous_scores:
        # Numbers and recommendations stay (figures); every word written about them goes.
        if review_ids:
            db.session.execute(
                sa.update(Review)
                .where(Review.id.in_(review_ids))
                .values(note="")
                .execution_options(synchronize_session=False)
            )
        db.session.execute(
            sa.update(Decision)
            .where(Decision.invitation_id.in_(invitation_ids))
            .values(note="")
            .execution_options(synchronize_session=False)
        )
        return
    if review_ids:
        db.session.execute(
            sa.delete(Score)
            .where(Score.review_id.in_(review_ids))
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.delete(Review)
            .where(Review.id.in_(review_ids))
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.delete(Decision)
        .where(Decision.invitation_id.in_(invitation_ids))
        .execution_options(synchronize_session=False)
    )


# --- audit events: kept (who did what, when), details and candidate addresses scrubbed -------


def _about(invitation_ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """Audit events about these candidates: on the invitation, its takes' media, reviews,
    comments and decision (as objects, or naming the invitation in their details)."""
    ids = list(invitation_ids)
    asset_ids = list(
        db.session.scalars(sa.select(MediaAsset.id).where(MediaAsset.take_id.in_(take_ids(ids))))
    )
    review_ids = _review_ids(ids)
    comment_ids = (
        list(db.session.scalars(sa.select(Comment.id).where(Comment.review_id.in_(review_ids))))
        if review_ids
        else []
    )
    decision_ids = list(
        db.session.scalars(sa.select(Decision.id).where(Decision.invitation_id.in_(ids)))
    )
    objects = [
        ("Invitation", ids),
        ("MediaAsset", asset_ids),
        ("Review", review_ids),
        ("Comment", comment_ids),
        ("Decision", decision_ids),
    ]
    return sa.or_(
        *(
            sa.and_(AuditEvent.object_type == kind, AuditEvent.object_id.in_(values))
            for kind, values in objects
            if values
        )
    )


def _export_audit(inv: Invitation, _options: ExportOptions) -> list[dict[str, Any]]:
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "Invitation", AuditEvent.object_id == inv.id)
        .order_by(AuditEvent.id)
    )
    return [
        {
            "at": _iso(e.created_at),
            "action": e.action,
            "by": "you"
            if e.actor_label == "candidate"
            else ("staff" if e.actor_id else e.actor_label),
            "ip": e.ip if e.actor_label == "candidate" else None,
            "details": e.details,
        }
        for e in events
    ]


def _erase_audit(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    about = _about(invitation_ids)
    db.session.execute(
        sa.update(AuditEvent)
        .where(about)
        .values(details={"redacted": "candidate data deleted"})
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(AuditEvent)
        .where(about, AuditEvent.actor_label == "candidate")
        .values(ip=None)
        .execution_options(synchronize_session=False)
    )


# --- data requests ---------------------------------------------------------------------------


def _export_requests(inv: Invitation, _options: ExportOptions) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        sa.select(DataRequest).where(DataRequest.invitation_id == inv.id).order_by(DataRequest.id)
    )
    return [
        {
            "kind": r.kind.value,
            "status": r.status.value,
            "requested_at": _iso(r.requested_at),
            "due_at": _iso(r.due_at),
            "done_at": _iso(r.done_at),
        }
        for r in rows
    ]


def _erase_requests(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    # What a candidate typed is theirs; a staff member's reason is the audit's "why".
    db.session.execute(
        sa.update(DataRequest)
        .where(
            DataRequest.invitation_id.in_(invitation_ids), DataRequest.requested_by == "candidate"
        )
        .values(reason="")
        .execution_options(synchronize_session=False)
    )


# --- emails in the development outbox -------------------------------------------------------


def outbox_files_to(addresses: set[str]) -> list[StoredFile]:
    """Outbox messages addressed to any of ``addresses`` (case-insensitive)."""
    if current_app.config.get("MAIL_BACKEND") != "outbox" or not addresses:
        return []
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    if not folder.is_dir():
        return []
    wanted = {a.lower() for a in addresses}
    parser = BytesParser(policy=email.policy.default)
    found = []
    for path in folder.glob("*.eml"):
        with open(path, "rb") as handle:
            headers = parser.parse(handle, headersonly=True)
        recipients = {addr.lower() for _n, addr in getaddresses(headers.get_all("To", []))}
        if recipients & wanted:
            found.append(StoredFile("path", str(path)))
    return found


def _outbox_files(invitation_ids: Sequence[int]) -> list[StoredFile]:
    addresses = set(
        db.session.scalars(
            sa.select(Invitation.candidate_email).where(
                Invitation.id.in_(invitation_ids), Invitation.deleted_at.is_(None)
            )
        )
    )
    return outbox_files_to(addresses)


# The core parts (other areas register theirs beside their own code).
services.register("audit events", export=_export_audit, erase=_erase_audit, order=10)
services.register("reviews", export=_export_reviews, erase=_erase_reviews, order=20)
services.register(
    "answers",
    files=_answer_files,
    export=_export_answers,
    erase=_erase_answers,
    keys=_asset_keys,
    order=30,
)
services.register("emails", files=_outbox_files, order=40)
services.register("organisation logos", keys=_logo_keys, order=45)
services.register("data requests", export=_export_requests, erase=_erase_requests, order=50)
# Last: the other parts find the candidate by their email or status before it changes.
services.register("candidate", export=_export_candidate, erase=_erase_candidate, order=1000)
