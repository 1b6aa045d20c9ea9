"""Recruiting rules: screenings, questions, rubrics. The area's entry point: invitations,
reminders (``invitations``) and question videos (``prompt_videos``) are named here too, so
callers use one module.

Every function here takes rows the caller already loaded within the signed-in user's
organisation (see ``interview.security.get_in_org_or_404``) and commits its own change.
"""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import (
    Criterion,
    InvitationStatus,
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


# Imported last: these modules use RecruitingError and LIVE_STATUSES from here.
from .invitations import (  # noqa: E402,F401 (the area's entry point names them too)
    ImportResult,
    already_invited,
    candidate_link,
    check_can_invite,
    extend_deadline,
    invitation_in_screening_or_none,
    invite,
    invite_many,
    new_invitation,
    normalise_candidate_email,
    refresh_expiry,
    regenerate_link,
    resend,
    reset_question,
    revoke,
    screening_invitations,
    send_due_reminders,
    set_accommodations,
)
from .prompt_videos import (  # noqa: E402,F401 (the area's entry point names them too)
    PROMPT_VIDEO_MAX_SECONDS,
    _copy_prompt_video,  # duplicate_screening copies each question's video
    attach_prompt_video,
    discard_prompt_video,
    megabytes,
    prompt_video_limit,
    remove_prompt_video,
    set_prompt_video,
    store_prompt_video,
)
