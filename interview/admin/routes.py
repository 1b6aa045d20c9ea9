"""Admin pages: the organisation's staff accounts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..branding import services as branding
from ..forms import ConfirmForm
from ..models import Role, User
from ..security import get_in_org_or_404, roles_required
from . import services
from .forms import OrganizationForm, UserCreateForm, UserEditForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    return render_template(
        "admin/users.html",
        users=services.org_users(current_user.org_id),
        form=UserCreateForm(),
    )


@bp.route("/users", methods=["POST"])
@roles_required(Role.ADMIN)
def create_user():
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user, password = services.create_user(
                current_user.organization,
                name=form.name.data,
                email=form.email.data,
                role=Role(form.role.data),
            )
        except services.AccountError as error:
            form.email.errors.append(str(error))
        else:
            return render_template("admin/password_shown.html", user=user, password=password)
    return (
        render_template(
            "admin/users.html", users=services.org_users(current_user.org_id), form=form
        ),
        400,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = get_in_org_or_404(User, user_id)
    form = UserEditForm(obj=user, active=user.is_active)
    if form.validate_on_submit():
        try:
            services.update_user(
                user, name=form.name.data, role=Role(form.role.data), active=form.active.data
            )
        except services.AccountError as error:
            flash(str(error), "danger")
        else:
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/edit_user.html", user=user, form=form, reset_form=ConfirmForm())


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    user = get_in_org_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        flash("The form expired. Try again.", "danger")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    password = services.reset_password(user)
    return render_template("admin/password_shown.html", user=user, password=password)


@bp.route("/organization", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def organization():
    """The organisation's own settings."""
    org = current_user.organization
    form = OrganizationForm(obj=None if request.method == "POST" else org)
    if form.validate_on_submit():
        upload = form.logo.data
        logo = None
        if upload and upload.filename:
            with upload.stream as stream:  # a spooled temporary file for large uploads
                logo = stream.read(branding.LOGO_MAX_BYTES + 1)  # one more: "too large"
        try:
            # Branding first: a refused colour or logo changes nothing at all.
            branding.update(
                org,
                colour=form.brand_color.data,
                sender_name=form.sender_name.data,
                logo=logo,
                remove_logo=form.remove_logo.data,
            )
            services.update_organization(org, timezone=form.timezone.data)
        except services.AccountError as error:
            form.timezone.errors.append(str(error))
        except branding.BrandingError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash("Organisation settings saved.", "success")
            return redirect(url_for("admin.organization"))
    return render_template("admin/organization.html", form=form, org=org)
