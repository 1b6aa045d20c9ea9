"""Reviewing by text in Chromium: captions on the player (textTracks), the transcript that
follows playback, click-to-seek, quoting a phrase into a comment, a search result that plays
from its moment, and transcript-only review with no player at all."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interview.extensions import db
from interview.models import AssetKind, Comment, ReviewMode, Role
from interview.reports.services import scored_responses

from .. import clips, factories
from .conftest import PHONE, sign_in
from .test_axe import audit

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LINES = [
    (0, 2400, "I have run Kubernetes clusters for five years."),
    (2400, 5200, "During an outage I open an escalation and keep a timeline."),
    (5200, 7800, "Afterwards we write down what we learned."),
]


@pytest.fixture
def transcribed_candidate(org, tmp_path):
    mp4 = clips.h264_mp4(tmp_path / "answer.mp4", seconds=8).read_bytes()
    inv = factories.completed_candidate(org.screening, "Tess Text", duration_ms=8000)
    (response, _q) = scored_responses([inv.id])[0]
    factories.stored_asset(response.take, AssetKind.MP4, mp4, "video/mp4")
    factories.transcribed(response.take, LINES)
    db.session.commit()
    return inv, response


def test_captions_transcript_seek_quote_and_search_in_the_browser(
    org, transcribed_candidate, live_server, context, artifacts
):
    inv, response = transcribed_candidate
    page = context.new_page()
    sign_in(page, live_server, org.users[Role.REVIEWER].email)

    # Search from the queue; the result opens the answer at the sentence's moment.
    page.goto(f"{live_server}/review/screenings/{org.screening.id}")
    page.get_by_label("Find candidates whose answers mention…").fill("escalation")
    page.get_by_role("button", name="Search answers").click()
    expect(page.locator(".search-hits mark")).to_have_text("escalation")
    page.screenshot(path=artifacts / "1-search.png", full_page=True)
    assert audit(page) == []  # WCAG 2.2 AA (axe-core), as every staff page
    page.locator(".search-hits a").first.click()
    expect(page.locator("body")).to_have_attribute("data-review-ready", "true")
    video = page.locator("video.answer-media").first
    expect(video).to_have_js_property("readyState", 4, timeout=20_000)
    page.wait_for_function(
        "() => Math.abs(document.querySelector('video').currentTime - 2.4) < 0.3"
    )
    expect(page.locator(".transcript-line.active")).to_contain_text("open an escalation")

    # Captions: the track is loaded with our cues and shown; the toggle hides and shows it.
    page.wait_for_function(
        "() => { const t = document.querySelector('video').textTracks[0];"
        " return t && t.cues && t.cues.length === 3; }"
    )
    track = video.evaluate(
        "v => ({kind: v.textTracks[0].kind, mode: v.textTracks[0].mode,"
        " first: v.textTracks[0].cues[0].text.replace(/\\s+/g, ' '),"
        " end: v.textTracks[0].cues[2].endTime})"
    )
    assert track == {"kind": "captions", "mode": "showing", "first": LINES[0][2], "end": 7.8}
    toggle = page.get_by_role("button", name="Captions")
    toggle.click()
    assert video.evaluate("v => v.textTracks[0].mode") == "hidden"
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    assert video.evaluate("v => v.textTracks[0].mode") == "showing"

    # Click a phrase: the player seeks there and that phrase is highlighted.
    page.locator(".transcript-line").nth(2).click()
    page.wait_for_function("() => document.querySelector('video').currentTime >= 5.1")
    expect(page.locator(".transcript-line").nth(2)).to_have_class("transcript-line active")
    video.evaluate("v => v.pause()")

    # Quote the current phrase into a comment, tied to its moment.
    page.get_by_role("button", name="Quote").click()
    box = page.locator(".comment-form textarea").first
    expect(box).to_have_value(f"“{LINES[2][2]}” ")
    box.press("End")
    box.type("shows reflection")
    page.locator(".comment-form button[type=submit]").first.click()
    expect(page.locator(".comment-seek")).to_be_visible()
    comment = db.session.scalar(db.select(Comment))
    assert comment.body == f"“{LINES[2][2]}” shows reflection"
    assert 5100 <= comment.at_ms <= 6500
    page.screenshot(path=artifacts / "2-reviewer-desktop.png", full_page=True)
    assert audit(page) == []

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator(".transcript-line").first).to_be_visible()
    page.screenshot(path=artifacts / "3-reviewer-phone.png", full_page=True)
    assert audit(page) == []  # includes: nothing overflows the phone's screen


def test_transcript_only_review_has_no_player_and_comments_keep_the_phrase_moment(
    org, transcribed_candidate, live_server, context, artifacts
):
    org.screening.review_mode = ReviewMode.TRANSCRIPT
    db.session.commit()
    inv, _response = transcribed_candidate
    page = context.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, live_server, org.users[Role.REVIEWER].email)
    page.goto(f"{live_server}/review/candidates/{inv.id}")
    expect(page.locator("#review-mode")).to_contain_text("Transcript-only review")
    assert page.locator("video, audio").count() == 0
    assert not [u for u in requested if "/media/assets/" in u]
    page.locator(".transcript-line").nth(1).click()
    expect(page.locator(".transcript-line").nth(1)).to_have_class("transcript-line active")
    expect(page.locator(".comment-moment").first).to_have_text("at 0:02")
    page.screenshot(path=artifacts / "1-transcript-only.png", full_page=True)
    assert audit(page) == []
