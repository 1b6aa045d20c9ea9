"""Results of a screening, read from the database into plain objects (``results``) for pages
and reports.

The review pages, the compare view, the PDFs and the CSV all take their figures from here, and
here every figure comes from the pure functions in ``scoring``: one source, so a PDF can never
disagree with the page it was printed from.

Only **submitted** reviews count towards figures; a review in progress (or reopened) is a draft.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    AssetKind,
    Comment,
    Decision,
    InterviewQuestion,
    Invitation,
    InvitationStatus,
    Response,
    Review,
    ReviewStatus,
    Score,
    Screening,
    Take,
    User,
)
from . import scoring
from .results import (  # the records these rules fill in (callers name them here too)
    CandidateResult,
    CommentInfo,
    CriterionInfo,
    ModeAgreement,
    ResponseResult,
    ReviewerInfo,
    ScreeningResults,
)

# --- small look-ups ---------------------------------------------------------------------------


def criteria_of(screening: Screening) -> list[CriterionInfo]:
    if screening.rubric is None:
        return []
    return [CriterionInfo(c.id, c.name, c.weight, c.description) for c in screening.rubric.criteria]


def candidate_numbers(screening_id: int, invitation_ids: Iterable[int] | None = None) -> dict:
    """Each invitation's 1-based place in the order candidates were invited (stable)."""
    number = sa.func.row_number().over(order_by=Invitation.id).label("n")
    ranked = (
        sa.select(Invitation.id.label("id"), number)
        .where(Invitation.screening_id == screening_id)
        .subquery()
    )
    query = sa.select(ranked.c.id, ranked.c.n)
    if invitation_ids is not None:
        query = query.where(ranked.c.id.in_(list(invitation_ids)))
    return dict(db.session.execute(query).all())


def candidate_number(invitation: Invitation) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(
            Invitation.screening_id == invitation.screening_id, Invitation.id <= invitation.id
        )
    )


def scored_responses(invitation_ids: Sequence[int]) -> list[tuple[Response, InterviewQuestion]]:
    """The responses reviewers see: chosen takes of non-practice questions, in question order."""
    if not invitation_ids:
        return []
    rows = db.session.execute(
        sa.select(Response, InterviewQuestion)
        .join(InterviewQuestion, Response.question_id == InterviewQuestion.id)
        .where(
            InterviewQuestion.invitation_id.in_(invitation_ids),
            InterviewQuestion.is_practice.is_(False),
        )
        .options(selectinload(Response.take).selectinload(Take.assets))
        .order_by(InterviewQuestion.invitation_id, InterviewQuestion.position)
    ).all()
    return [(r, q) for r, q in rows]


def _asset_id(take: Take, *kinds: AssetKind) -> int | None:
    by_kind = {a.kind: a.id for a in take.assets}
    for kind in kinds:
        if kind in by_kind:
            return by_kind[kind]
    return None


# --- results ----------------------------------------------------------------------------------


def candidate_results(
    screening: Screening,
    invitations: Sequence[Invitation],
    *,
    include_drafts_of: int | None = None,
    with_comments: bool = True,
) -> list[CandidateResult]:
    """Results for ``invitations`` (all of ``screening``), in the order given.

    Figures count submitted reviews; ``include_drafts_of`` adds that one reviewer's review even
    while in progress (a reviewer always sees their own scores).
    """
    if not invitations:
        return []
    ids = [inv.id for inv in invitations]
    criteria = criteria_of(screening)
    weights = {c.id: c.weight for c in criteria}
    numbers = candidate_numbers(screening.id, ids)

    responses_by_inv: dict[int, list[ResponseResult]] = {i: [] for i in ids}
    response_index: dict[int, ResponseResult] = {}
    for response, question in scored_responses(ids):
        take = response.take
        result = ResponseResult(
            response_id=response.id,
            number=len(responses_by_inv[question.invitation_id]) + 1,
            prompt=question.prompt,
            duration_ms=take.duration_ms,
            flags=list(take.flags or []),
            uploaded_late="uploaded_late" in (take.flags or []),
            video_asset_id=_asset_id(take, AssetKind.MP4),
            poster_asset_id=_asset_id(take, AssetKind.POSTER),
            audio_only=take.audio_only,
            take_id=take.id,
        )
        responses_by_inv[question.invitation_id].append(result)
        response_index[response.id] = result

    counted = Review.status == ReviewStatus.SUBMITTED
    if include_drafts_of is not None:
        counted = sa.or_(counted, Review.reviewer_id == include_drafts_of)
    reviews = db.session.execute(
        sa.select(Review, User.name)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.invitation_id.in_(ids))
        .order_by(Review.id)
    ).all()
    reviewers_by_inv: dict[int, list[ReviewerInfo]] = {i: [] for i in ids}
    drafts: Counter[int] = Counter()
    counted_ids: set[int] = set()
    review_owner: dict[int, tuple[int, str]] = {}
    for review, name in reviews:
        mine = include_drafts_of is not None and review.reviewer_id == include_drafts_of
        if review.status != ReviewStatus.SUBMITTED and not mine:
            drafts[review.invitation_id] += 1
            continue
        counted_ids.add(review.id)
        review_owner[review.id] = (review.reviewer_id, name)
        reviewers_by_inv[review.invitation_id].append(
            ReviewerInfo(
                id=review.reviewer_id,
                name=name,
                status=review.status,
                recommendation=review.recommendation,
                note=review.note,
                submitted_at=review.submitted_at,
                mode=review.mode.value,
            )
        )

    if counted_ids:
        for review_id, response_id, criterion_id, value in db.session.execute(
            sa.select(Score.review_id, Score.response_id, Score.criterion_id, Score.value).where(
                Score.review_id.in_(counted_ids)
            )
        ):
            response = response_index.get(response_id)
            if response is None or criterion_id not in weights:
                continue
            reviewer_id = review_owner[review_id][0]
            response.scores.setdefault(reviewer_id, {})[criterion_id] = value
        if with_comments:
            for comment in db.session.scalars(
                sa.select(Comment)
                .where(Comment.review_id.in_(counted_ids))
                .order_by(Comment.response_id, sa.func.coalesce(Comment.at_ms, -1), Comment.id)
            ):
                response = response_index.get(comment.response_id)
                if response is None:
                    continue
                reviewer_id, name = review_owner[comment.review_id]
                response.comments.append(
                    CommentInfo(
                        id=comment.id,
                        reviewer_id=reviewer_id,
                        reviewer_name=name,
                        at_ms=comment.at_ms,
                        body=comment.body,
                        created_at=comment.created_at,
                    )
                )

    decisions = {
        d.invitation_id: d
        for d in db.session.scalars(
            sa.select(Decision)
            .where(Decision.invitation_id.in_(ids))
            .options(selectinload(Decision.decided_by))
        )
    }

    results: list[CandidateResult] = []
    for inv in invitations:
        responses = responses_by_inv[inv.id]
        per_reviewer: dict[int, dict[int, dict[int, int]]] = {}
        for response in responses:
            for reviewer_id, scores in response.scores.items():
                per_reviewer.setdefault(reviewer_id, {})[response.response_id] = scores
                response.weighted[reviewer_id] = scoring.weighted_score(scores, weights)
        # A viewer's own draft is shown to them, but figures count submitted reviews only.
        submitted_ids = {
            r.id for r in reviewers_by_inv[inv.id] if r.status == ReviewStatus.SUBMITTED
        }
        counted = {k: v for k, v in per_reviewer.items() if k in submitted_ids}
        overall, _ = scoring.candidate_summary(counted, weights)
        _, by_reviewer = scoring.candidate_summary(per_reviewer, weights)
        reviewers = reviewers_by_inv[inv.id]
        for reviewer in reviewers:
            reviewer.mean = by_reviewer.get(reviewer.id)
        decision = decisions.get(inv.id)
        results.append(
            CandidateResult(
                invitation_id=inv.id,
                number=numbers.get(inv.id, 0),
                name=inv.candidate_name,
                email=inv.candidate_email,
                invited_at=inv.invite_sent_at or inv.created_at,
                completed_at=inv.completed_at,
                decision=decision.outcome if decision else None,
                decision_note=decision.note if decision else "",
                decided_by=decision.decided_by.name if decision and decision.decided_by else None,
                decided_at=decision.updated_at if decision else None,
                reviewers=reviewers,
                responses=responses,
                overall=overall,
                by_reviewer=by_reviewer,
                criteria=scoring.criterion_means(counted),
                recommendations=Counter(
                    r.recommendation
                    for r in reviewers
                    if r.recommendation is not None and r.status == ReviewStatus.SUBMITTED
                ),
                drafts=drafts[inv.id],
            )
        )
    return results


def completed_invitations(screening: Screening) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.screening_id == screening.id,
                Invitation.status == InvitationStatus.COMPLETED,
                # A deleted candidate stays (as "Deleted candidate") only with kept scores.
                sa.or_(
                    Invitation.deleted_at.is_(None),
                    sa.exists().where(Review.invitation_id == Invitation.id),
                ),
            )
            .order_by(Invitation.completed_at, Invitation.id)
        )
    )


def agreement_units(
    candidates: Sequence[CandidateResult], mode: str | None = None
) -> list[list[int]]:
    """One unit per (response, criterion): the scores the reviewers gave it (only reviews
    submitted in review ``mode`` when given)."""
    units: list[list[int]] = []
    for candidate in candidates:
        included = {r.id for r in candidate.reviewers if mode is None or r.mode == mode}
        for response in candidate.responses:
            by_criterion: dict[int, list[int]] = {}
            for reviewer_id, scores in response.scores.items():
                if reviewer_id not in included:
                    continue
                for criterion_id, value in scores.items():
                    by_criterion.setdefault(criterion_id, []).append(value)
            units.extend(by_criterion.values())
    return units


def screening_results(screening: Screening, *, with_comments: bool = False) -> ScreeningResults:
    """Every completed candidate of ``screening`` with their figures, plus reviewer agreement."""
    candidates = candidate_results(
        screening, completed_invitations(screening), with_comments=with_comments
    )
    units = agreement_units(candidates)
    alpha = scoring.krippendorff_alpha_interval(units)
    reviewers = {r.id: r.name for c in candidates for r in c.reviewers}
    by_mode = []
    reviews_by_mode = Counter(r.mode for c in candidates for r in c.reviewers)
    for mode, count in sorted(reviews_by_mode.items()):
        mode_units = agreement_units(candidates, mode)
        mode_alpha = scoring.krippendorff_alpha_interval(mode_units)
        by_mode.append(
            ModeAgreement(
                mode=mode,
                reviews=count,
                alpha=mode_alpha,
                agreement=scoring.agreement_reading(mode_alpha),
                scored_units=sum(1 for unit in mode_units if len(unit) >= 2),
            )
        )
    return ScreeningResults(
        screening_id=screening.id,
        title=screening.title,
        anonymised=screening.anonymize_candidates,
        blind=screening.blind_review,
        criteria=criteria_of(screening),
        candidates=candidates,
        alpha=alpha,
        agreement=scoring.agreement_reading(alpha),
        reviewers=reviewers,
        scored_units=sum(1 for unit in units if len(unit) >= 2),
        by_mode=by_mode,
    )


def scores_fingerprint(screening_id: int, invitation_id: int | None = None) -> str:
    """Changes whenever anything a report shows about scores, comments or decisions changes."""
    inv_filter = (
        Invitation.id == invitation_id
        if invitation_id is not None
        else Invitation.screening_id == screening_id
    )
    parts = []
    for model in (Review, Score, Comment, Decision):
        if model is Review or model is Decision:
            join_on = model.invitation_id == Invitation.id
            query = sa.select(sa.func.count(model.id), sa.func.max(model.updated_at)).join(
                Invitation, join_on
            )
        else:
            query = (
                sa.select(sa.func.count(model.id), sa.func.max(model.updated_at))
                .join(Review, Review.id == model.review_id)
                .join(Invitation, Review.invitation_id == Invitation.id)
            )
        count, latest = db.session.execute(query.where(inv_filter)).one()
        parts.append(f"{count}:{latest.isoformat() if latest else '-'}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def funnel(
    screening: Screening, scope: sa.ColumnElement[bool] | None = sa.true()
) -> dict[str, int]:
    """Cumulative counts invited → opened → started → completed → reviewed (+ expired, revoked),
    for the screening page and the screening report alike; only candidates within ``scope``
    (``security.candidate_scope``: None counts nobody)."""
    keys = ("invited", "opened", "started", "completed", "reviewed", "expired", "revoked")
    if scope is None:
        return dict.fromkeys(keys, 0)
    inv = Invitation
    reviewed = (
        sa.select(Review.invitation_id)
        .where(Review.status == ReviewStatus.SUBMITTED)
        .distinct()
        .scalar_subquery()
    )
    row = db.session.execute(
        sa.select(
            sa.func.count(inv.id),
            sa.func.count(inv.opened_at),
            sa.func.count(inv.started_at),
            sa.func.count(inv.completed_at),
            sa.func.count(sa.case((inv.id.in_(reviewed), inv.id))),
            sa.func.count(sa.case((inv.status == InvitationStatus.EXPIRED, inv.id))),
            sa.func.count(sa.case((inv.status == InvitationStatus.REVOKED, inv.id))),
        ).where(inv.screening_id == screening.id, scope)
    ).one()
    return dict(zip(keys, row, strict=True))
