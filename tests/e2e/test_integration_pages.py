"""The admin's Integrations pages and the API reference in Chromium: they render (desktop and
phone) with no console error, so the CSP admits Swagger UI's vendored files."""

from __future__ import annotations

import os

import pytest

from interview.extensions import db
from interview.models import Role
from interview.shares import services as shares
from interview.webhooks import services as webhooks

from .. import factories
from .conftest import PHONE, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="a browser check run once per suite (on SQLite); the share and integration "
        "tests behind it run on both databases",
    ),
]


def test_integration_pages_render_without_errors(app, live_server, context, artifacts):
    org = factories.org_with_staff("Northwind")
    endpoint, _secret = webhooks.create_endpoint(
        org.org.id, "http://127.0.0.1:9/hooks", ["interview.completed", "decision.recorded"]
    )
    webhooks.emit_for_invitation(org.completed, "interview.completed")
    db.session.commit()
    delivery = webhooks.deliveries(endpoint)[0]
    webhooks.deliver(delivery.id)  # nothing listens on port 9: a logged, failed attempt
    shares.create(org.screening, [org.completed.id], org.users[Role.RECRUITER], recipient="Dana")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, org.users[Role.ADMIN].email)

    def shoot(path: str, name: str, ready: str) -> None:
        page.set_viewport_size({"width": 1280, "height": 860})
        page.goto(live_server + path)
        page.wait_for_selector(ready)
        page.screenshot(path=str(artifacts / f"{name}-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts / f"{name}-phone.png"), full_page=True)

    page.goto(f"{live_server}/admin/api-keys/")
    page.get_by_label("Name").fill("Greenhouse ATS")
    page.get_by_label("invite: create, extend").check()
    page.get_by_role("button", name="Create key").click()
    assert page.locator("#api-key").inner_text().startswith("ivk_")
    page.screenshot(path=str(artifacts / "key-shown-desktop.png"))
    shoot("/admin/api-keys/", "api-keys", "text=Greenhouse ATS")
    shoot("/admin/webhooks/", "webhooks", "text=New endpoint")
    shoot(f"/admin/webhooks/{endpoint.id}", "webhook-detail", "text=Deliveries")
    assert (
        page.get_by_text("Connection refused").count() >= 1 or page.get_by_text("refused").count()
    )
    shoot(f"/shares/screenings/{org.screening.id}", "shares", "text=New link")
    shoot("/api/v1/docs", "api-docs", ".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() >= 17
    assert not problems, problems
