"""Admin pages for the API: the organisation's keys (made, shown once, revoked)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..forms import ConfirmForm
from ..models import ApiKey, Role
from ..security import get_in_org_or_404, roles_required
from . import services
from .forms import ApiKeyForm

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")


def _page(form: ApiKeyForm, status: int = 200):
    return (
        render_template(
            "api/keys.html",
            keys=services.org_keys(current_user.org_id),
            form=form,
            confirm=ConfirmForm(),
        ),
        status,
    )


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return _page(ApiKeyForm())


@bp.route("/", methods=["POST"])
@roles_required(Role.ADMIN)
def create():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        raw = services.create_key(
            current_user.organization, form.name.data, form.scopes(), current_user
        )
    except services.ApiKeyError as error:
        form.name.errors.append(str(error))
        return _page(form, 400)
    return render_template("api/key_shown.html", name=form.name.data, key=raw)


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke(key_id: int):
    key = get_in_org_or_404(ApiKey, key_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.revoke_key(key, current_user)
    flash(f"Revoked the key “{key.name}”: it stops working at once.", "success")
    return redirect(url_for("api_keys.index"))
