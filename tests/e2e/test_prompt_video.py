"""A question asked on video: the candidate sees it while thinking, never while recording."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interview.extensions import db
from interview.models import Invitation
from interview.recruiter import services as recruiting

from .. import clips
from .candidate import Candidate
from .conftest import Spec

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_question_video_plays_while_thinking_and_stops_for_the_answer(
    live_server, context, make_interview, artifacts, tmp_path
):
    clip = clips.h264_mp4(tmp_path / "ask.mp4", tone_hz=330)
    invitation_id, token = make_interview([Spec("What drives you?", think=0)], started=False)
    question = db.session.get(Invitation, invitation_id).screening.questions[0]
    with open(clip, "rb") as upload:
        recruiting.set_prompt_video(question, upload)
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.consent_and_start()
    me.device_check(test_recording=False)
    me.reveal()
    video = me.page.locator("#q-prompt-video")
    expect(video).to_be_visible()
    assert f"/i/{token}/api/questions/0/video" in video.get_attribute("src")
    me.page.wait_for_function(
        "() => document.querySelector('#q-prompt-video').readyState >= 1", timeout=15_000
    )
    assert me.page.evaluate("() => document.querySelector('#q-prompt-video').duration") > 1.5
    me.shot("prompt-video")
    me.start_when_ready()
    expect(me.page.locator("#q-recording")).to_be_visible()
    expect(video).to_be_hidden()
    assert me.page.evaluate("() => document.querySelector('#q-prompt-video').paused")
    assert me.page_errors() == []
