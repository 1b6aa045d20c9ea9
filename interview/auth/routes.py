"""Sign in, sign out, change password, and the signed-in home page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..extensions import limiter
from ..models import utcnow
from ..security import ALL_STAFF, client_ip, public, roles_required
from . import services
from .forms import ChangePasswordForm, LoginForm, ProfileForm

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "login_device"


def _email() -> str:
    return services.normalise_email(request.form.get("email", ""))


def _pair_key() -> str:
    """The account and the address together: an attacker's failures lock out the attacker's
    address for that account, never the owner signing in from their own."""
    return f"login-pair:{_email()}:{client_ip()}"


def _account_key() -> str:
    return "login-account:" + _email()


def _known_device() -> bool:
    """Does this browser carry the account's device cookie (a sign-in succeeded here before)?
    Such attempts are exempt from the account-wide limit that slows guessing from many
    addresses, so the owner is never locked out by it."""
    return services.is_known_device(request.cookies.get(DEVICE_COOKIE), _email())


def _failed(response) -> bool:
    # Only failed attempts count against the limits (a success redirects).
    return request.method == "POST" and response.status_code != 302


def _safe_next(target: str | None) -> str:
    # Browsers read "/\evil.example" as "//evil.example": no backslashes, no control characters.
    if target and "\\" not in target and target.isprintable():
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("auth.home")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_pair_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_UNKNOWN_DEVICES"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    exempt_when=_known_device,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AuthError as error:
            flash(str(error), "danger")
            status = 401
        else:
            login_user(user)
            response = redirect(_safe_next(request.args.get("next")))
            response.set_cookie(
                DEVICE_COOKIE,
                services.device_token(user.email),
                max_age=services.DEVICE_MAX_AGE_SECONDS,
                httponly=True,
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                samesite="Lax",
            )
            return response
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_STAFF)
def logout():
    services.sign_out(current_user._get_current_object())
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except services.AuthError as error:
            form.current_password.errors.append(str(error))
        else:
            login_user(user)  # the session token rotated; keep this session signed in
            flash("Your password was changed. Other sessions were signed out.", "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@roles_required(*ALL_STAFF)
def profile():
    """The person's own settings: the time zone they see times in."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=None if request.method == "POST" else user)
    if form.validate_on_submit():
        try:
            services.set_timezone(user, form.timezone.data)
        except services.AuthError as error:
            form.timezone.errors.append(str(error))
        else:
            flash("Saved. Times are now shown in your chosen zone.", "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, now=utcnow())


@bp.route("/")
@public
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/home.html")
