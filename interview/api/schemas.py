"""The API's one serialisation layer: marshmallow schemas that validate requests, shape
responses and write the OpenAPI document (flask-smorest reads the same classes for all three)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..models import (
    EVENT_TYPES,
    SCOPES,
    DeliveryStatus,
    EmailStatus,
    InvitationStatus,
    PageSize,
    Recommendation,
    ReportKind,
    ReportStatus,
    ScreeningStatus,
)
from ..recruiter.services import RecruitingError, normalise_candidate_email
from ..review.services import NOTE_MAX

OUTCOMES = [r.value for r in Recommendation]


def _enum(enum_cls, **kw):
    return fields.Enum(enum_cls, by_value=True, **kw)


class Strict(Schema):
    """Request bodies: an unknown field is an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class Query(Schema):
    """Query strings: an unknown parameter is an error too (a misspelt filter would otherwise
    silently list everything)."""

    class Meta:
        unknown = RAISE


# --- errors -----------------------------------------------------------------------------------


class Problem(Schema):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "Field-by-field validation messages."})


# --- screenings -------------------------------------------------------------------------------


class Level(Schema):
    score = fields.Integer(required=True)
    description = fields.String(required=True)


class Criterion(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    weight = fields.Float(required=True)
    levels = fields.Method("_levels", required=True)

    def _levels(self, criterion) -> list[dict]:
        return [{"score": n, "description": text} for n, text in criterion.levels]


class Rubric(Schema):
    name = fields.String(required=True)
    version = fields.Integer(required=True)
    criteria = fields.List(fields.Nested(Criterion), required=True)


class Question(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    prompt = fields.String(required=True)
    think_seconds = fields.Integer(required=True)
    answer_seconds = fields.Integer(required=True)
    max_retakes = fields.Integer(required=True)
    is_practice = fields.Boolean(required=True)


class Screening(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    role_description = fields.String(required=True)
    status = _enum(ScreeningStatus, required=True)
    deadline_days = fields.Integer(required=True)
    blind_review = fields.Boolean(required=True)
    anonymize_candidates = fields.Boolean(required=True)
    decisions_final = fields.Method("_final", required=True)
    created_at = fields.AwareDateTime(required=True)

    def _final(self, screening) -> bool:
        return screening.decisions_final_at is not None


class ScreeningDetail(Screening):
    questions = fields.List(fields.Nested(Question), required=True)
    rubric = fields.Nested(Rubric, allow_none=True, required=True)


class ScreeningList(Schema):
    data = fields.List(fields.Nested(Screening), required=True)


# --- invitations ------------------------------------------------------------------------------


class Invitation(Schema):
    id = fields.Integer(required=True)
    screening_id = fields.Integer(required=True)
    candidate_name = fields.String(required=True)
    candidate_email = fields.String(required=True)
    status = _enum(InvitationStatus, required=True)
    email_status = _enum(EmailStatus, required=True)
    created_at = fields.AwareDateTime(required=True)
    expires_at = fields.AwareDateTime(required=True)
    opened_at = fields.AwareDateTime(allow_none=True, required=True)
    started_at = fields.AwareDateTime(allow_none=True, required=True)
    completed_at = fields.AwareDateTime(allow_none=True, required=True)
    revoked_at = fields.AwareDateTime(allow_none=True, required=True)


class InvitationPage(Schema):
    data = fields.List(fields.Nested(Invitation), required=True)
    next_cursor = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null on the last page."},
    )


class InvitationFilter(Query):
    screening_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    status = _enum(InvitationStatus)
    email = fields.String(validate=validate.Length(min=1, max=254))
    cursor = fields.String(
        validate=validate.Regexp(r"^[1-9][0-9]{0,11}$"),
        metadata={"description": "`next_cursor` of the previous page."},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def _candidate_email(value: str) -> None:
    """The recruiting rule for a candidate's address (one rule, also used by the pages)."""
    try:
        normalise_candidate_email(value)
    except RecruitingError as error:
        raise ValidationError(str(error)) from None


class NewCandidate(Strict):
    """One row of a bulk invitation: a bad address is reported for its row, not the request."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class NewInvitation(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(
        required=True,
        validate=[validate.Length(min=1, max=254), _candidate_email],
        metadata={
            "description": "A deliverable-looking address: special-use domains (.test, "
            ".invalid, .local, .localhost, .onion, .arpa) are refused."
        },
    )
    send_email = fields.Boolean(
        load_default=True,
        metadata={"description": "Queue the invitation email (false: hand the link over)."},
    )


class BulkInvitations(Strict):
    candidates = fields.List(
        fields.Nested(NewCandidate), required=True, validate=validate.Length(min=1, max=1000)
    )
    send_email = fields.Boolean(load_default=True)


class RowProblem(Schema):
    index = fields.Integer(required=True, metadata={"description": "0-based place in the list"})
    reason = fields.String(required=True)


class BulkResult(Schema):
    invited = fields.List(fields.Nested(Invitation), required=True)
    errors = fields.List(fields.Nested(RowProblem), required=True)
    duplicates = fields.List(fields.Nested(RowProblem), required=True)


class Extend(Strict):
    expires_at = fields.AwareDateTime(required=True)


class Link(Schema):
    url = fields.String(required=True)


# --- results and decisions --------------------------------------------------------------------


class Spread(Schema):
    count = fields.Integer(required=True)
    mean = fields.Float(allow_none=True, required=True)
    minimum = fields.Float(allow_none=True, required=True)
    maximum = fields.Float(allow_none=True, required=True)
    stdev = fields.Float(allow_none=True, required=True)


class CriterionScore(Schema):
    criterion_id = fields.Integer(required=True)
    name = fields.String(required=True)
    spread = fields.Nested(Spread, required=True)


class AnswerScore(Schema):
    answer = fields.Integer(required=True, metadata={"description": "1-based scored question"})
    criterion_id = fields.Integer(required=True)
    value = fields.Integer(required=True)


class ReviewerScores(Schema):
    reviewer = fields.String(
        required=True, metadata={"description": "'Reviewer N' on a blind-reviewed screening"}
    )
    recommendation = _enum(Recommendation, allow_none=True, required=True)
    submitted_at = fields.AwareDateTime(allow_none=True, required=True)
    mean = fields.Float(allow_none=True, required=True)
    scores = fields.List(fields.Nested(AnswerScore), required=True)


class DecisionOut(Schema):
    outcome = _enum(Recommendation, required=True)
    note = fields.String(required=True)
    decided_at = fields.AwareDateTime(allow_none=True, required=True)


class Results(Schema):
    invitation_id = fields.Integer(required=True)
    status = _enum(InvitationStatus, required=True)
    candidate = fields.String(
        required=True, metadata={"description": "'Candidate N' when the screening hides names"}
    )
    completed_at = fields.AwareDateTime(allow_none=True, required=True)
    overall = fields.Nested(Spread, required=True)
    criteria = fields.List(fields.Nested(CriterionScore), required=True)
    reviewers = fields.List(fields.Nested(ReviewerScores), required=True)
    recommendations = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    decision = fields.Nested(DecisionOut, allow_none=True, required=True)


class DecisionIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(load_default="", validate=validate.Length(max=NOTE_MAX))


# --- answers ----------------------------------------------------------------------------------


class Answer(Schema):
    number = fields.Integer(required=True)
    prompt = fields.String(required=True)
    duration_ms = fields.Integer(allow_none=True, required=True)
    audio_only = fields.Boolean(required=True)
    flags = fields.List(fields.String(), required=True)
    playback_url = fields.String(allow_none=True, required=True)
    poster_url = fields.String(allow_none=True, required=True)


class Answers(Schema):
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the URLs work"})
    data = fields.List(fields.Nested(Answer), required=True)


# --- reports ----------------------------------------------------------------------------------


class ReportRequest(Strict):
    kind = _enum(ReportKind, required=True)
    screening_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    invitation_id = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1, max=2**31 - 1)
    )
    page_size = _enum(PageSize, load_default=PageSize.A4)


class Report(Schema):
    id = fields.Integer(required=True)
    kind = _enum(ReportKind, required=True)
    status = _enum(ReportStatus, required=True)
    screening_id = fields.Integer(required=True)
    invitation_id = fields.Integer(allow_none=True, required=True)
    page_size = _enum(PageSize, required=True)
    error = fields.String(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)
    finished_at = fields.AwareDateTime(allow_none=True, required=True)


# --- webhooks ---------------------------------------------------------------------------------


class Endpoint(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, required=True)
    rotating_until = fields.AwareDateTime(
        attribute="previous_secret_until", allow_none=True, required=True
    )
    created_at = fields.AwareDateTime(required=True)


class EndpointWithSecret(Endpoint):
    secret = fields.String(required=True, metadata={"description": "Shown only this once."})


class EndpointList(Schema):
    data = fields.List(fields.Nested(Endpoint), required=True)


_events = fields.List(
    fields.String(validate=validate.OneOf(EVENT_TYPES)),
    validate=validate.Length(min=1, max=len(EVENT_TYPES)),
)


class NewEndpoint(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    description = fields.String(load_default="", validate=validate.Length(max=200))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )


class EndpointChange(Strict):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    description = fields.String(validate=validate.Length(max=200))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )
    enabled = fields.Boolean()


class Delivery(Schema):
    id = fields.Integer(required=True)
    event_type = fields.String(attribute="event.type", required=True)
    msg_id = fields.String(attribute="event.msg_id", required=True)
    status = _enum(DeliveryStatus, required=True)
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(allow_none=True, required=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True, required=True)
    created_at = fields.AwareDateTime(required=True)


class DeliveryList(Schema):
    data = fields.List(fields.Nested(Delivery), required=True)


SCOPE_NAMES = list(SCOPES)
