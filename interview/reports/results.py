"""What a screening's results are made of: plain records (candidates, their kept answers,
reviewers, comments, criteria, agreement) that ``services`` fills in from the database and the
pages, PDFs and CSV read. Only figures derived from other fields are computed here, with
``scoring``'s functions, as everywhere else."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ..models import Recommendation, ReviewStatus
from . import scoring


@dataclass(frozen=True)
class CriterionInfo:
    id: int
    name: str
    weight: float
    description: str = ""


@dataclass
class ReviewerInfo:
    id: int
    name: str
    status: ReviewStatus
    recommendation: Recommendation | None
    note: str
    submitted_at: datetime | None
    mean: float | None = None
    mode: str = "video"  # the review mode the review was submitted in


@dataclass
class CommentInfo:
    id: int
    reviewer_id: int
    reviewer_name: str
    at_ms: int | None
    body: str
    created_at: datetime


@dataclass
class ResponseResult:
    response_id: int
    number: int  # 1-based among the scored questions
    prompt: str
    duration_ms: int | None
    flags: list[str]
    uploaded_late: bool
    video_asset_id: int | None
    poster_asset_id: int | None
    audio_only: bool
    take_id: int | None = None
    # scores[reviewer_id][criterion_id] = value
    scores: dict[int, dict[int, int]] = field(default_factory=dict)
    weighted: dict[int, float | None] = field(default_factory=dict)
    comments: list[CommentInfo] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        return scoring.spread(self.weighted.values()).mean


@dataclass
class CandidateResult:
    invitation_id: int
    number: int  # stable per screening: "Candidate 7" when names are hidden
    name: str
    email: str
    invited_at: datetime | None
    completed_at: datetime | None
    decision: Recommendation | None
    decision_note: str
    decided_by: str | None
    decided_at: datetime | None
    reviewers: list[ReviewerInfo]
    responses: list[ResponseResult]
    overall: scoring.Spread
    by_reviewer: dict[int, float | None]
    criteria: dict[int, scoring.Spread]
    recommendations: Counter[Recommendation]
    drafts: int  # reviews started but not submitted

    @property
    def label(self) -> str:
        return f"Candidate {self.number}"

    def display_name(self, anonymised: bool) -> str:
        return self.label if anonymised else self.name


@dataclass
class ModeAgreement:
    mode: str
    reviews: int
    alpha: float | None
    agreement: str
    scored_units: int


@dataclass
class ScreeningResults:
    screening_id: int
    title: str
    anonymised: bool
    blind: bool
    criteria: list[CriterionInfo]
    candidates: list[CandidateResult]
    alpha: float | None
    agreement: str
    reviewers: dict[int, str]
    scored_units: int = 0
    # Agreement among reviews submitted in each review mode (video, audio, transcript).
    by_mode: list[ModeAgreement] = field(default_factory=list)

    def criterion_average(self, criterion_id: int) -> scoring.Spread:
        """Every submitted score given on one criterion, across all candidates."""
        values: list[float] = []
        for candidate in self.candidates:
            for response in candidate.responses:
                values.extend(
                    per[criterion_id] for per in response.scores.values() if criterion_id in per
                )
        return scoring.spread(values)
