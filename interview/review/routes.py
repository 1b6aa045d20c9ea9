"""Reviewer pages: queues (with search in the answers' transcripts) and scoring one candidate.

Scoring endpoints take form fields (so the page works without JavaScript and the browser can
send pending scores with ``navigator.sendBeacon`` as the tab closes) and answer JSON when asked
(``Accept: application/json``), a redirect back otherwise.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..forms import ConfirmForm
from ..models import Invitation, ReviewMode, ReviewStatus
from ..reports import services as results
from ..security import ALL_STAFF, roles_required
from . import answers
from . import services as reviewing
from .services import MANAGERS, ReviewError
from .web import (
    READERS,
    SCORERS,
    back,
    bp,
    candidate_or_404,
    form_int,
    refused,
    saved,
    screening_or_404,
    wants_json,
)

# --- reviewer: screenings and queue -----------------------------------------------------------


@bp.route("/")
@roles_required(*ALL_STAFF)
def index():
    screenings = reviewing.reviewable_screenings(current_user)
    pages = {s.id: reviewing.queue(current_user, s) for s in screenings}
    return render_template(
        "review/index.html",
        screenings=screenings,
        pages=pages,
        can_manage=current_user.role in MANAGERS,
    )


@bp.route("/screenings/<int:screening_id>")
@roles_required(*ALL_STAFF)
def queue(screening_id: int):
    screening = screening_or_404(screening_id)
    status = request.args.get("status", "all")
    if status not in reviewing.QUEUE_STATUSES:
        status = "all"
    sort = request.args.get("sort", "completed")
    if sort not in reviewing.QUEUE_SORTS:
        sort = "completed"
    page = request.args.get("page", 1, type=int) or 1
    result = reviewing.queue(current_user, screening, status=status, sort=sort, page=page)
    text = request.args.get("q", "").strip()[:200]
    return render_template(
        "review/queue.html",
        screening=screening,
        q=result,
        text=text,
        hits=answers.search_answers(current_user, screening, text) if text else None,
        status=status,
        sort=sort,
        can_manage=current_user.role in MANAGERS,
        can_read_results=current_user.role in READERS,
    )


# --- reviewer: one candidate ------------------------------------------------------------------


@bp.route("/candidates/<int:candidate_id>")
@roles_required(*ALL_STAFF)
def candidate(candidate_id: int):
    invitation = candidate_or_404(candidate_id)
    screening = invitation.screening
    own = reviewing.own_review(current_user, invitation)
    (result,) = results.candidate_results(
        screening, [invitation], include_drafts_of=current_user.id
    )
    sees_others = reviewing.sees_others(current_user, screening, own)
    if not sees_others:
        _only_mine(result, current_user.id)
    criteria = screening.rubric.criteria if screening.rubric else []
    mode = reviewing.review_mode(
        current_user, screening, own, reveal=request.args.get("reveal") == "1"
    )
    media = answers.answer_media(result, mode)
    if wants_json():
        return jsonify(answers.answers_json(result, media, mode))
    return render_template(
        "review/candidate.html",
        mode=mode,
        media=media,
        can_reveal=mode != ReviewMode.VIDEO and reviewing.may_reveal(current_user, own),
        invitation=invitation,
        screening=screening,
        result=result,
        criteria=criteria,
        own=own,
        mine=current_user.id,
        sees_others=sees_others,
        sees_names=reviewing.sees_names(current_user, screening),
        can_score=reviewing.may_score(current_user),
        editable=reviewing.may_score(current_user)
        and (own is None or own.status == ReviewStatus.IN_PROGRESS)
        and screening.decisions_final_at is None,
        missing=reviewing.missing_scores(own) if own else [],
        next_id=reviewing.next_candidate(current_user, invitation),
        can_manage=current_user.role in MANAGERS,
        confirm=ConfirmForm(),
    )


def _only_mine(result: results.CandidateResult, me: int) -> None:
    """Blind review: strip everything that is not the viewer's own from the figures shown."""
    result.reviewers = [r for r in result.reviewers if r.id == me]
    for response in result.responses:
        response.scores = {k: v for k, v in response.scores.items() if k == me}
        response.weighted = {k: v for k, v in response.weighted.items() if k == me}
        response.comments = [c for c in response.comments if c.reviewer_id == me]
    result.by_reviewer = {k: v for k, v in result.by_reviewer.items() if k == me}


def _own_for_change(invitation: Invitation):
    return reviewing.start_review(current_user, invitation)


@bp.route("/candidates/<int:candidate_id>/scores", methods=["POST"])
@roles_required(*SCORERS)
def score(candidate_id: int):
    """Autosave one score: response_id, criterion_id, value (1–5, or empty to clear)."""
    invitation = candidate_or_404(candidate_id)
    try:
        response_id = form_int("response_id")
        criterion_id = form_int("criterion_id")
        value = form_int("value", required=False)
        # Checked before the review exists: a refused score leaves nothing behind.
        reviewing.check_score(invitation, response_id, criterion_id, value)
        review = _own_for_change(invitation)
        reviewing.set_score(review, response_id, criterion_id, value)
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    if wants_json():
        return saved(review)
    return back(invitation, f"#answer-{response_id}")


@bp.route("/candidates/<int:candidate_id>/overall", methods=["POST"])
@roles_required(*SCORERS)
def overall(candidate_id: int):
    """Autosave the recommendation (advance / hold / reject) and the note."""
    invitation = candidate_or_404(candidate_id)
    try:
        reviewing.check_overall(request.form.get("recommendation"), request.form.get("note", ""))
        review = _own_for_change(invitation)
        reviewing.set_overall(
            review, request.form.get("recommendation") or None, request.form.get("note", "")
        )
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    if wants_json():
        return saved(review)
    return back(invitation, "#overall")


@bp.route("/candidates/<int:candidate_id>/save", methods=["POST"])
@roles_required(*SCORERS)
def save_all(candidate_id: int):
    """The page's form sent whole (without JavaScript): every score, recommendation and note."""
    invitation = candidate_or_404(candidate_id)
    try:
        scores = []
        for name, raw in request.form.items():
            if not name.startswith("score-"):
                continue
            try:
                _prefix, response_id, criterion_id = name.split("-")
                value = int(raw) if raw else None
                response_id, criterion_id = int(response_id), int(criterion_id)
            except ValueError:
                raise ReviewError("A score could not be read.") from None
            reviewing.check_score(invitation, response_id, criterion_id, value)
            scores.append((response_id, criterion_id, value))
        reviewing.check_overall(request.form.get("recommendation"), request.form.get("note", ""))
        review = _own_for_change(invitation)
        for response_id, criterion_id, value in scores:
            reviewing.set_score(review, response_id, criterion_id, value)
        reviewing.set_overall(
            review, request.form.get("recommendation") or None, request.form.get("note", "")
        )
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    if request.form.get("action") == "submit":
        # What was entered is saved above whatever submit says: a refusal loses nothing.
        try:
            reviewing.submit(review)
            db.session.commit()
        except ReviewError as error:
            return refused(error, invitation)
        flash("Review submitted.", "success")
        return _after_submit(invitation)
    flash("Saved.", "success")
    return back(invitation)


def _after_submit(invitation: Invitation):
    following = reviewing.next_candidate(current_user, invitation)
    if following:
        return redirect(url_for("review.candidate", candidate_id=following))
    return back(invitation)


@bp.route("/candidates/<int:candidate_id>/comments", methods=["POST"])
@roles_required(*SCORERS)
def add_comment(candidate_id: int):
    invitation = candidate_or_404(candidate_id)
    try:
        response_id = form_int("response_id")
        at_ms = form_int("at_ms", required=False)
        reviewing.check_comment(invitation, response_id, at_ms, request.form.get("body", ""))
        review = _own_for_change(invitation)
        comment = reviewing.add_comment(review, response_id, at_ms, request.form.get("body", ""))
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    if wants_json():
        return saved(
            review,
            comment={
                "id": comment.id,
                "response_id": comment.response_id,
                "at_ms": comment.at_ms,
                "body": comment.body,
                "reviewer": current_user.name,
                "delete_url": url_for(
                    "review.delete_comment", candidate_id=invitation.id, comment_id=comment.id
                ),
            },
        )
    return back(invitation, f"#answer-{response_id}")


@bp.route("/candidates/<int:candidate_id>/comments/<int:comment_id>/delete", methods=["POST"])
@roles_required(*SCORERS)
def delete_comment(candidate_id: int, comment_id: int):
    invitation = candidate_or_404(candidate_id)
    try:
        review = reviewing.own_review(current_user, invitation)
        if review is None:
            raise ReviewError("That comment is not yours to delete.")
        reviewing.delete_comment(review, comment_id)
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    if wants_json():
        return saved(review)
    return back(invitation)


@bp.route("/candidates/<int:candidate_id>/submit", methods=["POST"])
@roles_required(*SCORERS)
def submit(candidate_id: int):
    invitation = candidate_or_404(candidate_id)
    try:
        review = _own_for_change(invitation)
        reviewing.submit(review)
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    flash("Review submitted.", "success")
    return _after_submit(invitation)


@bp.route("/candidates/<int:candidate_id>/reopen", methods=["POST"])
@roles_required(*SCORERS)
def reopen(candidate_id: int):
    invitation = candidate_or_404(candidate_id)
    try:
        review = reviewing.own_review(current_user, invitation)
        if review is None:
            raise ReviewError("You have not reviewed this candidate yet.")
        reviewing.reopen(review)
        db.session.commit()
    except ReviewError as error:
        return refused(error, invitation)
    flash("Review reopened: it no longer counts until you submit it again.", "info")
    return back(invitation)
