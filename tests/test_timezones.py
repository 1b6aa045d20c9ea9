"""Times in the reader's zone: staff choose theirs (default: the organisation's), emails state the
organisation's zone and UTC, candidates see their browser's zone."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

from interview.extensions import db
from interview.filters import deadline, deadline_with_utc, short_datetime
from interview.models import AuditEvent, Role
from interview.recruiter import jobs as email_jobs

from .conftest import csrf_token

WINTER = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
LATE = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def test_deadline_names_the_zone_it_is_written_in():
    """Is a deadline written with its zone, letters where the zone has them, an offset otherwise?"""
    assert deadline(WINTER, "UTC") == "Tuesday 1 December 2026, 17:00 UTC"
    assert deadline(WINTER, "Europe/Berlin") == "Tuesday 1 December 2026, 18:00 CET"
    assert deadline(WINTER, "America/New_York") == "Tuesday 1 December 2026, 12:00 EST"
    assert (
        deadline(WINTER, "America/Argentina/Buenos_Aires")
        == "Tuesday 1 December 2026, 14:00 UTC−03:00"
    )
    assert short_datetime(WINTER, "Asia/Kolkata") == "2026-12-01 22:30 IST"
    assert deadline(WINTER, "Not/AZone") == "Tuesday 1 December 2026, 17:00 UTC"


def test_emails_state_the_zone_and_utc_with_the_utc_day_when_it_differs():
    """Can a candidate anywhere read an email's deadline without converting it by hand?"""
    assert deadline_with_utc(WINTER, "UTC") == "Tuesday 1 December 2026, 17:00 UTC"
    assert (
        deadline_with_utc(WINTER, "Europe/Berlin")
        == "Tuesday 1 December 2026, 18:00 CET (17:00 UTC)"
    )
    assert (
        deadline_with_utc(LATE, "Asia/Tokyo")
        == "Wednesday 2 December 2026, 08:30 JST (23:30 UTC on Tuesday 1 December)"
    )


def test_staff_see_times_in_their_zone_else_the_organisations(app, org, sign_in_as):
    """Does a recruiter see the deadline in the organisation's zone, then in their own once
    chosen, and is the change audited?"""
    recruiter = sign_in_as(Role.RECRUITER)
    inv = org.invitation
    url = f"/screenings/{org.screening.id}/invitations/{inv.id}"
    assert deadline(inv.expires_at, "UTC") in recruiter.get(url).get_data(as_text=True)

    org.org.timezone = "Europe/Berlin"
    db.session.commit()
    page = recruiter.get(url).get_data(as_text=True)
    assert deadline(inv.expires_at, "Europe/Berlin") in page

    response = recruiter.post(
        "/account", data={"timezone": "Asia/Tokyo", "csrf_token": csrf_token(recruiter, "/account")}
    )
    assert response.status_code == 302
    page = recruiter.get(url).get_data(as_text=True)
    assert deadline(inv.expires_at, "Asia/Tokyo") in page
    event = db.session.query(AuditEvent).filter_by(action="user.timezone").one()
    assert event.details["after"] == "Asia/Tokyo"


def test_a_zone_that_is_not_in_the_list_is_refused_with_a_message(app, org, sign_in_as):
    """Does a made-up zone get the form back with an error (no 500, nothing saved)?"""
    hr = sign_in_as(Role.HR)
    response = hr.post(
        "/account", data={"timezone": "Mars/Olympus", "csrf_token": csrf_token(hr, "/account")}
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    db.session.refresh(org.users[Role.HR])
    assert org.users[Role.HR].timezone is None

    admin = sign_in_as(Role.ADMIN)
    token = csrf_token(admin, "/admin/organization")
    bad = admin.post("/admin/organization", data={"timezone": "x" * 5000, "csrf_token": token})
    assert bad.status_code == 200
    good = admin.post(
        "/admin/organization", data={"timezone": "Europe/Madrid", "csrf_token": token}
    )
    assert good.status_code == 302
    db.session.refresh(org.org)
    assert org.org.timezone == "Europe/Madrid"


def test_the_invitation_email_states_the_deadline_in_the_organisations_zone_and_utc(app, org):
    """Does the email say '… CET (… UTC)' for an organisation in Berlin?"""
    org.org.timezone = "Europe/Berlin"
    db.session.commit()
    email_jobs.send_invitation(org.invitation.id)
    [path] = sorted(Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    expected = deadline_with_utc(org.invitation.expires_at, "Europe/Berlin")
    assert "UTC)" in expected
    for kind in ("plain", "html"):
        assert expected in message.get_body(preferencelist=(kind,)).get_content()
