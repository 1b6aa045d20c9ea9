"""A reviewer in a real browser: watches at 2×, seeks by a comment's time, scores by keyboard."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from interview.extensions import db
from interview.models import AssetKind, Comment, Criterion, Review, Role, Score
from interview.reports.services import scored_responses

from .. import clips, factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def candidate_with_video(org, tmp_path):
    s = org.screening
    s.rubric.criteria.append(Criterion(name="Empathy", weight=1.0, position=1))
    db.session.commit()
    mp4 = clips.h264_mp4(tmp_path / "answer.mp4", seconds=12).read_bytes()
    inv = factories.completed_candidate(s, "Vera Video", "vera@example.com", duration_ms=12_000)
    (response, _q) = scored_responses([inv.id])[0]
    factories.stored_asset(response.take, AssetKind.MP4, mp4, "video/mp4")
    db.session.commit()
    return inv


def test_reviewer_watches_at_2x_seeks_by_comment_and_scores_with_keyboard(
    org, candidate_with_video, live_server, context, artifacts
):
    inv = candidate_with_video
    reviewer = org.users[Role.REVIEWER]
    page = context.new_page()
    sign_in(page, live_server, reviewer.email)

    page.goto(f"{live_server}/review/screenings/{org.screening.id}")
    page.screenshot(path=artifacts / "1-queue.png", full_page=True)
    page.get_by_role("link", name="Vera Video").click()
    expect(page.locator("#candidate-name")).to_have_text("Vera Video")
    expect(page.locator("body")).to_have_attribute("data-review-ready", "true")
    video = page.locator("video.answer-video").first
    expect(video).to_have_js_property("readyState", 4, timeout=20_000)

    # Watch at 2×: the media clock runs about twice as fast as the wall clock.
    page.get_by_role("button", name="2×").first.click()
    assert video.evaluate("v => v.playbackRate") == 2
    page.keyboard.press("k")  # play
    start_media = video.evaluate("v => v.currentTime")
    start_wall = time.monotonic()
    page.wait_for_timeout(1500)
    page.keyboard.press("k")  # pause
    watched = video.evaluate("v => v.currentTime") - start_media
    elapsed = time.monotonic() - start_wall
    assert video.evaluate("v => v.paused")
    assert watched > 1.5 * elapsed * 0.9, (watched, elapsed)  # clearly faster than 1×

    # Comment at the current moment (keyboard: c focuses the comment box).
    moment_ms = round(video.evaluate("v => v.currentTime") * 1000)
    page.keyboard.press("c")
    page.keyboard.type("Good example of ownership here")
    page.locator(".comment-form button[type=submit]").first.click()
    seek_button = page.locator(".comment-seek").first
    expect(seek_button).to_be_visible()
    comment = db.session.scalar(sa.select(Comment))
    assert comment.body == "Good example of ownership here"
    assert abs(comment.at_ms - moment_ms) < 300

    # Move away with the keyboard (j: back 5 s), then seek by clicking the comment's time.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    assert video.evaluate("v => v.currentTime") < comment.at_ms / 1000 - 1
    seek_button.click()
    page.wait_for_timeout(300)
    at = video.evaluate("v => v.currentTime")
    assert comment.at_ms / 1000 - 0.1 <= at <= comment.at_ms / 1000 + 1.5, at
    page.keyboard.press("k")
    if not video.evaluate("v => v.paused"):
        page.keyboard.press("k")

    # Score with the keyboard: digits fill the current answer's unscored criteria in order.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("4")
    page.keyboard.press("3")
    expect(page.locator("#save-status")).to_have_text("All changes saved")
    expect(page.locator(".answer-score").first).to_have_text("3.50")
    review = db.session.scalar(sa.select(Review).where(Review.reviewer_id == reviewer.id))
    values = db.session.scalars(
        sa.select(Score.value).where(Score.review_id == review.id).order_by(Score.criterion_id)
    ).all()
    assert values == [4, 3]  # saved as given, before any submit

    # Recommendation by keyboard too: focus the group and choose with the arrow keys.
    page.locator("#rec-advance").focus()
    page.keyboard.press("Space")
    expect(page.locator("#save-status")).to_have_text("All changes saved")
    page.screenshot(path=artifacts / "2-scored.png", full_page=True)

    # Closing the tab while a note is still being typed (before its autosave pause) loses
    # nothing either: the page hands it to navigator.sendBeacon on the way out.
    page.locator("#note").fill("Typed just before closing")
    page.close(run_before_unload=True)
    for _ in range(50):
        db.session.expire_all()
        if db.session.get(Review, review.id).note == "Typed just before closing":
            break
        time.sleep(0.1)
    assert db.session.get(Review, review.id).note == "Typed just before closing"

    # Reopening shows everything as it was left.
    page = context.new_page()
    page.goto(f"{live_server}/review/candidates/{inv.id}")
    expect(page.locator("input[name^=score-][value='4']").first).to_be_checked()
    expect(page.locator("#rec-advance")).to_be_checked()
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator(".alert-success")).to_contain_text("Review submitted")
    db.session.expire_all()
    assert db.session.get(Review, review.id).status == "submitted"
    page.screenshot(path=artifacts / "3-submitted.png", full_page=True)
