"""The accessibility gate: axe-core finds no WCAG 2.2 A/AA violation, and nothing overflows a
390 px phone, on every staff page (each role, every GET route of the URL map) and on every state a
candidate goes through.

axe-core is a third-party engine (vendored from npm under tests/e2e/vendor), run inside Debian's
Chromium by Playwright. The gate runs once (on SQLite): pages look the same on PostgreSQL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from interview.candidate import turns
from interview.extensions import db
from interview.models import Invitation, Role, utcnow

from ..test_access_control import PUBLIC, ROUTES, _url
from .candidate import Candidate
from .conftest import DESKTOP, PHONE, Spec, sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")), reason="pages are the same on PostgreSQL"
    ),
]

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}


def audit(page) -> list[str]:
    """axe-core's WCAG A/AA violations on the page as it is now, plus horizontal overflow."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate(
        """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                        resultTypes: ['violations']})""",
        WCAG_AA,
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(
            f"{' '.join(n['target'])}: {n.get('failureSummary', '').splitlines()[-1].strip()}"
            for n in v["nodes"][:4]
        )
        for v in result["violations"]
    ]  # fmt: skip
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        culprits = page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                const wide = [...document.body.querySelectorAll('*')].filter((el) => {
                    const r = el.getBoundingClientRect();
                    const scroller = el.parentElement
                        && el.parentElement.closest('.table-responsive, .scroll-x, pre');
                    return r.right > width + 1 && !scroller;
                });
                // the innermost ones: those with no wide child
                return wide.filter((el) => !wide.some((o) => o !== el && el.contains(o)))
                    .slice(0, 4).map((el) => el.tagName.toLowerCase()
                        + (el.id ? '#' + el.id : '')
                        + (el.className && el.className.baseVal === undefined
                           ? '.' + String(el.className).trim().split(/\\s+/).join('.') : ''));
            }"""
        )
        problems.append(
            f"horizontal overflow: the page is {overflow}px wider than the screen ({culprits})"
        )
    return problems


def _staff_pages(app, org, role: Role) -> list[tuple[str, str]]:
    allowed = [
        (endpoint, rule)
        for endpoint, rule, method in ROUTES
        if method == "GET"
        and endpoint not in PUBLIC
        and role in getattr(app.view_functions[endpoint], "allowed_roles", ())
    ]
    return [(endpoint, _url(app, endpoint, org)) for endpoint, _rule in allowed]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RECRUITER, Role.REVIEWER, Role.HR])
def test_every_staff_page_passes_axe_in_both_viewports(app, org, live_server, browser, role):
    """Does every page a member of staff can open pass WCAG 2.2 AA, on a desktop and a phone?"""
    pages = _staff_pages(app, org, role)
    assert pages, role
    failures: dict[str, list[str]] = {}
    checked = 0
    for name, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        try:
            page = context.new_page()
            sign_in(page, live_server, org.users[role].email)
            for endpoint, url in pages:
                probe = context.request.get(live_server + url, max_redirects=0)
                if probe.status != 200 or "text/html" not in probe.headers.get("content-type", ""):
                    continue  # media, downloads, JSON and redirects are not pages
                page.goto(live_server + url)
                checked += 1
                problems = audit(page)
                if problems:
                    failures[f"{name} {endpoint} {url}"] = problems
        finally:
            context.close()
    assert checked >= 2 * 5, checked
    assert failures == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in failures.items())


def test_every_candidate_state_passes_axe_in_both_viewports(
    app, live_server, browser, make_interview, artifacts
):
    """From the invitation page to the receipt, and the pages for links that no longer work:
    no WCAG 2.2 AA violation and no overflow, on a desktop and a phone."""
    failures: dict[str, list[str]] = {}

    def check(state: str, page) -> None:
        problems = audit(page)
        if problems:
            failures[state] = problems

    for name, viewport in VIEWPORTS.items():
        _, token = make_interview(
            [Spec("Practice", think=0, practice=True), Spec("Tell us about you.", think=0)],
            started=False,
        )
        context = browser.new_context(viewport=viewport, bypass_csp=True)
        try:
            me = Candidate(context.new_page(), live_server, token, artifacts)
            page = me.page
            page.goto(f"{live_server}/i/{token}")
            check(f"{name} landing", page)
            page.get_by_role("button", name="Agree and start").click()  # without consent
            check(f"{name} consent refused", page)
            me.consent_and_start()
            check(f"{name} device check", page)
            page.get_by_role("button", name="Turn on camera and microphone").click()
            expect(page.locator("#dc-live")).to_be_visible()
            check(f"{name} device check, camera on", page)
            page.locator("#dc-continue").click()
            expect(page.locator("#question")).to_be_visible()
            check(f"{name} before a question", page)
            me.reveal()
            check(f"{name} question shown", page)
            me.start_when_ready()
            expect(page.locator("#q-recording")).to_be_visible()
            check(f"{name} recording", page)
            me.record(1.5)
            check(f"{name} recorded, saving", page)
            me.wait_saved()
            me.keep()
            me.reveal()
            me.start_when_ready()
            me.record(1.5)
            me.wait_saved()
            me.keep()
            page.wait_for_url(f"{live_server}/i/{token}/review")
            check(f"{name} review before submitting", page)
            page.get_by_role("button", name="Submit my answers").click()
            page.wait_for_url(f"{live_server}/i/{token}/done")
            check(f"{name} receipt", page)
            page.locator("#your-data a").click()  # the candidate's "your data" link
            check(f"{name} your data", page)
            page.get_by_label("Yes, delete my answers and everything else stored about me.").check()
            page.get_by_role("button", name="Delete my data").click()
            expect(page.get_by_text("You asked for deletion")).to_be_visible()
            check(f"{name} your data, deletion asked", page)
            page.goto(f"{live_server}/i/{'x' * 43}")
            check(f"{name} invalid link", page)
            # Too many candidates starting at once: another step holds the only turn.
            kept = app.extensions[turns.EXTENSION]
            app.extensions[turns.EXTENSION] = turns.Turns(1, wait_seconds=0.05)
            try:
                with app.extensions[turns.EXTENSION].turn():
                    answer = page.goto(f"{live_server}/i/{token}")
                    assert answer is not None and answer.status == 503
                    check(f"{name} busy", page)
            finally:
                app.extensions[turns.EXTENSION] = kept
        finally:
            context.close()

    inv, token = make_interview([Spec("Q", think=0)], started=False)
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    try:
        page = context.new_page()
        _expire(inv)
        page.goto(f"{live_server}/i/{token}")
        check("phone expired link", page)
    finally:
        context.close()
    assert failures == {}, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in failures.items())


def _expire(invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
