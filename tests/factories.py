"""Small builders for test data (plain functions; every row goes through the real models)."""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from interview import tokens
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    Criterion,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    MediaAsset,
    Organization,
    Question,
    Response,
    Review,
    ReviewAssignment,
    Role,
    Rubric,
    Screening,
    ScreeningStatus,
    Take,
    TakeStatus,
    Transcript,
    TranscriptSegment,
    TranscriptStatus,
    User,
    utcnow,
)
from interview.transcripts import vtt

PASSWORD = "correct horse battery"


@dataclass
class OrgWithStaff:
    org: Organization
    users: dict[Role, User]
    screening: Screening
    spare: User  # an extra account that tests may change without affecting the role users
    invitation: Invitation  # a candidate who has started the screening
    token: str  # that candidate's link token
    asset: MediaAsset  # a stored poster of a candidate's take, for the media routes
    completed: Invitation  # a candidate who submitted; the REVIEWER user reviews the screening


def user(org: Organization, role: Role, email: str | None = None, name: str | None = None) -> User:
    u = User(
        organization=org,
        email=email or f"{role.value}@{org.slug}.example",
        name=name or f"{role.label} of {org.name}",
        role=role,
    )
    u.set_password(PASSWORD)
    db.session.add(u)
    return u


def screening(org: Organization, title: str = "Support Engineer") -> Screening:
    s = Screening(
        organization=org,
        title=title,
        role_description="Helps customers.",
        status=ScreeningStatus.OPEN,
    )
    s.questions = [
        Question(
            position=0,
            prompt="Practice",
            think_seconds=5,
            answer_seconds=30,
            max_retakes=3,
            is_practice=True,
        ),
        Question(
            position=1,
            prompt="Tell us about yourself",
            think_seconds=30,
            answer_seconds=60,
            max_retakes=1,
        ),
    ]
    s.rubric = Rubric(criteria=[Criterion(name="Clarity", weight=1.0)])
    db.session.add(s)
    return s


def token_key() -> str:
    return tokens.signing_key(
        current_app.config["SECRET_KEY"], current_app.config.get("INVITATION_TOKEN_KEY")
    )


def invitation(
    s: Screening,
    name: str = "Casey Candidate",
    email: str = "casey@example.com",
    *,
    started: bool = False,
    expires_in: timedelta = timedelta(days=7),
) -> tuple[Invitation, str]:
    """An invitation and its link token (optionally already started, questions snapshotted)."""
    inv = Invitation(
        org_id=s.org_id if s.org_id else s.organization.id,
        screening=s,
        candidate_name=name,
        candidate_email=email,
        expires_at=utcnow() + expires_in,
        token_hash=tokens.token_hash(tokens.new_nonce()),
    )
    db.session.add(inv)
    db.session.flush()
    inv.token_nonce = tokens.new_nonce()
    token = tokens.link_token(token_key(), inv.id, inv.token_nonce)
    inv.token_hash = tokens.token_hash(token)
    if started:
        inv.status = InvitationStatus.IN_PROGRESS
        inv.opened_at = inv.started_at = inv.consent_at = utcnow()
        inv.questions = [InterviewQuestion.snapshot(q, i) for i, q in enumerate(s.questions)]
    db.session.flush()
    return inv, token


def org_with_staff(name: str) -> OrgWithStaff:
    org = Organization(name=name, slug=name.lower())
    db.session.add(org)
    users = {role: user(org, role) for role in Role}
    spare = user(org, Role.REVIEWER, email=f"spare@{org.slug}.example", name="Spare Reviewer")
    s = screening(org)
    db.session.flush()
    inv, token = invitation(s, email=f"casey@{org.slug}.example", started=True)
    completed = completed_candidate(s, "Robin Reviewed", f"robin@{org.slug}.example")
    # Staff watch kept answers only: the poster of the completed candidate's first answer.
    answer_take = completed.questions[1].response.take
    asset = stored_asset(answer_take, AssetKind.POSTER, b"\xff\xd8 a poster \xff\xd9", "image/jpeg")
    db.session.add(ReviewAssignment(screening_id=s.id, reviewer=users[Role.REVIEWER]))
    db.session.commit()
    return OrgWithStaff(
        org=org,
        users=users,
        screening=s,
        spare=spare,
        invitation=inv,
        token=token,
        asset=asset,
        completed=completed,
    )


def completed_candidate(
    s: Screening,
    name: str = "Robin Reviewed",
    email: str | None = None,
    *,
    duration_ms: int = 42_000,
    poster: bytes | None = None,
    completed_at=None,
) -> Invitation:
    """A candidate who answered every question and submitted: one ready take + Response each.

    ``poster`` (JPEG bytes) is stored as each answer's poster frame when given.
    """
    db.session.flush()
    now = completed_at or utcnow()
    inv = Invitation(
        org_id=s.org_id,
        screening=s,
        candidate_name=name,
        candidate_email=email or f"{secrets.token_hex(4)}@example.com",
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        expires_at=now + timedelta(days=7),
        status=InvitationStatus.COMPLETED,
        opened_at=now,
        started_at=now,
        consent_at=now,
        completed_at=now,
    )
    inv.questions = [InterviewQuestion.snapshot(q, i) for i, q in enumerate(s.questions)]
    db.session.add(inv)
    db.session.flush()
    for question in inv.questions:
        t = Take(
            question=question,
            attempt=1,
            status=TakeStatus.READY,
            started_at=now,
            finished_at=now,
            duration_ms=duration_ms,
        )
        db.session.add(t)
        db.session.flush()
        db.session.add(Response(question_id=question.id, take_id=t.id))
        if poster is not None:
            stored_asset(t, AssetKind.POSTER, poster, "image/jpeg")
    db.session.flush()
    return inv


def scored_review(
    inv: Invitation,
    reviewer: User,
    values: list[list[int | None]],
    recommendation: str | None = "advance",
    *,
    submit: bool = True,
    note: str = "",
) -> Review:
    """``reviewer`` scores ``inv`` through the real services: ``values[answer][criterion]``."""
    from interview.reports.services import scored_responses
    from interview.review import services as reviewing

    review = reviewing.start_review(reviewer, inv)
    criteria = inv.screening.rubric.criteria
    responses = [r for r, _q in scored_responses([inv.id])]
    for response, row in zip(responses, values, strict=True):
        for criterion, value in zip(criteria, row, strict=True):
            if value is not None:
                reviewing.set_score(review, response.id, criterion.id, value)
    reviewing.set_overall(review, recommendation, note)
    if submit:
        reviewing.submit(review)
    db.session.flush()
    return review


def take(
    s: Screening,
    *,
    answer_seconds: int = 60,
    extra_answer_seconds: int = 0,
    extra_time_percent: int = 0,
    audio_only: bool = False,
    status: TakeStatus = TakeStatus.RECORDING,
) -> Take:
    """A candidate's take at one interview question of screening ``s`` (a new invitation)."""
    db.session.flush()
    invitation = Invitation(
        org_id=s.org_id,
        screening=s,
        candidate_name="Casey Candidate",
        candidate_email=f"casey-{secrets.token_hex(4)}@example.com",
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        expires_at=utcnow() + timedelta(days=7),
        extra_answer_seconds=extra_answer_seconds,
        extra_time_percent=extra_time_percent,
        audio_only_allowed=audio_only,
        # A take exists, so this candidate has started.
        status=InvitationStatus.IN_PROGRESS,
        opened_at=utcnow(),
        started_at=utcnow(),
    )
    question = InterviewQuestion(
        invitation=invitation,
        position=1,
        prompt="Tell us about yourself",
        think_seconds=30,
        answer_seconds=answer_seconds,
        max_retakes=1,
    )
    t = Take(question=question, attempt=1, status=status, audio_only=audio_only)
    db.session.add_all([invitation, question, t])
    db.session.flush()
    return t


def keep_as_answer(t: Take, *, completed: bool = True) -> Take:
    """Make ``t`` its question's kept answer (a Response), the candidate done if ``completed``:
    what staff may watch."""
    db.session.add(Response(question_id=t.question_id, take_id=t.id))
    if completed:
        invitation = t.question.invitation
        invitation.status = InvitationStatus.COMPLETED
        invitation.completed_at = utcnow()
    db.session.flush()
    return t


def stored_asset(t: Take, kind: AssetKind, data: bytes, content_type: str) -> MediaAsset:
    """An asset of take ``t`` whose bytes are really in the app's storage."""
    org_id = t.question.invitation.org_id
    key = f"orgs/{org_id}/takes/{t.id}/{secrets.token_hex(16)}"
    get_storage().save(key, io.BytesIO(data))
    asset = MediaAsset(
        org_id=org_id,
        take_id=t.id,
        kind=kind,
        storage_key=key,
        content_type=content_type,
        size_bytes=len(data),
        checksum_sha256=hashlib.sha256(data).hexdigest(),
    )
    db.session.add(asset)
    db.session.flush()
    return asset


def transcribed(take: Take, lines: list[tuple[int, int, str]], *, language: str = "en"):
    """A ready transcript of ``take`` written directly (no model): segments, captions and, for a
    video answer, the sound-alone asset. For tests of what reads transcripts."""
    org_id = take.question.invitation.org_id
    transcript = Transcript(
        org_id=org_id,
        take_id=take.id,
        status=TranscriptStatus.READY,
        language=language,
        text=" ".join(text for _s, _e, text in lines),
        duration_ms=take.duration_ms,
    )
    db.session.add(transcript)
    db.session.flush()
    for position, (start, end, text) in enumerate(lines):
        db.session.add(
            TranscriptSegment(
                transcript_id=transcript.id,
                org_id=org_id,
                position=position,
                start_ms=start,
                end_ms=end,
                text=text,
                words=[],
            )
        )
    cues = [vtt.Cue(s / 1000, e / 1000, text) for s, e, text in lines]
    captions = stored_asset(take, AssetKind.CAPTIONS, vtt.render(cues).encode(), "text/vtt")
    transcript.captions_asset_id = captions.id
    if not take.audio_only:
        stored_asset(take, AssetKind.AUDIO, b"\x00" * 64, "audio/mp4")
    db.session.flush()
    return transcript
