"""A hiring manager opens a share link in Chromium, without an account, and watches answers."""

from __future__ import annotations

import os

import pytest

from interview.extensions import db
from interview.models import AssetKind, Role
from interview.shares import services as shares

from .. import factories
from ..clips import h264_mp4
from .conftest import DESKTOP, PHONE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="a browser check run once per suite (on SQLite); the share and integration "
        "tests behind it run on both databases",
    ),
]


def test_hiring_manager_watches_shared_answers_without_an_account(
    app, live_server, browser, artifacts, tmp_path
):
    org = factories.org_with_staff("Northwind")
    take = org.completed.questions[1].response.take
    clip = h264_mp4(tmp_path / "answer.mp4", seconds=2)
    factories.stored_asset(take, AssetKind.MP4, clip.read_bytes(), "video/mp4")
    db.session.commit()
    _share, token = shares.create(
        org.screening,
        [org.completed.id],
        org.users[Role.RECRUITER],
        recipient="Dana (hiring manager)",
        show_scores=True,
    )
    context = browser.new_context(viewport=DESKTOP)  # a fresh browser: no session, no account
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/s/{token}")
    assert page.get_by_text("Shared by").is_visible()
    assert page.get_by_role("heading", name="Robin Reviewed").is_visible()
    video = page.locator("video.shared-video").first
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function(
        "() => document.querySelector('video.shared-video').currentTime > 0.5", timeout=15_000
    )
    assert video.evaluate("v => v.duration") > 1.5
    page.screenshot(path=str(artifacts / "share-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(artifacts / "share-phone.png"), full_page=True)
    assert not problems, problems
    context.close()
