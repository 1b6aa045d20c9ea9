"""The server decides timing: a page whose clock is tampered with, or a script calling the API
directly, cannot start late or record longer than the answer limit."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest
from playwright.sync_api import expect

from interview.models import TakeStatus

from .candidate import Candidate
from .conftest import Spec, takes_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def app_config(app_config):
    """Short grace periods so the tests need not wait long (production keeps 5 s)."""
    return {**app_config, "TIMING_GRACE_SECONDS": 1, "MEDIA_GRACE_SECONDS": 0}


def test_late_start_is_refused_even_when_the_page_clock_is_frozen(
    live_server, context, make_interview, artifacts
):
    """A page whose clock stands still never ends the think time by itself; does the server
    still refuse a recording that starts after think time + grace, and say why?"""
    invitation_id, token = make_interview([Spec("Why do you want this job?", think=2)])
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    me.page.evaluate("() => { const frozen = Date.now(); Date.now = () => frozen; }")
    me.reveal()
    me.page.wait_for_timeout(4000)  # think 2 s + grace 1 s have passed on the server
    expect(me.page.locator("#q-think")).to_be_visible()  # the tampered page did not start
    me.page.get_by_role("button", name="Start recording now").click()
    expect(me.page.locator("#problem")).to_have_text("The time to start this answer ran out.")
    me.shot("late-start-refused")
    (take,) = takes_of(invitation_id)
    assert take.status == TakeStatus.FAILED
    assert take.failure_reason == "recording started after the think time"
    assert take.bytes_received == 0
    # The refused start used the attempt; the page offers the remaining one.
    expect(me.page.locator("#q-before")).to_be_visible()
    expect(me.page.locator("#q-attempts")).to_have_text("1 attempt left of 2")


def test_answer_longer_than_the_limit_sent_from_the_page_is_refused_by_processing(
    live_server, context, make_interview, artifacts, tmp_path, run_media_worker
):
    """A script in the page skips the recorder's stop at the limit and uploads an 18 s answer
    to a 15 s question through the real tus client: does the media pipeline refuse it?"""
    clip = tmp_path / "long.webm"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=5:d=18",
         "-f", "lavfi", "-i", "sine=f=440:r=48000:d=18", "-c:v", "libvpx", "-deadline",
         "realtime", "-cpu-used", "8", "-b:v", "100k", "-c:a", "libopus", "-f", "webm", str(clip)],
        check=True, timeout=120,
    )  # fmt: skip
    invitation_id, token = make_interview([Spec("Walk us through your CV.", think=0, answer=15)])
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.open()
    expect(me.page.locator("#devicecheck")).to_be_visible()
    answer = me.page.evaluate(
        """async ([data]) => {
            const tus = await import("/static/js/tus.js");
            const stateUrl = document.querySelector("#interview").dataset.stateUrl;
            const state = await (await fetch(stateUrl)).json();
            const q = state.questions[0];
            await fetch(q.reveal_url, { method: "POST" });
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const created = await tus.create(q.upload_create_url, { filetype: "video/webm" });
            const { location, take } = created;
            const offset = await tus.patch(location, 0, bytes, bytes.length);
            return { take: take.id, offset, length: bytes.length };
        }""",
        [base64.b64encode(clip.read_bytes()).decode()],
    )
    assert answer["offset"] == answer["length"]
    (take,) = takes_of(invitation_id)
    assert take.status == TakeStatus.UPLOADED
    run_media_worker()
    (take,) = takes_of(invitation_id)
    assert take.status == TakeStatus.FAILED
    assert take.failure_reason == "longer than the answer limit"
    # The page, reloaded, shows the refusal and offers the remaining attempt.
    me.page.reload()
    me.device_check(test_recording=False)
    expect(me.page.locator("#q-attempts")).to_have_text("1 attempt left of 2")
    me.shot("over-long-refused")


def test_countdowns_follow_the_server_clock_when_the_device_clock_is_an_hour_off(
    live_server, context, make_interview, artifacts
):
    """A laptop whose clock is an hour behind: does the think countdown still show the
    server's 2 seconds, and does recording start by itself when they end?"""
    invitation_id, token = make_interview([Spec("What is your favourite tool?", think=2)])
    page = context.new_page()
    page.add_init_script(
        "{ const real = Date.now.bind(Date); Date.now = () => real() - 3600 * 1000; }"
    )
    me = Candidate(page, live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    me.reveal()
    # Not "60:02": the countdown is measured on the server's clock.
    expect(page.locator("#q-think-left")).to_have_text(re.compile(r"^0:0[0-2]$"))
    me.record(1.5)
    me.wait_saved()
    (take,) = takes_of(invitation_id)
    assert take.status != TakeStatus.FAILED, take.failure_reason
    # Started by itself when the 2 s ran out (not an hour later, not refused as late).
    assert 1.0 <= (take.started_at - take.revealed_at).total_seconds() <= 6.0


def test_recording_stops_by_itself_at_the_answer_limit(
    live_server, context, make_interview, artifacts
):
    """Nobody presses Stop: does recording end by itself when the answer time is up? (The
    page's clock is moved 13 s ahead mid-answer so the test need not wait 15 s.)"""
    invitation_id, token = make_interview([Spec("Summarise your week.", think=0, answer=15)])
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.begin_answer()
    me.page.wait_for_timeout(1000)
    me.page.evaluate("() => { const real = Date.now; Date.now = () => real() + 13000; }")
    expect(me.page.locator("#q-review")).to_be_visible(timeout=5000)
    expect(me.page.locator("#q-announce")).to_have_text("Recording stopped.")
    me.wait_saved()
    (take,) = takes_of(invitation_id)
    assert take.status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING)
