"""Authentication rules: who may sign in, session loading, password changes."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from .. import audit
from ..extensions import db
from ..models import User, utcnow
from ..models.accounts import PASSWORD_METHOD
from ..timezones import is_zone

# Checked against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_METHOD)


class AuthError(Exception):
    """Sign-in refused; the message is safe to show."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def load_user(session_id: str) -> User | None:
    """flask-login loader: the cookie holds "<id>:<session token>"; a rotated token is refused."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or not hmac.compare_digest(user.session_token, token):
        return None
    return user


def authenticate(email: str, password: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        User(password_hash=_DUMMY_HASH).check_password(password)
        raise AuthError("Wrong email or password.")
    if not user.check_password(password):
        audit.record("auth.login_failed", user, actor=user)
        db.session.commit()
        raise AuthError("Wrong email or password.")
    if not user.is_active:
        raise AuthError("This account is disabled. Ask an administrator.")
    user.last_login_at = utcnow()
    audit.record("auth.login", user, actor=user)
    db.session.commit()
    return user


def sign_out(user: User) -> None:
    """Rotate the session token: the old cookie can never be replayed."""
    user.rotate_session()
    audit.record("auth.logout", user, actor=user)
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AuthError("The current password is wrong.")
    user.set_password(new)
    audit.record("auth.password_changed", user, actor=user)
    db.session.commit()


def set_timezone(user: User, name: str | None) -> None:
    """The zone ``user`` sees times in (None: their organisation's)."""
    name = name or None
    if name is not None and not is_zone(name):
        raise AuthError("Choose a time zone from the list.")
    if user.timezone != name:
        audit.record("user.timezone", user, actor=user, before=user.timezone, after=name)
        user.timezone = name
        db.session.commit()


# --- device cookies (sign-in throttling) --------------------------------------------------------

DEVICE_MAX_AGE_SECONDS = 180 * 24 * 3600


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def device_token(email: str) -> str:
    """A signed note, kept by a browser where ``email`` signed in, that it is a known device."""
    return _device_serializer().dumps(normalise_email(email))


def is_known_device(token: str | None, email: str) -> bool:
    """Is ``token`` a device cookie that ``email``'s account was given (and still fresh)?"""
    if not token or not email:
        return False
    try:
        signed_for = _device_serializer().loads(token, max_age=DEVICE_MAX_AGE_SECONDS)
    except BadSignature:
        return False
    return hmac.compare_digest(str(signed_for), normalise_email(email))
