"""Candidate rules: consenting and starting an interview, its timing (reveal, record, keep,
submit). The area's entry point: what pages, API and jobs call about a candidate's link comes
from ``links`` and is named here too, so callers use one module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from .. import audit, jobs
from ..database import insert_through, write_through
from ..extensions import db
from ..media import probe
from ..models import (
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Response,
    Take,
    TakeStatus,
    utcnow,
)
from ..webhooks import services as webhooks
from .links import (  # noqa: F401 (the area's entry point names them too)
    LinkExpired,
    LinkInvalid,
    LinkProblem,
    ScreeningClosed,
    finish_grace,
    resolve,
    touch,
    usable_as_it_stands,
)


def start(invitation: Invitation, ip: str | None) -> None:
    """Consent given: snapshot the questions and begin (idempotent for a started interview).

    The snapshot means editing the screening later never changes this interview.
    """
    if invitation.status == InvitationStatus.IN_PROGRESS:
        return
    if invitation.status not in (InvitationStatus.INVITED, InvitationStatus.OPENED):
        raise LinkInvalid()
    now = utcnow()
    invitation.consent_at = now
    invitation.consent_ip = ip
    invitation.opened_at = invitation.opened_at or now
    invitation.started_at = now
    invitation.last_activity_at = now
    invitation.status = InvitationStatus.IN_PROGRESS
    invitation.questions = [
        InterviewQuestion.snapshot(q, index)
        for index, q in enumerate(invitation.screening.questions)
    ]
    audit.record("invitation.started", invitation, actor_label="candidate", consent_ip=ip)
    webhooks.emit_for_invitation(invitation, "interview.started")
    db.session.commit()


def allowed_seconds(base: int, invitation: Invitation, extra_seconds: int) -> int:
    """A time limit with the candidate's accommodations applied."""
    scaled = base * (100 + invitation.extra_time_percent) / 100
    return int(round(scaled)) + extra_seconds


def limits(invitation: Invitation, question) -> dict[str, int]:
    """Think time, answer time and retakes for one question, accommodations included."""
    return {
        "think_seconds": 0
        if question.think_seconds == 0
        else allowed_seconds(question.think_seconds, invitation, invitation.extra_think_seconds),
        "answer_seconds": allowed_seconds(
            question.answer_seconds, invitation, invitation.extra_answer_seconds
        ),
        "max_retakes": question.max_retakes + invitation.extra_retakes,
        "grace_seconds": current_app.config["TIMING_GRACE_SECONDS"],
    }


# --- the interview: reveal, record, keep, submit ------------------------------------------------


class InterviewRefused(Exception):
    """The server refuses a step of the interview; the message is safe to show the candidate."""

    def __init__(self, message: str | LazyString, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


def attempts_allowed(invitation: Invitation, question: InterviewQuestion) -> int:
    return 1 + question.max_retakes + invitation.extra_retakes


def open_reveal(question: InterviewQuestion) -> bool:
    """Revealed, and no take started for that reveal yet."""
    return question.revealed_at is not None and not any(
        take.revealed_at == question.revealed_at for take in question.takes
    )


def _recording(question: InterviewQuestion) -> Take | None:
    return next((t for t in question.takes if t.status == TakeStatus.RECORDING), None)


def question_closed(invitation: Invitation, question: InterviewQuestion) -> bool:
    """Answered (a take kept), or every attempt used with nothing left to save."""
    if question.response is not None and question.response.take.status != TakeStatus.FAILED:
        return True  # answered (a kept answer that failed processing reopens the question)
    return (
        len(question.takes) >= attempts_allowed(invitation, question)
        and not open_reveal(question)
        and not any(t.status in USABLE_TAKE for t in question.takes)
        and _recording(question) is None
    )


def current_question(invitation: Invitation) -> InterviewQuestion | None:
    """The first question still open: where a returning candidate resumes."""
    return next((q for q in invitation.questions if not question_closed(invitation, q)), None)


def _ensure_live(invitation: Invitation) -> None:
    if invitation.status == InvitationStatus.COMPLETED:
        raise InterviewRefused(
            _l("Your answers were already submitted; they can no longer change.")
        )
    if invitation.status != InvitationStatus.IN_PROGRESS:
        raise InterviewRefused(_l("Start the interview from its first page."), 403)


def _ensure_before_deadline(invitation: Invitation) -> None:
    if utcnow() >= invitation.expires_at:
        raise InterviewRefused(
            _l(
                "The deadline has passed: no new answer can start. You can still save and "
                "submit the answers you recorded."
            ),
            403,
        )


def _ensure_turn(invitation: Invitation, question: InterviewQuestion) -> None:
    current = current_question(invitation)
    if current is None or question.position != current.position:
        raise InterviewRefused(_l("Questions are answered in order; this one is not open now."))


def question_by_position(invitation: Invitation, position: int) -> InterviewQuestion:
    question = next((q for q in invitation.questions if q.position == position), None)
    if question is None:
        raise InterviewRefused(_l("There is no such question."), 404)
    return question


def _start_deadline(invitation: Invitation, question: InterviewQuestion) -> datetime | None:
    """When recording must have started for the open reveal (None: "start when ready")."""
    think = limits(invitation, question)["think_seconds"]
    if question.revealed_at is None or think == 0:
        return None
    grace = current_app.config["TIMING_GRACE_SECONDS"]
    return question.revealed_at + timedelta(seconds=think + grace)


MISSED_IN_TIME = "recording did not start in time"
STARTED_LATE = "recording started after the think time"
DISCARDED = "discarded by the candidate"

# Why a take failed is stored in English (staff read it as it is); the candidate reads it in
# their language. Reasons not listed here (none today) are shown as stored.
FAILURE_MESSAGES = {
    MISSED_IN_TIME: _l("recording did not start in time"),
    STARTED_LATE: _l("recording started after the think time"),
    DISCARDED: _l("discarded by the candidate"),
    probe.NOT_A_VIDEO: _l("not a video file"),
    probe.NO_AUDIO: _l("no audio track"),
    probe.NO_VIDEO: _l("no video track"),
    probe.TOO_LONG: _l("longer than the answer limit"),
    probe.UNDECODABLE: _l("the recording could not be decoded"),
}


def failure_message(reason: str | None) -> str | None:
    """A take's failure reason as the candidate reads it, in the page's language."""
    return str(FAILURE_MESSAGES.get(reason, reason)) if reason else reason


def _record_missed_start(question: InterviewQuestion, reason: str, now: datetime) -> None:
    """A reveal that never became a recording still uses an attempt (no unlimited think time)."""
    question.takes.append(
        Take(
            attempt=len(question.takes) + 1,
            status=TakeStatus.FAILED,
            revealed_at=question.revealed_at,
            failure_reason=reason,
            finished_at=now,
        )
    )


def reveal(invitation: Invitation, question: InterviewQuestion) -> None:
    """Show the question and start its think time (stamped here, by the server).

    Revealing again while the think time runs returns the same reveal (a reload changes
    nothing). A reveal whose start window passed unused counts as an attempt.
    """
    _ensure_live(invitation)
    _ensure_before_deadline(invitation)
    _ensure_turn(invitation, question)
    now = utcnow()
    if _recording(question) is not None:
        raise InterviewRefused(_l("An answer to this question is still being recorded."))
    if open_reveal(question):
        deadline = _start_deadline(invitation, question)
        if deadline is None or now <= deadline:
            return
        _record_missed_start(question, MISSED_IN_TIME, now)
        audit.record(
            "take.missed_start", invitation, actor_label="candidate", position=question.position
        )
    if len(question.takes) >= attempts_allowed(invitation, question):
        db.session.commit()
        raise InterviewRefused(_l("No attempts are left for this question."))
    # Written through (database.write_through): no unit of work over the loaded interview.
    write_through(question, revealed_at=now)
    write_through(invitation, last_activity_at=now)
    audit.write(
        "question.revealed",
        invitation,
        actor_label="candidate",
        position=question.position,
        attempt=len(question.takes) + 1,
    )
    db.session.commit()


ACCEPTED_TYPES = {
    "video/webm",
    "video/mp4",
    "video/x-matroska",
    "video/quicktime",
    "audio/webm",
    "audio/mp4",
    "audio/ogg",
    "audio/x-matroska",
}
USABLE_TAKE = (TakeStatus.UPLOADED, TakeStatus.PROCESSING, TakeStatus.READY)


def start_take(
    invitation: Invitation,
    question: InterviewQuestion,
    *,
    content_type: str,
    upload_length: int | None,
    audio_only: bool = False,
    upload_expires_at: datetime | None = None,
) -> Take:
    """Begin recording an attempt: refused outside the start window or the attempt budget."""
    _ensure_live(invitation)
    _ensure_before_deadline(invitation)
    _ensure_turn(invitation, question)
    now = utcnow()
    base_type = content_type.split(";")[0].strip().lower()
    if base_type not in ACCEPTED_TYPES:
        raise InterviewRefused(
            _l("Recordings of type %(type)s are not accepted.", type=base_type or "(none)"), 415
        )
    if audio_only and not invitation.audio_only_allowed:
        raise InterviewRefused(_l("Audio-only answers are not enabled for this interview."), 403)
    if upload_length is not None and upload_length > current_app.config["MAX_TAKE_BYTES"]:
        raise InterviewRefused(_l("This recording is larger than the limit."), 413)
    if not open_reveal(question):
        raise InterviewRefused(_l("Show the question before recording the answer."))
    if _recording(question) is not None:
        raise InterviewRefused(_l("An answer to this question is already being recorded."))
    deadline = _start_deadline(invitation, question)
    if deadline is not None and now > deadline:
        _record_missed_start(question, STARTED_LATE, now)
        audit.record(
            "take.refused_late",
            invitation,
            actor_label="candidate",
            position=question.position,
            late_by=(now - deadline).total_seconds(),
        )
        db.session.commit()
        raise InterviewRefused(_l("The time to start this answer ran out."), 403)
    if len(question.takes) >= attempts_allowed(invitation, question):
        raise InterviewRefused(_l("No attempts are left for this question."), 403)
    take = Take(
        attempt=len(question.takes) + 1,
        status=TakeStatus.RECORDING,
        revealed_at=question.revealed_at,
        started_at=now,
        upload_length=upload_length,
        content_type=base_type,
        audio_only=audio_only,
        upload_expires_at=upload_expires_at,
    )
    # Written through (database.insert_through, write_through): no unit of work over the
    # loaded interview. Two tabs starting at once: the second breaks (question, attempt).
    with _refused_if_raced(_l("This answer was started twice at once; reload the page.")):
        insert_through(db.session(), take, question=question)
    write_through(invitation, last_activity_at=now)
    audit.write(
        "take.started",
        invitation,
        actor_label="candidate",
        position=question.position,
        take_id=take.id,
    )
    db.session.commit()
    return take


def take_of(invitation: Invitation, take_id: int) -> Take:
    """One of this invitation's takes; anybody else's is indistinguishable from none."""
    take = db.session.get(Take, take_id)
    if take is None or take.question.invitation_id != invitation.id:
        raise InterviewRefused(_l("There is no such recording."), 404)
    return take


def keep(invitation: Invitation, take: Take) -> None:
    """The candidate keeps this take as their answer and moves on."""
    _ensure_live(invitation)
    question = take.question
    if take.status not in USABLE_TAKE:
        raise InterviewRefused(_l("This recording is not fully saved yet, so it cannot be kept."))
    if question.response is not None:
        if question.response.take.status != TakeStatus.FAILED:
            raise InterviewRefused(_l("An answer is already kept for this question."))
        # The kept answer failed processing: another saved take may replace it.
        db.session.delete(question.response)
        db.session.flush()
    question.response = Response(take=take)
    with _refused_if_raced(_l("This answer was kept twice at once; reload the page.")):
        db.session.flush()
    invitation.last_activity_at = utcnow()
    audit.record(
        "take.kept",
        invitation,
        actor_label="candidate",
        position=question.position,
        take_id=take.id,
    )
    db.session.commit()


@contextmanager
def _refused_if_raced(message: LazyString) -> Iterator[None]:
    """Two tabs racing on one step hit a unique constraint: refuse the second, no 500."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        raise InterviewRefused(message) from error


def unsaved(invitation: Invitation) -> list[InterviewQuestion]:
    """Questions whose answer is still recording or uploading."""
    return [q for q in invitation.questions if _recording(q) is not None]


def submit(invitation: Invitation) -> None:
    """Hand in the interview; nothing can change afterwards."""
    _ensure_live(invitation)
    if unsaved(invitation):
        raise InterviewRefused(_l("An answer is still being saved. Wait until it shows “saved”."))
    if current_question(invitation) is not None:
        raise InterviewRefused(_l("Some questions are not answered yet."))
    now = utcnow()
    invitation.status = InvitationStatus.COMPLETED
    invitation.completed_at = now
    invitation.last_activity_at = now
    audit.record("invitation.completed", invitation, actor_label="candidate")
    webhooks.emit_for_invitation(invitation, "interview.completed")
    db.session.commit()
    # The receipt, with the candidate's "your data" link (privacy.jobs.send_receipt).
    jobs.enqueue("email.receipt", invitation.id)
