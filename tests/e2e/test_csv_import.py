"""A recruiter in a real browser imports a CSV of candidates: the page shows the job's progress
and, without a reload by hand, the results by line once a real worker has run the import."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interview.models import Role

from .conftest import PHONE, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_csv_import_shows_progress_then_results_by_line(
    org, live_server, context, artifacts, run_media_worker, tmp_path
):
    rows = "".join(f"Person {n},person{n}@example.com\n" for n in range(60))
    csv_file = tmp_path / "candidates.csv"
    csv_file.write_text("name,email\n" + rows + "Nobody,not-an-email\n")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, org.users[Role.RECRUITER].email)
    page.goto(f"{live_server}/screenings/{org.screening.id}")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Invite from CSV").click()

    expect(page.get_by_role("heading", name="CSV import")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("0 of 61 rows")
    page.screenshot(path=artifacts / "1-waiting.png", full_page=True)

    run_media_worker(queues="imports")  # a real worker on the imports queue runs the job

    summary = page.locator("#import-summary")  # the page polled, then reloaded itself
    expect(summary).to_have_text("60 invited · 1 row with errors · 0 duplicates")
    expect(page.get_by_text("Line 62: not-an-email")).to_be_visible()
    expect(page.get_by_text("Line 2: Person 0 <person0@example.com>")).to_be_visible()
    page.screenshot(path=artifacts / "2-done.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=artifacts / "3-done-phone.png", full_page=False)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
