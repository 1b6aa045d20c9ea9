"""Branding: an organisation's logo, accent colour and sender name on candidates' pages and in
their emails; a colour white text cannot be read on is refused; a logo is re-encoded, never
served as uploaded."""

from __future__ import annotations

import email
import email.message
import email.policy
import email.utils
import io
import os
from pathlib import Path

from PIL import Image

from interview.branding import services as branding
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import AuditEvent, Role
from interview.recruiter import jobs as email_jobs

from .conftest import csrf_token


def _image(fmt: str = "PNG", size=(900, 300), colour=(200, 30, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def _settings(admin, **fields):
    data = {"timezone": "UTC", "csrf_token": csrf_token(admin, "/admin/organization"), **fields}
    return admin.post("/admin/organization", data=data, content_type="multipart/form-data")


def test_contrast_is_measured_as_wcag_defines_it():
    """Is the ratio WCAG's (21:1 black on white), and are light accents refused with a reason?"""
    assert round(branding.contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(branding.contrast("#777777", "#ffffff"), 2) == 4.48
    assert branding.check_colour("#1F4B99") == "#1f4b99"
    for light in ("#ffc107", "#777777", "#ffffff"):
        try:
            branding.check_colour(light)
        except branding.BrandingError as error:
            assert "4.5:1" in str(error) and error.field == "brand_color"
        else:
            raise AssertionError(light)


def test_candidates_see_the_organisations_logo_colour_and_name(app, org, sign_in_as, client):
    """After an admin sets a colour and a logo, does the candidate's page show them, served
    from the app (a clean PNG no larger than the box), and is the change audited?"""
    admin = sign_in_as(Role.ADMIN)
    response = _settings(
        admin,
        brand_color="#7b1fa2",
        sender_name="Northwind Talent Team",
        logo=(io.BytesIO(_image("JPEG", (2000, 1000))), "logo.jpg"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(org.org)
    assert org.org.brand_color == "#7b1fa2" and org.org.logo_key.endswith(".png")

    page = client.get(f"/i/{org.token}").get_data(as_text=True)
    assert f"/brand/{org.org.id}/logo.png?v=" in page and f'alt="{org.org.name}"' in page
    assert f"/brand/{org.org.id}/style.css?v=" in page
    css = client.get(f"/brand/{org.org.id}/style.css")
    assert css.mimetype == "text/css" and "--brand: #7b1fa2" in css.get_data(as_text=True)
    assert css.cache_control.public and css.cache_control.max_age == 86_400
    logo = client.get(f"/brand/{org.org.id}/logo.png")
    assert logo.mimetype == "image/png"
    with Image.open(io.BytesIO(logo.data)) as image:
        assert image.format == "PNG" and image.width <= 480 and image.height <= 160
    etag = logo.headers["ETag"]
    assert (
        client.get(f"/brand/{org.org.id}/logo.png", headers={"If-None-Match": etag}).status_code
        == 304
    )
    event = db.session.query(AuditEvent).filter_by(action="organization.branding").one()
    assert event.details["brand_color"] == [None, "#7b1fa2"]

    # A new logo replaces the old file; removing it leaves no file behind.
    old = org.org.logo_key
    assert _settings(admin, logo=(io.BytesIO(_image()), "again.png")).status_code == 302
    db.session.refresh(org.org)
    assert org.org.logo_key != old and not _stored(old)
    assert _settings(admin, remove_logo="y").status_code == 302
    db.session.refresh(org.org)
    assert org.org.logo_key is None
    assert client.get(f"/brand/{org.org.id}/logo.png").status_code == 404


def _stored(key: str) -> bool:
    return get_storage().exists(key)


def test_a_refused_colour_or_logo_changes_nothing(app, org, sign_in_as, monkeypatch):
    """Does a light colour, or a file that is not an image, come back with a message on the
    right field and leave every setting as it was?"""
    admin = sign_in_as(Role.ADMIN)
    light = _settings(admin, brand_color="#ffd54f", timezone="Europe/Paris")
    assert light.status_code == 200
    assert "contrast of 1." in light.get_data(as_text=True)
    fake = _settings(admin, logo=(io.BytesIO(b"<svg onload=alert(1)>"), "logo.png"))
    assert fake.status_code == 200 and "not an image we can read" in fake.get_data(as_text=True)
    monkeypatch.setattr(branding, "LOGO_MAX_BYTES", 2_000)  # small bodies stay in memory
    noise = io.BytesIO()
    Image.frombytes("RGB", (60, 60), os.urandom(60 * 60 * 3)).save(noise, "PNG")
    huge = _settings(admin, logo=(io.BytesIO(noise.getvalue()), "big.png"))
    assert "too large" in huge.get_data(as_text=True)
    db.session.refresh(org.org)
    assert (org.org.brand_color, org.org.logo_key, org.org.timezone) == (None, None, "UTC")


def test_emails_come_from_the_organisations_name_at_the_servers_address(app, org):
    """Does the candidate see the organisation (or its chosen sender name) as the sender, with
    the server's own address (so SPF and DKIM still match)?"""
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])

    def sent() -> email.message.EmailMessage:
        before = set(outbox.glob("*.eml"))
        email_jobs.send_invitation(org.invitation.id)
        (newest,) = set(outbox.glob("*.eml")) - before
        return email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)

    first = sent()
    org.org.sender_name = "Northwind Talent"
    db.session.commit()
    second = sent()
    address = email.utils.parseaddr(app.config["MAIL_DEFAULT_SENDER"])[1]
    assert first["From"].addresses[0].display_name == org.org.name
    assert second["From"].addresses[0].display_name == "Northwind Talent"
    assert {first["From"].addresses[0].addr_spec, second["From"].addresses[0].addr_spec} == {
        address
    }
