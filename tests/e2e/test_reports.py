"""HR in a real browser: asks for a candidate's PDF, watches the row turn ready without a
reload (the page polls its status endpoint), downloads the file, opens the HTML preview."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from interview.extensions import db
from interview.models import Report, Role
from interview.reports import reporting

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_hr_downloads_a_candidate_pdf_that_turns_ready_without_a_reload(
    org, live_server, context, artifacts
):
    poster = io.BytesIO()
    Image.new("RGB", (640, 360), (40, 90, 160)).save(poster, "JPEG")
    inv = factories.completed_candidate(
        org.screening, "Petra Printable", "petra@example.com", poster=poster.getvalue()
    )
    factories.scored_review(inv, org.users[Role.REVIEWER], [[4]], "advance")
    db.session.commit()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, org.users[Role.HR].email)

    page.goto(f"{live_server}/screenings/{org.screening.id}")
    page.get_by_role("link", name="Reports (PDF, CSV)").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    row = page.locator("tr", has_text="Petra Printable")
    row.get_by_label("Paper for Petra Printable").select_option("Letter")
    row.get_by_role("button", name="Download PDF").click()

    report_row = page.locator("[data-report]")
    expect(report_row).to_have_attribute("data-status", "queued")
    expect(report_row.get_by_role("link", name="Download")).to_be_hidden()
    page.screenshot(path=artifacts / "1-queued.png", full_page=True)

    db.session.expire_all()
    (report,) = db.session.scalars(sa.select(Report)).all()
    reporting.render(report.id)  # what the worker's job does

    expect(report_row).to_have_attribute("data-status", "ready")  # no reload: polling
    expect(report_row.locator("[data-role=status]")).to_have_text("ready")
    download_link = report_row.get_by_role("link", name="Download")
    expect(download_link).to_be_visible()
    page.screenshot(path=artifacts / "2-ready.png", full_page=True)
    with page.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename.startswith("Support Engineer - Petra Printable - Letter")
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf_file:
        assert pdf_file.read(5) == b"%PDF-"

    page.goto(f"{live_server}/reports/candidates/{inv.id}/preview")
    expect(page.locator("h1")).to_contain_text("Petra Printable")
    expect(page.locator(".poster img")).to_have_js_property("complete", True)
    assert page.locator(".poster img").evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=artifacts / "3-preview.png", full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
