"""Recruiters' review pages: assignments, results (agreement per review mode) and decisions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..forms import ConfirmForm
from ..models import Invitation, ReviewAssignment, Screening, User
from ..reports import services as results
from ..security import get_in_org_or_404, roles_required
from . import services as reviewing
from .services import MANAGERS, ReviewError
from .web import READERS, bp, form_int

# --- recruiters: assignments, results, decisions ----------------------------------------------


@bp.route("/screenings/<int:screening_id>/reviewers", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def reviewers(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    if request.method == "POST":
        try:
            reviewer = get_in_org_or_404(User, form_int("reviewer_id"))
            candidate_id = form_int("candidate_id", required=False)
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
