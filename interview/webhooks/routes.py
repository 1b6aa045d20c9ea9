"""Admin pages for webhooks: endpoints, their secrets (shown once), the delivery log, replay."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..forms import ConfirmForm
from ..models import Role, WebhookDelivery, WebhookEndpoint
from ..security import get_in_org_or_404, roles_required
from . import services
from .forms import EndpointForm

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _index(form: EndpointForm, status: int = 200):
    return (
        render_template(
            "webhooks/index.html",
            endpoints=services.org_endpoints(current_user.org_id),
            form=form,
        ),
        status,
    )


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    return _index(EndpointForm())


@bp.route("/", methods=["POST"])
@roles_required(Role.ADMIN)
def create():
    form = EndpointForm()
    if not form.validate_on_submit():
        return _index(form, 400)
    try:
        endpoint, secret = services.create_endpoint(
            current_user.org_id,
            form.url.data,
            form.events.data,
            form.description.data,
            current_user,
        )
    except services.WebhookError as error:
        form.url.errors.append(str(error))
        return _index(form, 400)
    return render_template("webhooks/secret.html", endpoint=endpoint, secret=secret)


@bp.route("/<int:endpoint_id>")
@roles_required(Role.ADMIN)
def detail(endpoint_id: int):
    endpoint = get_in_org_or_404(WebhookEndpoint, endpoint_id)
    return render_template(
        "webhooks/detail.html",
        endpoint=endpoint,
        deliveries=services.deliveries(endpoint),
        confirm=ConfirmForm(),
    )


@bp.route("/<int:endpoint_id>/state", methods=["POST"])
@roles_required(Role.ADMIN)
def set_state(endpoint_id: int):
    endpoint = get_in_org_or_404(WebhookEndpoint, endpoint_id)
    _confirmed()
    enable = request.form.get("enabled") == "1"
    services.update_endpoint(endpoint, current_user, enabled=enable)
    flash("Endpoint enabled." if enable else "Endpoint disabled.", "success")
    return redirect(url_for("webhooks.detail", endpoint_id=endpoint.id))


@bp.route("/<int:endpoint_id>/rotate", methods=["POST"])
@roles_required(Role.ADMIN)
def rotate(endpoint_id: int):
    endpoint = get_in_org_or_404(WebhookEndpoint, endpoint_id)
    _confirmed()
    secret = services.rotate_secret(endpoint, current_user)
    return render_template("webhooks/secret.html", endpoint=endpoint, secret=secret, rotated=True)


@bp.route("/<int:endpoint_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def delete(endpoint_id: int):
    endpoint = get_in_org_or_404(WebhookEndpoint, endpoint_id)
    _confirmed()
    services.delete_endpoint(endpoint, current_user)
    flash("Endpoint deleted.", "success")
    return redirect(url_for("webhooks.index"))


@bp.route("/deliveries/<int:delivery_id>/replay", methods=["POST"])
@roles_required(Role.ADMIN)
def replay(delivery_id: int):
    delivery = get_in_org_or_404(WebhookDelivery, delivery_id)
    _confirmed()
    try:
        services.replay(delivery, current_user)
        flash("Queued again.", "success")
    except services.WebhookError as error:
        flash(str(error), "danger")
    return redirect(url_for("webhooks.detail", endpoint_id=delivery.endpoint_id))
