"""Organisations and the staff who work in them."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .base import TimestampMixin, UTCDateTime, enum_column

# werkzeug's scrypt with its default cost (N=2**15, r=8, p=1).
PASSWORD_METHOD = "scrypt:32768:8:1"  # noqa: S105 (a hashing method, not a password)


class Role(enum.StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    REVIEWER = "reviewer"
    HR = "hr"

    @property
    def label(self) -> str:
        return {"admin": "Admin", "recruiter": "Recruiter", "reviewer": "Reviewer", "hr": "HR"}[
            self.value
        ]


class Organization(TimestampMixin, db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # Days a finished interview's media is kept before the retention sweep deletes it.
    retention_days: Mapped[int] = mapped_column(default=365)
    # After a candidate's data is deleted, keep their scores as anonymous numbers for figures.
    keep_anonymous_scores: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Whether a candidate's data export includes what reviewers wrote about them.
    export_includes_reviews: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Who candidates write to about their data (an email address or a sentence).
    privacy_contact: Mapped[str] = mapped_column(sa.String(254), default="", server_default="")
    # IANA zone staff see times in unless they choose their own, and emails state.
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", server_default="UTC")
    # Branding on candidates' pages and emails (interview/branding): an accent colour that
    # white text stays readable on, a logo in storage, the name emails come from.
    brand_color: Mapped[str | None] = mapped_column(sa.String(7))
    logo_key: Mapped[str | None] = mapped_column(sa.String(300))
    sender_name: Mapped[str | None] = mapped_column(sa.String(100))

    users: Mapped[list[User]] = relationship(back_populates="organization")

    __table_args__ = (sa.CheckConstraint("retention_days > 0", name="retention_positive"),)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Rotated on sign-out and password change so an old session cookie can never be replayed.
    session_token: Mapped[str] = mapped_column(
        sa.String(64), default=lambda: secrets.token_urlsafe(32)
    )
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The IANA zone this person sees times in; None: the organisation's.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))

    organization: Mapped[Organization] = relationship(back_populates="users")

    __table_args__ = (sa.Index("ix_users_org_role", "org_id", "role"),)

    # flask-login ---------------------------------------------------------------
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.is_active_account

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    # passwords -----------------------------------------------------------------
    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        self.rotate_session()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def rotate_session(self) -> None:
        self.session_token = secrets.token_urlsafe(32)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
