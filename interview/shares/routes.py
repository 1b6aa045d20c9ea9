"""Share links: the recruiter's page to make and revoke them, and the page a hiring manager
opens without an account (``/s/<token>``), with its media served only through the link."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..extensions import limiter
from ..forms import ConfirmForm
from ..media.delivery import serve_and_audit
from ..models import Role, Screening, ShareLink
from ..reports import reporting
from ..security import get_in_org_or_404, public, roles_required
from . import services
from .forms import PasscodeForm, ShareForm

bp = Blueprint("shares", __name__)

SHARERS = (Role.ADMIN, Role.RECRUITER, Role.HR)
_UNLOCKED = "shares_unlocked"


def _form(screening: Screening) -> ShareForm:
    form = ShareForm()
    form.candidates.choices = [
        SelectChoice(c.id, c.candidate_name) for c in reporting.completed_candidates(screening)
    ]
    return form


def _index(screening: Screening, form: ShareForm, status: int = 200, made: str | None = None):
    return (
        render_template(
            "shares/index.html",
            screening=screening,
            shares=services.of_screening(screening),
            form=form,
            confirm=ConfirmForm(),
            made=made,
            now=services.utcnow(),
        ),
        status,
    )


@bp.route("/shares/screenings/<int:screening_id>")
@roles_required(*SHARERS)
def index(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = _form(screening)
    chosen = request.args.get("candidate", type=int)
    if chosen:
        form.candidates.data = [chosen]
    return _index(screening, form)


@bp.route("/shares/screenings/<int:screening_id>", methods=["POST"])
@roles_required(*SHARERS)
def create(screening_id: int):
    screening = get_in_org_or_404(Screening, screening_id)
    form = _form(screening)
    if not form.validate_on_submit():
        return _index(screening, form, 400)
    try:
        _share, token = services.create(
            screening,
            form.candidates.data,
            current_user,
            recipient=form.recipient.data,
            days=form.days.data,
            passcode=form.passcode.data or "",
            show_scores=form.show_scores.data,
            allow_download=form.allow_download.data,
        )
    except services.ShareError as error:
        form.candidates.errors.append(str(error))
        return _index(screening, form, 400)
    link = f"{current_app.config['BASE_URL'].rstrip('/')}{url_for('shares.view', token=token)}"
    return _index(screening, _form(screening), made=link)


@bp.route("/shares/<int:share_id>/revoke", methods=["POST"])
@roles_required(*SHARERS)
def revoke(share_id: int):
    share = get_in_org_or_404(ShareLink, share_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.revoke(share, current_user)
    flash("The link no longer works.", "success")
    return redirect(url_for("shares.index", screening_id=share.screening_id))


# --- the hiring manager's side ----------------------------------------------------------------


def _share_or_gone(token: str) -> ShareLink:
    share = services.resolve(token)
    if share is None:
        abort(404, description="This link is no longer available. Ask the person who sent it.")
    return share


def _unlocked(share: ShareLink) -> bool:
    return share.passcode_hash is None or share.id in session.get(_UNLOCKED, [])


def _passcode_limit() -> str:
    return current_app.config["SHARE_PASSCODE_LIMIT"]


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/s/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_passcode_limit, methods=["POST"], key_func=lambda: request.path)
def view(token: str):
    share = _share_or_gone(token)
    if not _unlocked(share):
        form = PasscodeForm()
        status = 200
        if form.validate_on_submit():
            if services.check_passcode(share, form.passcode.data):
                session[_UNLOCKED] = [*session.get(_UNLOCKED, [])[-20:], share.id]
                return redirect(url_for("shares.view", token=token))
            form.passcode.errors.append("That passcode is not right.")
            status = 403
        page = render_template("shares/passcode.html", share=share, form=form)
        return _private(current_app.make_response((page, status)))
    services.record_view(share)
    page = render_template(
        "shares/view.html",
        share=share,
        token=token,
        candidates=services.shown(share),
        screening=share.candidates[0].screening if share.candidates else None,
    )
    return _private(current_app.make_response(page))


@bp.route("/s/<token>/media/<int:asset_id>")
@public
def media(token: str, asset_id: int):
    share = _share_or_gone(token)
    if not _unlocked(share):
        abort(404)
    asset = services.asset_in_share(share, asset_id)
    if asset is None:
        abort(404)
    download = request.args.get("download") == "1"
    if download and not share.allow_download:
        abort(403, description="The person who shared this did not allow downloads.")
    g.audit_actor_label = services.label(share)
    return _private(serve_and_audit(asset, as_attachment=download, share_id=share.id))
