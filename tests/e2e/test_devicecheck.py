"""The device check before the first question: what a person sees when the browser refuses
the camera and microphone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interview.models import TakeStatus

from .candidate import Candidate
from .conftest import DESKTOP, PHONE, Spec, takes_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_blocked_camera_shows_guidance_and_no_question(
    live_server, asking_browser, make_interview, artifacts, viewport
):
    """With camera and microphone permission denied, does the page explain how to allow them,
    offer "Try again", and keep the questions hidden?"""
    _, token = make_interview()
    context = asking_browser.new_context(viewport=viewport)
    context.grant_permissions([])  # nothing granted: getUserMedia is refused
    try:
        me = Candidate(context.new_page(), live_server, token, artifacts)
        me.open()
        me.page.get_by_role("button", name="Turn on camera and microphone").click()
        denied = me.page.locator("#dc-denied")
        expect(denied).to_be_visible()
        expect(denied).to_contain_text("Your browser blocked the camera and microphone")
        expect(denied).to_contain_text("allow the camera and microphone for this site")
        expect(me.page.get_by_role("button", name="Try again")).to_be_visible()
        expect(me.page.locator("#dc-live")).to_be_hidden()
        expect(me.page.locator("#question")).to_be_hidden()
        me.shot("permission-denied")
    finally:
        context.close()


def test_audio_only_answer_is_recorded_and_processed_without_a_picture(
    live_server, context, make_interview, artifacts, run_media_worker
):
    """When the interview allows audio-only answers, can the candidate choose the microphone
    only, and does the server get (and process) an audio recording marked as such?"""
    invitation_id, token = make_interview(
        [Spec("Introduce yourself.", think=0)], audio_only_allowed=True
    )
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.open()
    me.page.get_by_role("button", name="Turn on camera and microphone").click()
    me.page.get_by_label("Answer with my microphone only").check()
    expect(me.page.locator("#dc-audio-note")).to_be_visible()
    expect(me.page.locator("#dc-preview")).to_be_hidden()
    me.device_check()
    me.reveal()
    me.start_when_ready()
    take_id = me.record(2)
    me.wait_saved()
    assert me.takes[take_id]["mimeType"].startswith("audio/webm")
    me.shot("audio-only-saved")
    run_media_worker()
    (take,) = takes_of(invitation_id)
    assert take.audio_only and take.content_type == "audio/webm"
    assert take.status == TakeStatus.READY, take.failure_reason
