"""Review pages: reviewers' queues and scoring, recruiters' assignments, results and decisions.

Scoring endpoints take form fields (so the page works without JavaScript and the browser can
send pending scores with ``navigator.sendBeacon`` as the tab closes) and answer JSON when asked
(``Accept: application/json``), a redirect back otherwise.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..forms import ConfirmForm
from ..models import Invitation, ReviewAssignment, ReviewStatus, Role, Screening, User
from ..reports import services as results
from ..security import ALL_STAFF, get_in_org_or_404, roles_required
from . import services as reviewing
from .services import MANAGERS, ReviewError

bp = Blueprint("review", __name__, url_prefix="/review")

SCORERS = (Role.ADMIN, Role.RECRUITER, Role.REVIEWER)
READERS = (Role.ADMIN, Role.RECRUITER, Role.HR)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _screening(screening_id: int) -> Screening:
    screening = get_in_org_or_404(Screening, screening_id)
    if not reviewing.may_see_screening(current_user, screening):
        abort(404)
    return screening


def _candidate(candidate_id: int) -> Invitation:
    invitation = get_in_org_or_404(Invitation, candidate_id)
    if not reviewing.may_see_candidate(current_user, invitation):
        abort(404)
    return invitation


def _int(name: str, *, required: bool = True) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        if required:
            raise ReviewError(f"Missing {name.replace('_', ' ')}.")
        return None
    try:
        return int(raw)
    except ValueError:
        raise ReviewError(f"Bad {name.replace('_', ' ')}.") from None


def _back(invitation: Invitation, anchor: str = ""):
    return redirect(url_for("review.candidate", candidate_id=invitation.id) + anchor)


def _refused(error: ReviewError, invitation: Invitation):
    db.session.rollback()
    if _wants_json():
        return jsonify(ok=False, error=str(error)), 409
    flash(str(error), "danger")
    return _back(invitation)


def _saved(review, **extra):
    return jsonify(
        ok=True,
        status=review.status.value,
        my_score=review.mean_score,
        responses_scored=review.responses_scored,
        saved_at=review.updated_at.isoformat(),
        **extra,
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
    screening = _screening(screening_id)
    status = request.args.get("status", "all")
    if status not in reviewing.QUEUE_STATUSES:
        status = "all"
    sort = request.args.get("sort", "completed")
    if sort not in reviewing.QUEUE_SORTS:
        sort = "completed"
    page = request.args.get("page", 1, type=int) or 1
    result = reviewing.queue(current_user, screening, status=status, sort=sort, page=page)
    return render_template(
        "review/queue.html",
        screening=screening,
        q=result,
        status=status,
        sort=sort,
        can_manage=current_user.role in MANAGERS,
        can_read_results=current_user.role in READERS,
    )


# --- reviewer: one candidate ------------------------------------------------------------------


@bp.route("/candidates/<int:candidate_id>")
@roles_required(*ALL_STAFF)
def candidate(candidate_id: int):
    invitation = _candidate(candidate_id)
    screening = invitation.screening
    own = reviewing.own_review(current_user, invitation)
    (result,) = results.candidate_results(
        screening, [invitation], include_drafts_of=current_user.id
    )
    sees_others = reviewing.sees_others(current_user, screening, own)
    if not sees_others:
        _only_mine(result, current_user.id)
    criteria = screening.rubric.criteria if screening.rubric else []
    return render_template(
        "review/candidate.html",
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
    invitation = _candidate(candidate_id)
    try:
        response_id = _int("response_id")
        criterion_id = _int("criterion_id")
        value = _int("value", required=False)
        review = _own_for_change(invitation)
        reviewing.set_score(review, response_id, criterion_id, value)
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    if _wants_json():
        return _saved(review)
    return _back(invitation, f"#answer-{response_id}")


@bp.route("/candidates/<int:candidate_id>/overall", methods=["POST"])
@roles_required(*SCORERS)
def overall(candidate_id: int):
    """Autosave the recommendation (advance / hold / reject) and the note."""
    invitation = _candidate(candidate_id)
    try:
        review = _own_for_change(invitation)
        reviewing.set_overall(
            review, request.form.get("recommendation") or None, request.form.get("note", "")
        )
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    if _wants_json():
        return _saved(review)
    return _back(invitation, "#overall")


@bp.route("/candidates/<int:candidate_id>/save", methods=["POST"])
@roles_required(*SCORERS)
def save_all(candidate_id: int):
    """The page's form sent whole (without JavaScript): every score, recommendation and note."""
    invitation = _candidate(candidate_id)
    try:
        review = _own_for_change(invitation)
        for name, raw in request.form.items():
            if not name.startswith("score-"):
                continue
            try:
                _prefix, response_id, criterion_id = name.split("-")
                value = int(raw) if raw else None
                response_id, criterion_id = int(response_id), int(criterion_id)
            except ValueError:
                raise ReviewError("A score could not be read.") from None
            reviewing.set_score(review, response_id, criterion_id, value)
        reviewing.set_overall(
            review, request.form.get("recommendation") or None, request.form.get("note", "")
        )
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    if request.form.get("action") == "submit":
        # What was entered is saved above whatever submit says: a refusal loses nothing.
        try:
            reviewing.submit(review)
            db.session.commit()
        except ReviewError as error:
            return _refused(error, invitation)
        flash("Review submitted.", "success")
        return _after_submit(invitation)
    flash("Saved.", "success")
    return _back(invitation)


def _after_submit(invitation: Invitation):
    following = reviewing.next_candidate(current_user, invitation)
    if following:
        return redirect(url_for("review.candidate", candidate_id=following))
    return _back(invitation)


@bp.route("/candidates/<int:candidate_id>/comments", methods=["POST"])
@roles_required(*SCORERS)
def add_comment(candidate_id: int):
    invitation = _candidate(candidate_id)
    try:
        response_id = _int("response_id")
        at_ms = _int("at_ms", required=False)
        review = _own_for_change(invitation)
        comment = reviewing.add_comment(review, response_id, at_ms, request.form.get("body", ""))
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    if _wants_json():
        return _saved(
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
    return _back(invitation, f"#answer-{response_id}")


@bp.route("/candidates/<int:candidate_id>/comments/<int:comment_id>/delete", methods=["POST"])
@roles_required(*SCORERS)
def delete_comment(candidate_id: int, comment_id: int):
    invitation = _candidate(candidate_id)
    try:
        review = reviewing.own_review(current_user, invitation)
        if review is None:
            raise ReviewError("That comment is not yours to delete.")
        reviewing.delete_comment(review, comment_id)
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    if _wants_json():
        return _saved(review)
    return _back(invitation)


@bp.route("/candidates/<int:candidate_id>/submit", methods=["POST"])
@roles_required(*SCORERS)
def submit(candidate_id: int):
    invitation = _candidate(candidate_id)
    try:
        review = _own_for_change(invitation)
        reviewing.submit(review)
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    flash("Review submitted.", "success")
    return _after_submit(invitation)


@bp.route("/candidates/<int:candidate_id>/reopen", methods=["POST"])
@roles_required(*SCORERS)
def reopen(candidate_id: int):
    invitation = _candidate(candidate_id)
    try:
        review = reviewing.own_review(current_user, invitation)
        if review is None:
            raise ReviewError("You have not reviewed this candidate yet.")
        reviewing.reopen(review)
        db.session.commit()
    except ReviewError as error:
        return _refused(error, invitation)
    flash("Review reopened: it no longer counts until you submit it again.", "info")
    return _back(invitation)


# --- recruiters: assignments, results, decisions ----------------------------------------------


@bp.route("/screenings/<int:screening_id>/reviewers", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def reviewers(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    if request.method == "POST":
        try:
            reviewer = get_in_org_or_404(User, _int("reviewer_id"))
            candidate_id = _int("candidate_id", required=False)
            invitation = None
            if candidate_id is not None:
                invitation = get_in_org_or_404(Invitation, candidate_id)
            added = reviewing.assign(screening, reviewer, invitation)
            db.session.commit()
            flash(
                f"{reviewer.name} assigned." if added else f"{reviewer.name} was already assigned.",
                "success" if added else "info",
            )
        except ReviewError as error:
            db.session.rollback()
            flash(str(error), "danger")
        return redirect(url_for("review.reviewers", screening_id=screening.id))
    return render_template(
        "review/reviewers.html",
        screening=screening,
        assignments=reviewing.assignments(screening),
        progress=reviewing.progress(screening),
        candidates=results.completed_invitations(screening),
        team=reviewing.reviewers_of_org(current_user.org_id),
        confirm=ConfirmForm(),
    )


@bp.route("/assignments/<int:assignment_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def unassign(assignment_id: int):
    assignment = db.session.get(ReviewAssignment, assignment_id)
    if assignment is None:
        abort(404)
    screening = get_in_org_or_404(Screening, assignment.screening_id)
    reviewing.unassign(assignment)
    db.session.commit()
    flash("Assignment removed. Reviews already given are kept.", "info")
    return redirect(url_for("review.reviewers", screening_id=screening.id))


RESULT_SORTS = {
    "score": lambda c: (c.overall.mean is None, -(c.overall.mean or 0), c.number),
    "-score": lambda c: (c.overall.mean is None, c.overall.mean or 0, c.number),
    "spread": lambda c: (c.overall.stdev is None, -(c.overall.stdev or 0), c.number),
    "completed": lambda c: (c.completed_at, c.number),
    "number": lambda c: c.number,
}


@bp.route("/screenings/<int:screening_id>/results")
@roles_required(*READERS)
def results_view(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    data = results.screening_results(screening)
    sort = request.args.get("sort", "score")
    criterion_sort = sort.removeprefix("c")
    if sort.startswith("c") and criterion_sort.isdigit():
        cid = int(criterion_sort)
        data.candidates.sort(
            key=lambda c: (
                c.criteria.get(cid) is None or c.criteria[cid].mean is None,
                -(c.criteria[cid].mean or 0) if cid in c.criteria else 0,
                c.number,
            )
        )
    else:
        sort = sort if sort in RESULT_SORTS else "score"
        data.candidates.sort(key=RESULT_SORTS[sort])
    return render_template(
        "review/results.html",
        screening=screening,
        data=data,
        sort=sort,
        progress=reviewing.progress(screening),
        can_manage=current_user.role in MANAGERS,
        confirm=ConfirmForm(),
        outcomes=("advance", "hold", "reject"),
    )


@bp.route("/candidates/<int:candidate_id>/decision", methods=["POST"])
@roles_required(*MANAGERS)
def decide(candidate_id: int):
    invitation = get_in_org_or_404(Invitation, candidate_id)
    outcome = request.form.get("outcome", "")
    try:
        if outcome == "clear":
            reviewing.clear_decision(invitation)
            message = "Decision cleared."
        else:
            reviewing.record_decision(
                invitation, outcome, request.form.get("note", ""), current_user
            )
            message = "Decision recorded."
        db.session.commit()
        flash(message, "success")
    except ReviewError as error:
        db.session.rollback()
        flash(str(error), "danger")
    return redirect(
        url_for("review.results_view", screening_id=invitation.screening_id)
        + f"#candidate-{invitation.id}"
    )


@bp.route("/screenings/<int:screening_id>/finalise", methods=["POST"])
@roles_required(*MANAGERS)
def finalise(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    if request.form.get("reopen"):
        reviewing.reopen_decisions(screening)
        flash("Decisions reopened: reviewers may reopen their reviews again.", "info")
    else:
        reviewing.finalise_decisions(screening)
        flash("Decisions are final: reviews are locked.", "success")
    db.session.commit()
    return redirect(url_for("review.results_view", screening_id=screening.id))
