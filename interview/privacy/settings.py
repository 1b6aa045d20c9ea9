"""The organisation's privacy settings and the notice candidates read, rendered from them."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import audit
from ..extensions import db
from ..models import Organization, User

RETENTION_MAX_DAYS = 3650


class SettingsError(Exception):
    """A setting outside its range; the message is shown to the admin."""


@dataclass(frozen=True)
class Notice:
    """What the candidate is told, sentence by sentence; each one is what the code does."""

    organization: str
    retention_days: int
    keep_anonymous_scores: bool
    export_includes_reviews: bool
    contact: str
    window_days: int
    delay_hours: int

    @property
    def sentences(self) -> list[str]:
        """In the page's language (Flask-Babel picks it per request)."""
        org, days = self.organization, self.retention_days
        if self.export_includes_reviews:
            rights = _(
                "At any time, also after submitting or after the link expired, your “Your data” "
                "link (on your receipt and in the email confirming your answers) lets you "
                "download everything stored about you, including what reviewers wrote, and ask "
                "for it to be deleted sooner."
            )
        else:
            rights = _(
                "At any time, also after submitting or after the link expired, your “Your data” "
                "link (on your receipt and in the email confirming your answers) lets you "
                "download everything stored about you and ask for it to be deleted sooner."
            )
        if self.delay_hours == 0:
            when = _(
                "A deletion request is carried out at the next daily clean-up, and always within "
                "%(window)s days, unless %(org)s must keep the data by law (a legal hold); the "
                "link shows the request's status.",
                window=self.window_days,
                org=org,
            )
        else:
            when = _(
                "A deletion request is carried out %(hours)s hours after you ask, at the next "
                "daily clean-up, and always within %(window)s days, unless %(org)s must keep the "
                "data by law (a legal hold); the link shows the request's status.",
                hours=self.delay_hours,
                window=self.window_days,
                org=org,
            )
        kept = (
            _(
                "After deletion %(org)s keeps only the scores reviewers gave, as anonymous "
                "numbers without your name, for its statistics.",
                org=org,
            )
            if self.keep_anonymous_scores
            else _(
                "After deletion nothing about you is kept, only the fact that a deletion "
                "took place."
            )
        )
        return [
            _(
                "Your recorded answers, and the scores and notes of the people who review them, "
                "are stored by %(org)s to assess your application for this role. Only staff of "
                "%(org)s can watch them. No automated system scores your answers: people do.",
                org=org,
            ),
            ngettext(
                "They are deleted %(num)s day after you submit your answers, or %(num)s day after "
                "this link expires if you do not submit them, together with your name, email "
                "address and the network address you consented from.",
                "They are deleted %(num)s days after you submit your answers, or %(num)s days "
                "after this link expires if you do not submit them, together with your name, "
                "email address and the network address you consented from.",
                days,
            ),
            f"{rights} {when}",
            kept,
        ] + (
            [_("Questions about your data: %(contact)s.", contact=self.contact)]
            if self.contact
            else []
        )


def notice(org: Organization) -> Notice:
    return Notice(
        organization=org.name,
        retention_days=org.retention_days,
        keep_anonymous_scores=org.keep_anonymous_scores,
        export_includes_reviews=org.export_includes_reviews,
        contact=org.privacy_contact,
        window_days=current_app.config["DELETION_WINDOW_DAYS"],
        delay_hours=current_app.config["DELETION_DELAY_HOURS"],
    )


def update(
    org: Organization,
    by: User,
    *,
    retention_days: int,
    keep_anonymous_scores: bool,
    export_includes_reviews: bool,
    privacy_contact: str,
) -> None:
    if not 1 <= retention_days <= RETENTION_MAX_DAYS:
        raise SettingsError(f"Retention must be between 1 and {RETENTION_MAX_DAYS} days.")
    contact = (privacy_contact or "").strip()
    if len(contact) > 254:
        raise SettingsError("The contact is too long (at most 254 characters).")
    changes = {
        name: value
        for name, value in {
            "retention_days": retention_days,
            "keep_anonymous_scores": keep_anonymous_scores,
            "export_includes_reviews": export_includes_reviews,
            "privacy_contact": contact,
        }.items()
        if getattr(org, name) != value
    }
    for name, value in changes.items():
        setattr(org, name, value)
    if changes:
        audit.record("privacy.settings", org, actor=by, changed=sorted(changes))
    db.session.commit()
