"""Rules for staff accounts: creation, role changes, deactivation, password resets."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from .. import audit
from ..auth.services import normalise_email
from ..extensions import db
from ..models import Organization, Role, User
from ..timezones import is_zone


class AccountError(Exception):
    """A change to an account was refused; the message is safe to show."""


def generate_password() -> str:
    """A temporary password: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


def org_users(org_id: int) -> list[User]:
    return list(
        db.session.scalars(sa.select(User).where(User.org_id == org_id).order_by(User.name))
    )


def create_user(
    org: Organization, *, name: str, email: str, role: Role, password: str | None = None
) -> tuple[User, str]:
    """Create a staff account; returns it with its (temporary) password."""
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise AccountError("An account with this email already exists.")
    password = password or generate_password()
    user = User(organization=org, name=name.strip(), email=email, role=Role(role))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, org_id=org.id, role=user.role.value)
    db.session.commit()
    return user, password


def _active_admins(org_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.org_id == org_id, User.role == Role.ADMIN, User.is_active_account.is_(True)
        )
    )


def update_user(user: User, *, name: str, role: Role, active: bool) -> None:
    role = Role(role)
    losing_admin = user.role == Role.ADMIN and user.is_active and (role != Role.ADMIN or not active)
    if losing_admin and _active_admins(user.org_id) <= 1:
        raise AccountError("The organisation needs at least one active admin.")
    changes = {}
    if user.role != role:
        changes["role"] = [user.role.value, role.value]
    if user.is_active_account != active:
        changes["active"] = [user.is_active_account, active]
    user.name = name.strip()
    user.role = role
    user.is_active_account = active
    if not active or "role" in changes:
        user.rotate_session()  # a disabled or re-roled account is signed out everywhere
    audit.record("user.updated", user, **changes)
    db.session.commit()


def reset_password(user: User) -> str:
    password = generate_password()
    user.set_password(password)
    audit.record("user.password_reset", user)
    db.session.commit()
    return password


def update_organization(org: Organization, *, timezone: str) -> None:
    """The organisation's settings (audited)."""
    if not is_zone(timezone):
        raise AccountError("Choose a time zone from the list.")
    if org.timezone != timezone:
        audit.record("organization.updated", org, org_id=org.id, timezone=[org.timezone, timezone])
        org.timezone = timezone
    db.session.commit()
