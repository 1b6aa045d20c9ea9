"""Candidates see deadlines in their browser's own time zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from interview.extensions import db
from interview.filters import deadline

from .. import factories

FUTURE = datetime(2036, 12, 1, 17, 0, tzinfo=UTC)  # a deadline still ahead whenever this runs


@pytest.mark.slow
@pytest.mark.browser
def test_a_candidate_sees_the_deadline_in_their_browsers_zone(app, live_server, browser):
    """A candidate in Buenos Aires, invited by an organisation in Berlin: is the deadline on the
    landing page in their own time, with their zone named?"""
    o = factories.org_with_staff("Zonal")
    o.org.timezone = "Europe/Berlin"
    inv, token = factories.invitation(o.screening, email="ana@example.com", started=False)
    inv.expires_at = FUTURE
    db.session.commit()
    context = browser.new_context(timezone_id="America/Argentina/Buenos_Aires")
    try:
        page = context.new_page()
        page.goto(f"{live_server}/i/{token}")
        when = page.locator("time[data-local-time]").first
        expect(when).to_contain_text("Argentina")
        expect(when).to_contain_text("2:00")  # 17:00 UTC is 14:00 in Buenos Aires
        assert when.get_attribute("datetime") == FUTURE.isoformat()
        assert when.get_attribute("title") == deadline(FUTURE, "Europe/Berlin")
    finally:
        context.close()
