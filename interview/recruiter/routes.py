"""Screening pages: build screenings, questions and rubrics. The pages that invite and manage
candidates are in ``invitation_routes``, on the same blueprint."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from .. import mail
from ..forms import ConfirmForm
from ..models import Role, Screening, utcnow
from ..review import services as reviewing
from ..security import (
    ALL_STAFF,
    body_limit,
    candidate_scope,
    get_in_org_or_404,
    roles_required,
)
from . import services
from .forms import (
    CriterionForm,
    CsvImportForm,
    DuplicateForm,
    InviteForm,
    MoveForm,
    QuestionForm,
    ScreeningForm,
)

bp = Blueprint("recruiter", __name__, url_prefix="/screenings")

MANAGERS = (Role.ADMIN, Role.RECRUITER)
SCREENING_FIELDS = (
    "title",
    "role_description",
    "intro",
    "deadline_days",
    "blind_review",
    "anonymize_candidates",
    "language",
    "review_mode",
    "answer_language",
)
QUESTION_FIELDS = ("prompt", "think_seconds", "answer_seconds", "max_retakes", "is_practice")
CRITERION_FIELDS = (
    "name",
    "description",
    "weight",
    "level_1",
    "level_2",
    "level_3",
    "level_4",
    "level_5",
)


def _data(form, names) -> dict:
    return {name: getattr(form, name).data for name in names}


def _question(screening: Screening, question_id: int):
    question = services.question_in_screening_or_none(screening, question_id)
    if question is None:
        abort(404)
    return question


def _criterion(screening: Screening, criterion_id: int):
    criterion = services.criterion_in_screening_or_none(screening, criterion_id)
    if criterion is None:
        abort(404)
    return criterion


def _staged_video(form: QuestionForm):
    """The chosen video, checked and stored (not yet attached), or None when none was chosen.

    Called before the question changes, so a refused video leaves the question as it was.
    A form filled from the question holds its stored video (a MediaAsset) until a file is
    chosen: only a real, named upload counts; an empty file field keeps the video.
    """
    upload = form.prompt_video.data
    if isinstance(upload, FileStorage) and upload.filename:
        return services.store_prompt_video(current_user.org_id, upload.stream)
    return None


def _save_question(form: QuestionForm, change):
    """Check the video, apply ``change`` (returns the question), then attach or remove the
    video; a refusal anywhere leaves no stored file behind."""
    video = _staged_video(form)
    try:
        question = change()
    except services.RecruitingError:
        if video is not None:
            services.discard_prompt_video(video)
        raise
    if form.remove_video.data:
        services.remove_prompt_video(question)
    if video is not None:
        services.attach_prompt_video(question, video)
    return question


def _to_overview(screening: Screening, anchor: str = ""):
    return redirect(url_for("recruiter.screening", screening_id=screening.id) + anchor)


# --- screenings -------------------------------------------------------------------------------


@bp.route("/")
@roles_required(*ALL_STAFF)
def screenings():
    all_screenings = services.org_screenings(current_user.org_id)
    return render_template(
        "recruiter/screenings.html",
        screenings=[s for s in all_screenings if not s.is_template],
        templates=[s for s in all_screenings if s.is_template],
        can_manage=current_user.role in MANAGERS,
        confirm=ConfirmForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_screening():
    form = ScreeningForm()
    if form.validate_on_submit():
        screening = services.create_screening(
            current_user.organization, current_user, **_data(form, SCREENING_FIELDS)
        )
        flash("Screening created. Add its questions and rubric, then open it.", "success")
        return redirect(url_for("recruiter.edit_screening", screening_id=screening.id))
    return render_template("recruiter/screening_form.html", form=form, screening=None)


@bp.route("/<int:screening_id>")
@roles_required(*ALL_STAFF)
def screening(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    can_manage = current_user.role in MANAGERS
    # Reviewers see (and count) only the candidates they are assigned to, by name only when
    # the screening does not hide names.
    scope = candidate_scope(current_user, screening.id)
    sees_candidates = reviewing.sees_names(current_user, screening)
    return render_template(
        "recruiter/screening.html",
        screening=screening,
        funnel=services.funnel(screening, scope),
        invitations=services.screening_invitations(screening, scope) if sees_candidates else [],
        sees_candidates=sees_candidates,
        may_review=reviewing.may_see_screening(current_user, screening),
        can_manage=can_manage,
        invite_form=InviteForm(),
        csv_form=CsvImportForm(),
        duplicate_form=DuplicateForm(),
        confirm=ConfirmForm(),
        now=utcnow(),
    )


@bp.route("/<int:screening_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_screening(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = ScreeningForm(obj=screening)
    if form.validate_on_submit():
        services.update_screening(screening, **_data(form, SCREENING_FIELDS))
        flash("Saved.", "success")
        return redirect(url_for("recruiter.edit_screening", screening_id=screening.id))
    return render_template(
        "recruiter/screening_form.html",
        form=form,
        screening=screening,
        question_form=QuestionForm(formdata=None),
        criterion_form=CriterionForm(formdata=None),
        move_form=MoveForm(),
        confirm=ConfirmForm(),
        scoring_started=services.scoring_started(screening),
    )


def _screening_action(screening_id: int, action, success: str, anchor: str = ""):
    screening = get_in_org_or_404(Screening, screening_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(screening)
    except services.RecruitingError as error:
        flash(str(error), "danger")
    else:
        flash(success, "success")
    return _to_overview(screening, anchor)


@bp.route("/<int:screening_id>/open", methods=["POST"])
@roles_required(*MANAGERS)
def open_screening(screening_id: int):
    return _screening_action(
        screening_id, services.open_screening, "The screening is open: invite candidates."
    )


@bp.route("/<int:screening_id>/close", methods=["POST"])
@roles_required(*MANAGERS)
def close_screening(screening_id: int):
    return _screening_action(
        screening_id,
        services.close_screening,
        "The screening is closed: no new interviews can start.",
    )


@bp.route("/<int:screening_id>/duplicate", methods=["POST"])
@roles_required(*MANAGERS)
def duplicate_screening(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = DuplicateForm()
    if not form.validate_on_submit():
        abort(400)
    copy = services.duplicate_screening(
        screening,
        current_user,
        as_template=form.as_template.data,
        title=form.title.data or None,
    )
    flash("Saved as a template." if copy.is_template else "Copy created as a draft.", "success")
    return redirect(url_for("recruiter.edit_screening", screening_id=copy.id))


# --- questions --------------------------------------------------------------------------------


@bp.route("/<int:screening_id>/questions", methods=["POST"])
@roles_required(*MANAGERS)
@body_limit("PROMPT_VIDEO_MAX_BYTES")
def add_question(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            _save_question(
                form, lambda: services.add_question(screening, **_data(form, QUESTION_FIELDS))
            )
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash("Question added.", "success")
            return redirect(
                url_for("recruiter.edit_screening", screening_id=screening.id, adding="question")
                + "#questions"
            )
    return (
        render_template(
            "recruiter/question_form.html", form=form, screening=screening, question=None
        ),
        400,
    )


@bp.route("/<int:screening_id>/questions/<int:question_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
@body_limit("PROMPT_VIDEO_MAX_BYTES")
def edit_question(screening_id: int, question_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    question = _question(screening, question_id)
    form = QuestionForm(obj=question)
    if form.validate_on_submit():
        try:
            _save_question(
                form, lambda: services.update_question(question, **_data(form, QUESTION_FIELDS))
            )
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash("Question saved.", "success")
            return redirect(
                url_for("recruiter.edit_screening", screening_id=screening.id) + "#questions"
            )
    return render_template(
        "recruiter/question_form.html", form=form, screening=screening, question=question
    )


@bp.route("/<int:screening_id>/questions/<int:question_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def delete_question(screening_id: int, question_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    question = _question(screening, question_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.delete_question(question)
    flash("Question removed.", "success")
    return redirect(url_for("recruiter.edit_screening", screening_id=screening.id) + "#questions")


@bp.route("/<int:screening_id>/questions/<int:question_id>/move", methods=["POST"])
@roles_required(*MANAGERS)
def move_question(screening_id: int, question_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    question = _question(screening, question_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.move_question(question, -1 if form.direction.data == "up" else 1)
    except services.RecruitingError as error:
        flash(str(error), "danger")
    return redirect(url_for("recruiter.edit_screening", screening_id=screening.id) + "#questions")


# --- rubric -----------------------------------------------------------------------------------


@bp.route("/<int:screening_id>/criteria", methods=["POST"])
@roles_required(*MANAGERS)
def add_criterion(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = CriterionForm()
    if form.validate_on_submit():
        try:
            services.add_criterion(screening, **_data(form, CRITERION_FIELDS))
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash("Criterion added.", "success")
            return redirect(
                url_for("recruiter.edit_screening", screening_id=screening.id, adding="criterion")
                + "#rubric"
            )
    return (
        render_template(
            "recruiter/criterion_form.html", form=form, screening=screening, criterion=None
        ),
        400,
    )


@bp.route("/<int:screening_id>/criteria/<int:criterion_id>", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_criterion(screening_id: int, criterion_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    criterion = _criterion(screening, criterion_id)
    form = CriterionForm(obj=criterion)
    if form.validate_on_submit():
        try:
            services.update_criterion(criterion, **_data(form, CRITERION_FIELDS))
        except services.RecruitingError as error:
            flash(str(error), "danger")
        else:
            flash("Criterion saved.", "success")
            return redirect(
                url_for("recruiter.edit_screening", screening_id=screening.id) + "#rubric"
            )
    return render_template(
        "recruiter/criterion_form.html", form=form, screening=screening, criterion=criterion
    )


@bp.route("/<int:screening_id>/criteria/<int:criterion_id>/delete", methods=["POST"])
@roles_required(*MANAGERS)
def delete_criterion(screening_id: int, criterion_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    criterion = _criterion(screening, criterion_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.delete_criterion(criterion)
    except services.RecruitingError as error:
        flash(str(error), "danger")
    else:
        flash("Criterion removed.", "success")
    return redirect(url_for("recruiter.edit_screening", screening_id=screening.id) + "#rubric")


# --- development outbox -----------------------------------------------------------------------


@bp.route("/outbox")
@roles_required(*MANAGERS)
def outbox():
    """Messages the outbox mail backend wrote (development); only this organisation's."""
    backend = mail.backend_from_config(current_app.config)
    if not isinstance(backend, mail.OutboxBackend):
        abort(404)
    org_header = str(current_user.org_id)
    messages = [
        (name, msg) for name, msg in backend.messages() if msg.get("X-Interview-Org") == org_header
    ]
    return render_template("recruiter/outbox.html", messages=messages)


# The invitation pages live beside these, on the same blueprint.
from . import invitation_routes  # noqa: E402,F401
