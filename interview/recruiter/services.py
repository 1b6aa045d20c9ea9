"""Recruiting rules: screenings, questions, rubrics, invitations, reminders, the funnel.

Every function here takes rows the caller already loaded within the signed-in user's
organisation (see ``interview.security.get_in_org_or_404``) and commits its own change.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from .. import audit, jobs, tokens
from ..extensions import db
from ..media import chunks, probe
from ..media.storage import get_storage
from ..models import (
    AssetKind,
    Criterion,
    EmailStatus,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    Question,
    Rubric,
    Score,
    Screening,
    ScreeningStatus,
    User,
    utcnow,
)
from ..models.screenings import ANSWER_SECONDS_MAX, ANSWER_SECONDS_MIN
from ..reports.services import funnel  # noqa: F401  (the screening page's funnel)
from ..transcripts import services as transcripts

# Statuses in which a candidate can still act on their link.
LIVE_STATUSES = (InvitationStatus.INVITED, InvitationStatus.OPENED, InvitationStatus.IN_PROGRESS)


class RecruitingError(Exception):
    """A change was refused; the message is safe to show to the recruiter."""


# --- screenings -------------------------------------------------------------------------------


def org_screenings(org_id: int, *, templates: bool | None = None) -> list[Screening]:
    query = sa.select(Screening).where(Screening.org_id == org_id)
    if templates is not None:
        query = query.where(Screening.is_template.is_(templates))
    return list(db.session.scalars(query.order_by(Screening.created_at.desc(), Screening.id)))


def create_screening(org: Organization, author: User, **fields) -> Screening:
    screening = Screening(organization=org, created_by=author, **fields)
    db.session.add(screening)
    db.session.flush()
    audit.record("screening.created", screening)
    db.session.commit()
    return screening


def update_screening(screening: Screening, **fields) -> None:
    for name, value in fields.items():
        setattr(screening, name, value)
    audit.record("screening.updated", screening, fields=sorted(fields))
    db.session.commit()


def open_screening(screening: Screening) -> None:
    if screening.is_template:
        raise RecruitingError("A template cannot take candidates. Create a screening from it.")
    if not screening.scored_questions:
        raise RecruitingError("Add at least one question (besides the practice one) first.")
    screening.status = ScreeningStatus.OPEN
    screening.closed_at = None
    audit.record("screening.opened", screening)
    db.session.commit()


def close_screening(screening: Screening) -> None:
    """Stop new starts; links already sent show a clear "closed" page."""
    screening.status = ScreeningStatus.CLOSED
    screening.closed_at = utcnow()
    audit.record("screening.closed", screening)
    db.session.commit()


def duplicate_screening(
    screening: Screening, author: User, *, as_template: bool = False, title: str | None = None
) -> Screening:
    """A draft copy (or a template) with the same questions and rubric, and no candidates."""
    if title is None:
        title = screening.title if screening.is_template else f"{screening.title} (copy)"
    copy = Screening(
        org_id=screening.org_id,
        created_by=author,
        title=title[:200],
        role_description=screening.role_description,
        intro=screening.intro,
        deadline_days=screening.deadline_days,
        blind_review=screening.blind_review,
        anonymize_candidates=screening.anonymize_candidates,
        language=screening.language,
        review_mode=screening.review_mode,
        answer_language=screening.answer_language,
        is_template=as_template,
        status=ScreeningStatus.DRAFT,
    )
    copy.questions = [
        Question(
            position=q.position,
            prompt=q.prompt,
            think_seconds=q.think_seconds,
            answer_seconds=q.answer_seconds,
            max_retakes=q.max_retakes,
            is_practice=q.is_practice,
        )
        for q in screening.questions
    ]
    if screening.rubric is not None:
        copy.rubric = Rubric(
            name=screening.rubric.name,
            criteria=[
                Criterion(
                    position=c.position,
                    name=c.name,
                    description=c.description,
                    weight=c.weight,
                    **{f"level_{n}": text for n, text in c.levels},
                )
                for c in screening.rubric.criteria
            ],
        )
    db.session.add(copy)
    db.session.flush()
    for original, question in zip(screening.questions, copy.questions, strict=True):
        if original.prompt_video is not None:
            question.prompt_video = _copy_prompt_video(original.prompt_video, question)
    audit.record("screening.duplicated", copy, source_id=screening.id, as_template=as_template)
    db.session.commit()
    return copy


# --- questions --------------------------------------------------------------------------------


def _renumber(screening: Screening) -> None:
    """Keep the practice question first and positions 0..n-1 without gaps."""
    ordered = sorted(screening.questions, key=lambda q: (not q.is_practice, q.position, q.id or 0))
    for index, question in enumerate(ordered):
        question.position = index
    screening.questions.sort(key=lambda q: q.position)


def _check_question(
    screening: Screening, is_practice: bool, answer_seconds: int, exclude: Question | None
) -> None:
    if not ANSWER_SECONDS_MIN <= answer_seconds <= ANSWER_SECONDS_MAX:
        raise RecruitingError(
            f"Answer time must be between {ANSWER_SECONDS_MIN} and {ANSWER_SECONDS_MAX} seconds."
        )
    if is_practice and any(q.is_practice and q is not exclude for q in screening.questions):
        raise RecruitingError("A screening has at most one practice question.")


def add_question(screening: Screening, **fields) -> Question:
    _check_question(screening, fields.get("is_practice", False), fields["answer_seconds"], None)
    question = Question(position=len(screening.questions), **fields)
    screening.questions.append(question)
    _renumber(screening)
    db.session.flush()
    audit.record("question.added", screening, question_id=question.id)
    db.session.commit()
    return question


def update_question(question: Question, **fields) -> Question:
    screening = question.screening
    _check_question(
        screening,
        fields.get("is_practice", question.is_practice),
        fields["answer_seconds"],
        question,
    )
    for name, value in fields.items():
        setattr(question, name, value)
    _renumber(screening)
    audit.record("question.updated", screening, question_id=question.id)
    db.session.commit()
    return question


def delete_question(question: Question) -> None:
    screening = question.screening
    screening.questions.remove(question)
    _renumber(screening)
    audit.record("question.deleted", screening, question_id=question.id)
    db.session.commit()


def move_question(question: Question, offset: int) -> None:
    """Move a question up (-1) or down (+1) among the non-practice questions."""
    screening = question.screening
    if question.is_practice:
        raise RecruitingError("The practice question always comes first.")
    ordered = [q for q in screening.questions if not q.is_practice]
    index = ordered.index(question)
    target = index + offset
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    base = len(screening.questions) - len(ordered)
    for position, q in enumerate(ordered, start=base):
        q.position = position
    screening.questions.sort(key=lambda q: q.position)
    audit.record("question.moved", screening, question_id=question.id, offset=offset)
    db.session.commit()


def question_in_screening_or_none(screening: Screening, question_id: int) -> Question | None:
    return next((q for q in screening.questions if q.id == question_id), None)


# --- rubric -----------------------------------------------------------------------------------


def scoring_started(screening: Screening) -> bool:
    if screening.rubric is None:
        return False
    return (
        db.session.scalar(
            sa.select(sa.func.count(Score.id))
            .join(Criterion, Score.criterion_id == Criterion.id)
            .where(Criterion.rubric_id == screening.rubric.id)
        )
        > 0
    )


def _rubric_editable(screening: Screening) -> Rubric:
    if scoring_started(screening):
        raise RecruitingError(
            "Reviewers have already scored against this rubric, so it can no longer change. "
            "Duplicate the screening to use a different rubric."
        )
    if screening.rubric is None:
        screening.rubric = Rubric(name="Rubric")
        db.session.flush()
    return screening.rubric


def add_criterion(screening: Screening, **fields) -> Criterion:
    rubric = _rubric_editable(screening)
    criterion = Criterion(position=len(rubric.criteria), **fields)
    rubric.criteria.append(criterion)
    db.session.flush()
    audit.record("criterion.added", screening, criterion_id=criterion.id)
    db.session.commit()
    return criterion


def update_criterion(criterion: Criterion, **fields) -> None:
    screening = criterion.rubric.screening
    _rubric_editable(screening)
    for name, value in fields.items():
        setattr(criterion, name, value)
    audit.record("criterion.updated", screening, criterion_id=criterion.id)
    db.session.commit()


def delete_criterion(criterion: Criterion) -> None:
    screening = criterion.rubric.screening
    rubric = _rubric_editable(screening)
    rubric.criteria.remove(criterion)
    for index, c in enumerate(rubric.criteria):
        c.position = index
    audit.record("criterion.deleted", screening, criterion_id=criterion.id)
    db.session.commit()


def criterion_in_screening_or_none(screening: Screening, criterion_id: int) -> Criterion | None:
    if screening.rubric is None:
        return None
    return next((c for c in screening.rubric.criteria if c.id == criterion_id), None)


# --- invitations ------------------------------------------------------------------------------


def _token_key() -> str:
    return tokens.signing_key(
        current_app.config["SECRET_KEY"], current_app.config.get("INVITATION_TOKEN_KEY")
    )


def candidate_link(invitation: Invitation) -> str:
    """The candidate's personal link (rebuilt from the server key; never stored).

    If the key changed since the link was made (the old link is dead anyway), a new one is
    issued, so a resend or reminder never carries a link that does not work.
    """
    token = tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    if tokens.token_hash(token) != invitation.token_hash:
        _set_new_token(invitation)
        audit.record("invitation.link_reissued", invitation, actor_label="system")
        db.session.commit()
        token = tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    return f"{current_app.config['BASE_URL'].rstrip('/')}/i/{token}"


def _set_new_token(invitation: Invitation) -> None:
    invitation.token_nonce = tokens.new_nonce()
    invitation.token_hash = tokens.token_hash(
        tokens.link_token(_token_key(), invitation.id, invitation.token_nonce)
    )


def normalise_candidate_email(raw: str) -> str:
    """A valid, normalised address, or RecruitingError with the reason."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise RecruitingError(f"not a valid email address ({error})") from error


def check_can_invite(screening: Screening) -> None:
    if screening.is_template:
        raise RecruitingError("Templates do not take candidates.")
    if screening.status != ScreeningStatus.OPEN:
        raise RecruitingError(
            "This screening is not open for candidates. Open it first."
            if screening.status == ScreeningStatus.DRAFT
            else "This screening is closed."
        )


def already_invited(screening: Screening, email: str) -> bool:
    return (
        db.session.scalar(
            sa.select(Invitation.id).where(
                Invitation.screening_id == screening.id, Invitation.candidate_email == email
            )
        )
        is not None
    )


def new_invitation(screening: Screening, name: str, email: str) -> Invitation:
    invitation = Invitation(
        org_id=screening.org_id,
        screening=screening,
        candidate_name=name.strip()[:200],
        candidate_email=email,
        expires_at=utcnow() + timedelta(days=screening.deadline_days),
        # A placeholder unique value until the id (needed for the token) exists.
        token_hash=tokens.token_hash(tokens.new_nonce()),
    )
    db.session.add(invitation)
    db.session.flush()
    _set_new_token(invitation)
    audit.record("invitation.created", invitation, email=email)
    return invitation


def invite(screening: Screening, name: str, email: str, *, send_email: bool = True) -> Invitation:
    """Invite one candidate and queue the invitation email (unless ``send_email`` is False:
    demo data, a link handed over another way)."""
    check_can_invite(screening)
    if not name.strip():
        raise RecruitingError("The candidate's name is required.")
    email = normalise_candidate_email(email)
    if already_invited(screening, email):
        raise RecruitingError(f"{email} is already invited to this screening.")
    invitation = new_invitation(screening, name, email)
    db.session.commit()
    if send_email:
        jobs.enqueue("email.invitation", invitation.id)
    return invitation


@dataclass
class ImportResult:
    invited: list[Invitation] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line number, email)


def invite_many(
    screening: Screening,
    rows: list[tuple[int, str, str]],
    *,
    send_email: bool = True,
    result: ImportResult | None = None,
) -> ImportResult:
    """Invite every good (line or index, name, email) row; bad rows and duplicates are reported
    by their number, never half-done. The API's bulk invitation uses it (the CSV import runs
    as a job: recruiter/imports.py)."""
    check_can_invite(screening)
    result = result or ImportResult()
    seen: set[str] = set()
    for line, raw_name, raw_email in rows:
        name, raw_email = (raw_name or "").strip(), (raw_email or "").strip()
        if not name:
            result.errors.append((line, "the name is empty"))
            continue
        try:
            email = normalise_candidate_email(raw_email)
        except RecruitingError as error:
            result.errors.append((line, f"{raw_email or '(empty)'}: {error}"))
            continue
        if email in seen or already_invited(screening, email):
            result.duplicates.append((line, email))
            continue
        seen.add(email)
        result.invited.append(new_invitation(screening, name, email))
    audit.record(
        "invitation.bulk",
        screening,
        invited=len(result.invited),
        errors=len(result.errors),
        duplicates=len(result.duplicates),
    )
    db.session.commit()
    if send_email:
        for invitation in result.invited:
            jobs.enqueue("email.invitation", invitation.id)
    return result


def invitation_in_screening_or_none(screening: Screening, invitation_id: int) -> Invitation | None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.screening_id != screening.id:
        return None
    return invitation


def screening_invitations(
    screening: Screening, scope: sa.ColumnElement[bool] | None = sa.true()
) -> list[Invitation]:
    """The screening's candidates within ``scope`` (``security.candidate_scope``; None: none)."""
    if scope is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(Invitation.screening_id == screening.id, scope)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def refresh_expiry(invitation: Invitation, now: datetime | None = None) -> bool:
    """Mark a live invitation expired once its deadline has passed; True if it changed."""
    now = now or utcnow()
    deadline = invitation.expires_at
    if invitation.status == InvitationStatus.IN_PROGRESS:
        # Answers recorded in time may still be uploading; the candidate page allows as much.
        deadline += timedelta(minutes=current_app.config["FINISH_GRACE_MINUTES"])
    if invitation.status in LIVE_STATUSES and deadline <= now:
        invitation.status = InvitationStatus.EXPIRED
        audit.record("invitation.expired", invitation, actor_label="system")
        return True
    return False


def _live_status(invitation: Invitation) -> InvitationStatus:
    """The status an invitation would have if its deadline had not passed."""
    if invitation.completed_at:
        return InvitationStatus.COMPLETED
    if invitation.started_at:
        return InvitationStatus.IN_PROGRESS
    if invitation.opened_at:
        return InvitationStatus.OPENED
    return InvitationStatus.INVITED


def resend(invitation: Invitation) -> None:
    if invitation.status not in LIVE_STATUSES:
        raise RecruitingError("Only a live invitation can be resent. Extend the deadline first.")
    invitation.email_status = EmailStatus.PENDING
    invitation.email_error = None
    audit.record("invitation.resent", invitation)
    db.session.commit()
    jobs.enqueue("email.invitation", invitation.id)


def extend_deadline(invitation: Invitation, new_expiry: datetime) -> None:
    if invitation.status in (InvitationStatus.REVOKED, InvitationStatus.COMPLETED):
        raise RecruitingError("This invitation is finished; its deadline cannot change.")
    if new_expiry <= utcnow():
        raise RecruitingError("The new deadline must be in the future.")
    old = invitation.expires_at
    invitation.expires_at = new_expiry
    if invitation.status == InvitationStatus.EXPIRED:
        invitation.status = _live_status(invitation)
    # A new deadline deserves a new "deadline is near" reminder.
    invitation.reminder_deadline_sent_at = None
    audit.record("invitation.extended", invitation, old=old.isoformat(), new=new_expiry.isoformat())
    db.session.commit()


def set_accommodations(invitation: Invitation, **fields) -> None:
    changes = {
        name: [getattr(invitation, name), value]
        for name, value in fields.items()
        if getattr(invitation, name) != value
    }
    for name, value in fields.items():
        setattr(invitation, name, value)
    audit.record("invitation.accommodations", invitation, **changes)
    db.session.commit()


def revoke(invitation: Invitation) -> None:
    if invitation.status == InvitationStatus.REVOKED:
        return
    invitation.status = InvitationStatus.REVOKED
    invitation.revoked_at = utcnow()
    audit.record("invitation.revoked", invitation)
    db.session.commit()


def regenerate_link(invitation: Invitation) -> str:
    """Replace the link (the old one stops working) and return the new one."""
    if invitation.status == InvitationStatus.REVOKED:
        raise RecruitingError("This invitation is revoked.")
    _set_new_token(invitation)
    audit.record("invitation.link_regenerated", invitation)
    db.session.commit()
    return candidate_link(invitation)


def reset_question(invitation: Invitation, interview_question: InterviewQuestion) -> None:
    """Let the candidate answer one question again: its takes and kept answer are removed."""
    if invitation.status == InvitationStatus.REVOKED:
        raise RecruitingError("This invitation is revoked.")
    # The recordings go for good: stored files and any upload still in flight.
    doomed_keys = [a.storage_key for t in interview_question.takes for a in t.assets]
    chunks.discard_chunks([t.id for t in interview_question.takes])
    interview_question.takes.clear()
    interview_question.response = None
    interview_question.revealed_at = None
    if invitation.status == InvitationStatus.COMPLETED:
        invitation.status = InvitationStatus.IN_PROGRESS
        invitation.completed_at = None
    audit.record("invitation.question_reset", invitation, position=interview_question.position)
    db.session.commit()
    storage = get_storage()
    for key in doomed_keys:
        storage.delete(key)


# --- funnel and reminders ---------------------------------------------------------------------


def _claim(invitation_id: int, column: sa.Column, now: datetime) -> bool:
    """Set a reminder timestamp only if still unset: at most one reminder, even with races."""
    result = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation_id, column.is_(None))
        .values({column.key: now})
    )
    return result.rowcount == 1


def send_due_reminders(now: datetime | None = None) -> dict[str, int]:
    """Queue reminders that are due; expire invitations past their deadline.

    - "start": REMINDER_START_AFTER_HOURS after the invitation, if not started yet;
    - "deadline": REMINDER_BEFORE_EXPIRY_HOURS before expiry, if not completed.
    Never after completion or revocation, at most once each.
    """
    now = now or utcnow()
    config = current_app.config
    expired = 0
    for invitation in db.session.scalars(
        sa.select(Invitation).where(
            Invitation.status.in_(LIVE_STATUSES), Invitation.expires_at <= now
        )
    ):
        expired += refresh_expiry(invitation, now)
    db.session.commit()
    open_screening_ids = sa.select(Screening.id).where(Screening.status == ScreeningStatus.OPEN)
    start_due = db.session.scalars(
        sa.select(Invitation.id).where(
            Invitation.status.in_([InvitationStatus.INVITED, InvitationStatus.OPENED]),
            Invitation.screening_id.in_(open_screening_ids),
            Invitation.reminder_start_sent_at.is_(None),
            Invitation.created_at <= now - timedelta(hours=config["REMINDER_START_AFTER_HOURS"]),
            Invitation.expires_at > now,
        )
    ).all()
    deadline_due = db.session.scalars(
        sa.select(Invitation.id).where(
            Invitation.status.in_(LIVE_STATUSES),
            Invitation.screening_id.in_(open_screening_ids),
            Invitation.reminder_deadline_sent_at.is_(None),
            Invitation.expires_at > now,
            Invitation.expires_at <= now + timedelta(hours=config["REMINDER_BEFORE_EXPIRY_HOURS"]),
        )
    ).all()
    sent = {"start": 0, "deadline": 0, "expired": expired}
    for invitation_id in start_due:
        if _claim(invitation_id, Invitation.reminder_start_sent_at, now):
            db.session.commit()
            jobs.enqueue("email.reminder_start", invitation_id)
            sent["start"] += 1
    for invitation_id in deadline_due:
        if _claim(invitation_id, Invitation.reminder_deadline_sent_at, now):
            db.session.commit()
            jobs.enqueue("email.reminder_deadline", invitation_id)
            sent["deadline"] += 1
    db.session.commit()
    return sent


# --- prompt videos ---------------------------------------------------------------------------

PROMPT_VIDEO_MAX_SECONDS = 300


def megabytes(size: int) -> str:
    """A byte limit as people read it: "100 MB"."""
    return f"{size / (1024 * 1024):g} MB"


def prompt_video_limit() -> int:
    return current_app.config["PROMPT_VIDEO_MAX_BYTES"]


# What every current browser plays natively, by container.
_PLAYABLE = {probe.MOV: ("h264",), probe.MATROSKA: ("vp8", "vp9", "av1")}


def store_prompt_video(org_id: int, upload: BinaryIO) -> MediaAsset:
    """Check a question video (MP4/H.264 or WebM/VP8/VP9, within the size and length limits)
    and put it in storage; the asset is not yet added to the session or tied to a question.

    Raises RecruitingError before anything is stored, so a refused video changes nothing.
    """
    limit = prompt_video_limit()
    with tempfile.NamedTemporaryFile(prefix="prompt-", suffix=".upload") as staged:
        size = 0
        for block in iter(lambda: upload.read(1024 * 1024), b""):
            size += len(block)
            if size > limit:
                raise RecruitingError(f"The video is larger than {megabytes(limit)}.")
            staged.write(block)
        staged.flush()
        try:
            info = probe.probe(staged.name)
        except probe.MediaRejected as error:
            raise RecruitingError(f"That file cannot be used: {error.reason}.") from error
        if info.video is None or info.video.codec not in _PLAYABLE.get(info.container, ()):
            raise RecruitingError("Upload an MP4 (H.264) or WebM (VP8/VP9) video.")
        if info.duration is not None and info.duration > PROMPT_VIDEO_MAX_SECONDS:
            raise RecruitingError("Keep the question video under 5 minutes.")
        content_type = "video/mp4" if info.container == probe.MOV else "video/webm"
        suffix = ".mp4" if info.container == probe.MOV else ".webm"
        key = f"orgs/{org_id}/questions/{secrets.token_hex(16)}{suffix}"
        get_storage().save_file(key, staged.name)
    return MediaAsset(
        org_id=org_id,
        kind=AssetKind.PROMPT_VIDEO,
        storage_key=key,
        content_type=content_type,
        size_bytes=size,
        duration_ms=int(info.duration * 1000) if info.duration else None,
        width=info.video.width,
        height=info.video.height,
        video_codec=info.video.codec,
        audio_codec=info.audio.codec if info.audio else None,
    )


def discard_prompt_video(asset: MediaAsset) -> None:
    """Delete the file of a stored video that was never attached (its question was refused)."""
    get_storage().delete(asset.storage_key)


def attach_prompt_video(question: Question, asset: MediaAsset) -> MediaAsset:
    """Make a stored video the question's. Interviews already started keep the video they were
    given; a replaced video is deleted only when no interview refers to it."""
    asset.question_id = question.id
    db.session.add(asset)
    db.session.flush()
    old = question.prompt_video
    question.prompt_video = asset
    audit.record("question.video_set", question.screening, question_id=question.id)
    db.session.commit()
    transcripts.request_for_prompt_if_enabled(asset, question.screening.answer_language)
    if old is not None:
        _delete_if_unused(old)
    return asset


def set_prompt_video(question: Question, upload: BinaryIO) -> MediaAsset:
    """Check, store and attach a video of the question being asked (RecruitingError if not)."""
    return attach_prompt_video(question, store_prompt_video(question.screening.org_id, upload))


def _copy_prompt_video(asset: MediaAsset, question: Question) -> MediaAsset:
    """A copy of the file under a new key, so each screening owns (and may delete) its own."""
    storage = get_storage()
    suffix = asset.storage_key.rsplit(".", 1)[-1]
    key = f"orgs/{asset.org_id}/questions/{secrets.token_hex(16)}.{suffix}"
    with storage.local_copy(asset.storage_key) as path:
        storage.save_file(key, path)
    copy = MediaAsset(
        org_id=asset.org_id,
        question_id=question.id,
        kind=AssetKind.PROMPT_VIDEO,
        storage_key=key,
        content_type=asset.content_type,
        size_bytes=asset.size_bytes,
        duration_ms=asset.duration_ms,
        width=asset.width,
        height=asset.height,
        video_codec=asset.video_codec,
        audio_codec=asset.audio_codec,
    )
    db.session.add(copy)
    db.session.flush()
    # Its captions are requested by the transcripts sweep (not inside this copy's transaction).
    return copy


def remove_prompt_video(question: Question) -> None:
    old = question.prompt_video
    if old is None:
        return
    question.prompt_video = None
    audit.record("question.video_removed", question.screening, question_id=question.id)
    db.session.commit()
    _delete_if_unused(old)


def _delete_if_unused(asset: MediaAsset) -> None:
    in_use = db.session.scalar(
        sa.select(sa.func.count(InterviewQuestion.id)).where(
            InterviewQuestion.prompt_video_id == asset.id
        )
    ) or db.session.scalar(
        sa.select(sa.func.count(Question.id)).where(Question.prompt_video_id == asset.id)
    )
    if in_use:
        return
    keys = [asset.storage_key, *transcripts.forget_prompt(asset)]
    db.session.delete(asset)
    db.session.commit()
    for key in keys:
        get_storage().delete(key)
