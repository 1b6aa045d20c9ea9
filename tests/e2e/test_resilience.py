"""Nothing recorded is lost: a dropped network in the middle of an answer, a reload after a
kept answer, in the middle of an upload and in the middle of a recording."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from interview.models import TakeStatus

from .candidate import Candidate
from .conftest import Spec, original_bytes, sha256, takes_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BUSY_TEXT = "The server is busy right now. Nothing is lost: this page tries again by itself."
OFFLINE_TEXT = (
    "offline: your answer is safe on this device and will upload when you are back online"
)


def test_answer_recorded_through_a_network_drop_is_stored_byte_for_byte(
    live_server, context, make_interview, artifacts
):
    """Does an answer survive the network going away mid-recording: the page says so, Keep
    waits, and once back online the server's file is exactly what the recorder produced?"""
    invitation_id, token = make_interview([Spec("Describe a hard bug you fixed.", think=0)])
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.begin_answer()
    me.page.wait_for_timeout(1200)
    context.set_offline(True)
    me.page.wait_for_timeout(3000)
    expect(me.page.locator("#net-status")).to_contain_text(OFFLINE_TEXT)
    me.shot("offline-while-recording")
    take_id = me.record(0.3)  # stop while still offline
    expect(me.page.locator("#q-save")).to_have_attribute("data-phase", "offline")
    expect(me.page.locator("#q-keep")).to_be_disabled()
    me.shot("offline-stopped-keep-disabled")
    sent_while_offline = takes_of(invitation_id)[0].bytes_received
    me.page.wait_for_timeout(1500)
    context.set_offline(False)
    me.wait_saved()
    expect(me.page.locator("#net-status")).to_be_hidden()
    me.shot("back-online-saved")

    take = takes_of(invitation_id)[0]
    stored = original_bytes(take)
    recorded = me.takes[take_id]
    assert take.status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING)
    assert sent_while_offline < len(stored)  # the tail really was held back on the device
    assert (len(stored), sha256(stored)) == (recorded["bytes"], recorded["sha256"])
    assert recorded["chunks"] >= 4  # ~1 s chunks across the drop
    assert me.page_errors() == []


def test_reload_resumes_at_the_right_question_and_finishes_interrupted_uploads(
    live_server, context, make_interview, artifacts
):
    """After a reload (1) following a kept answer, (2) in the middle of an upload and (3) in
    the middle of a recording, is the candidate back at the right question with nothing lost?"""
    invitation_id, token = make_interview(
        [
            Spec("Practice: say hello.", think=0, practice=True),
            Spec("What did you learn last year?", think=0),
            Spec("What do you want to learn next?", think=0),
        ]
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page while recording?"
    me = Candidate(page, live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    me.reveal()
    me.start_when_ready()
    me.record(1.5)
    me.wait_saved()
    me.keep()
    me.expect_heading("Question 1 of 2")

    # (1) Reload after a kept answer: straight back to question 1 (device already checked).
    page.reload()
    me.expect_heading("Question 1 of 2")
    expect(page.locator("#q-before")).to_be_visible()
    me.shot("reloaded-after-kept-answer")

    # (2) Reload in the middle of an upload: the server accepts two PATCHes, then the
    # connection "drops" for every further one; the rest waits in IndexedDB.
    patches = {"n": 0}

    def flaky(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] > 2:
                return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/uploads/**", flaky)
    me.reveal()
    me.start_when_ready()
    take_id = me.record(3.5)
    expect(page.locator("#q-save")).not_to_have_attribute("data-phase", "saved")
    expect(page.locator("#q-keep")).to_be_disabled()
    recorded = me.takes[take_id]
    held = next(t for t in takes_of(invitation_id) if t.id == take_id)
    assert held.status == TakeStatus.RECORDING and 0 < held.bytes_received < recorded["bytes"]
    me.shot("upload-interrupted")
    page.unroute("**/api/uploads/**")
    page.reload()
    me.expect_heading("Question 1 of 2")
    me.wait_saved()
    me.shot("reloaded-upload-finished")
    stored = original_bytes(next(t for t in takes_of(invitation_id) if t.id == take_id))
    assert (len(stored), sha256(stored)) == (recorded["bytes"], recorded["sha256"])
    me.keep()

    # (3) Reload in the middle of a recording: what was recorded so far is saved.
    me.expect_heading("Question 2 of 2")
    me.reveal()
    me.start_when_ready()
    expect(page.locator("#q-recording")).to_be_visible()
    page.wait_for_timeout(2500)
    page.reload()
    me.expect_heading("Question 2 of 2")
    # The question is shown again, and the page says how much of the answer was kept.
    expect(page.locator("#q-prompt")).to_have_text("What do you want to learn next?")
    expect(page.locator("#q-resumed")).to_contain_text("seconds you recorded before that are saved")
    me.wait_saved()
    expect(page.locator("#q-save")).to_contain_text("Saved")
    saved = page.evaluate("() => window.__interviewDebug.saved")
    assert len(saved) == 1
    ((cut_id, local),) = saved.items()
    cut = next(t for t in takes_of(invitation_id) if t.id == int(cut_id))
    stored = original_bytes(cut)
    assert cut.status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING)
    assert len(stored) > 10_000
    assert (len(stored), sha256(stored)) == (local["bytes"], local["sha256"])
    me.shot("reloaded-mid-recording-saved")
    me.keep()
    page.wait_for_url(f"{live_server}/i/{token}/review")
    assert me.page_errors() == []


def test_without_indexeddb_the_answer_still_uploads_and_the_page_warns(
    live_server, context, make_interview, artifacts
):
    """In a browser where IndexedDB is unavailable (some private modes), does the answer still
    reach the server intact, with a warning to keep the page open?"""
    invitation_id, token = make_interview([Spec("What motivates you?", think=0)])
    page = context.new_page()
    page.add_init_script("Object.defineProperty(window, 'indexedDB', { get: () => undefined })")
    me = Candidate(page, live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    me.reveal()
    me.start_when_ready()
    take_id = me.record(2)
    me.wait_saved()
    expect(page.locator("#store-warning")).to_be_visible()
    me.shot("no-indexeddb-saved")
    stored = original_bytes(takes_of(invitation_id)[0])
    assert (len(stored), sha256(stored)) == (
        me.takes[take_id]["bytes"],
        me.takes[take_id]["sha256"],
    )
    assert me.page_errors() == []


def _abandon_a_recording(browser, live_server, token, artifacts) -> None:
    """Start recording in a browser that then disappears (with its IndexedDB)."""
    first = browser.new_context()
    gone = Candidate(first.new_page(), live_server, token, artifacts)
    gone.open()
    gone.device_check(test_recording=False)
    gone.reveal()
    gone.start_when_ready()
    expect(gone.page.locator("#q-recording")).to_be_visible()
    gone.page.wait_for_timeout(2500)
    first.close()


def test_recording_abandoned_in_another_browser_can_be_discarded(
    live_server, browser, context, make_interview, artifacts
):
    """A candidate starts recording on one browser, which dies; on another browser (no local
    copy) is the interrupted recording explained, and can it be discarded for the next try?"""
    invitation_id, token = make_interview([Spec("What did you build last?", think=0)])
    _abandon_a_recording(browser, live_server, token, artifacts)

    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    expect(me.page.locator("#q-interrupted")).to_be_visible()
    me.shot("interrupted-elsewhere")
    me.page.get_by_role("button", name="Discard it").click()
    expect(me.page.locator("#q-before")).to_be_visible()
    expect(me.page.locator("#q-attempts")).to_have_text("1 attempt left of 2")
    (take,) = takes_of(invitation_id)
    assert take.status == TakeStatus.FAILED
    assert take.failure_reason == "discarded by the candidate"


def test_what_reached_the_server_of_an_abandoned_recording_can_be_kept(
    live_server, browser, context, make_interview, artifacts, run_media_worker
):
    """Same dead browser: can the candidate use the part the server already holds as the
    answer, and does the media pipeline process that cut-off recording?"""
    invitation_id, token = make_interview([Spec("What did you build last?", think=0)])
    _abandon_a_recording(browser, live_server, token, artifacts)
    (held,) = takes_of(invitation_id)
    held_bytes = held.bytes_received
    assert held_bytes > 0

    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    expect(me.page.locator("#q-interrupted")).to_contain_text("The server holds the first")
    me.page.get_by_role("button", name="Use what reached the server").click()
    expect(me.page.locator("#q-review")).to_be_visible()
    me.wait_saved()
    me.shot("salvaged")
    (take,) = takes_of(invitation_id)
    assert take.status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING)
    assert take.bytes_received == held_bytes == len(original_bytes(take))
    run_media_worker()
    (take,) = takes_of(invitation_id)
    assert take.status == TakeStatus.READY, take.failure_reason
    me.keep()
    me.page.wait_for_url(f"{live_server}/i/{token}/review")


def test_a_take_the_server_got_wrong_is_never_reported_saved_and_stays_on_the_device(
    live_server, context, make_interview, artifacts
):
    """A proxy flips one byte of one PATCH: does the checksum comparison catch it, keep the
    local copy in IndexedDB, refuse "Keep", and offer a retake instead?"""
    invitation_id, token = make_interview([Spec("What is hard about support?", think=0)])
    page = context.new_page()
    me = Candidate(page, live_server, token, artifacts)
    patches = {"n": 0}

    def corrupt_second_patch(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            body = route.request.post_data_buffer
            if patches["n"] == 2 and body and len(body) > 20:
                flipped = bytearray(body)
                flipped[10] ^= 0xFF
                return route.continue_(post_data=bytes(flipped))
        return route.continue_()

    page.route("**/api/uploads/**", corrupt_second_patch)
    me.open()
    me.device_check(test_recording=False)
    me.reveal()
    me.start_when_ready()
    take_id = me.record(2.5)
    expect(page.locator("#q-save")).to_have_attribute("data-phase", "failed", timeout=20_000)
    expect(page.locator("#q-save")).to_contain_text("differs")
    expect(page.locator("#q-keep")).to_be_disabled()
    expect(page.locator("#q-retake")).to_be_enabled()
    me.shot("checksum-mismatch")
    kept_locally = page.evaluate(
        """(id) => new Promise((resolve) => {
            const req = indexedDB.open("interview-recorder");
            req.onsuccess = () => {
                const range = IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);
                const count = req.result.transaction("chunks").objectStore("chunks").count(range);
                count.onsuccess = () => resolve(count.result);
            };
        })""",
        take_id,
    )
    assert kept_locally == me.takes[take_id]["chunks"]
    (take,) = takes_of(invitation_id)
    assert take.checksum_sha256 != me.takes[take_id]["sha256"]


def test_a_busy_server_on_reveal_and_on_recording_start_is_retried(
    live_server, context, make_interview, artifacts
):
    """The server answers 503 once to the reveal, once to the start of the recording and once
    to a chunk (a database busy under load), each asking for 2 s (Retry-After): does the page
    retry all three on its own, no sooner than asked (its own first backoff is 0.5 s), and
    save the answer byte for byte?"""
    invitation_id, token = make_interview([Spec("Why this role?", think=0)])
    page = context.new_page()
    refused_at: dict[str, float] = {}
    retried_after: dict[str, float] = {}

    def busy_once(kind: str, method: str):
        def handler(route) -> None:
            if route.request.method != method and kind not in refused_at:
                route.continue_()
            elif kind not in refused_at:
                refused_at[kind] = time.monotonic()
                route.fulfill(
                    status=503,
                    headers={"Retry-After": "2", "Tus-Resumable": "1.0.0"},
                    content_type="application/json",
                    body='{"error": "Briefly unavailable", "message": "try again"}',
                )
            else:
                retried_after.setdefault(kind, time.monotonic() - refused_at[kind])
                route.continue_()

        return handler

    page.route("**/api/questions/*/reveal", busy_once("reveal", "POST"))
    page.route("**/api/questions/*/uploads", busy_once("create", "POST"))
    page.route("**/api/uploads/*", busy_once("chunk", "PATCH"))
    me = Candidate(page, live_server, token, artifacts)
    me.begin_answer()
    take_id = me.record(1.0)
    me.wait_saved()
    assert set(refused_at) == set(retried_after) == {"reveal", "create", "chunk"}
    assert all(2.0 <= waited < 10 for waited in retried_after.values()), retried_after
    stored = original_bytes(takes_of(invitation_id)[0])
    assert (len(stored), sha256(stored)) == (
        me.takes[take_id]["bytes"],
        me.takes[take_id]["sha256"],
    )
    assert me.page_errors() == []


def test_a_long_retry_after_on_the_automatic_start_never_outlasts_the_start_window(
    live_server, context, make_interview, artifacts
):
    """Think time runs out, the page starts recording by itself, and a busy server refuses
    the start asking for 30 s: does the page try again before the server's start window
    (think time + TIMING_GRACE_SECONDS) closes, so the candidate keeps the attempt, rather
    than obey the 30 s and be refused as late?"""
    invitation_id, token = make_interview([Spec("Why this role?", think=2)])
    page = context.new_page()
    refused_at: list[float] = []
    retried_at: list[float] = []

    def busy_once(route) -> None:
        if route.request.method == "POST" and not refused_at:
            refused_at.append(time.monotonic())
            route.fulfill(
                status=503,
                headers={"Retry-After": "30", "Tus-Resumable": "1.0.0"},
                content_type="application/json",
                body='{"error": "Briefly unavailable"}',
            )
            return
        if route.request.method == "POST":
            retried_at.append(time.monotonic())
        route.continue_()

    page.route("**/api/questions/*/uploads", busy_once)
    me = Candidate(page, live_server, token, artifacts)
    me.open()
    me.device_check(test_recording=False)
    me.reveal()  # think time starts; recording starts by itself 2 s later
    # A wait of seconds is said on the page (a candidate would otherwise see nothing happen).
    expect(page.locator("#net-status")).to_have_text(BUSY_TEXT, timeout=10_000)
    me.shot("busy-server-retrying")
    take_id = me.record(1.0)
    expect(page.locator("#net-status")).to_be_hidden()
    me.wait_saved()
    assert refused_at and retried_at
    assert retried_at[0] - refused_at[0] < 5  # the grace (5 s) less the page's margin
    (take,) = takes_of(invitation_id)
    assert take.status != TakeStatus.FAILED and take.id == take_id
    assert me.page_errors() == []


def test_a_state_read_answered_after_a_keep_does_not_undo_it(
    live_server, context, make_interview, artifacts
):
    """The page reads the interview's state when an upload is saved; on a busy server that read
    can be answered after the candidate has already pressed Keep. Does the older answer stay
    unused, so the page stays on the next question instead of going back to the kept one?"""
    invitation_id, token = make_interview(
        [Spec("Practice: say hello.", think=0, practice=True), Spec("Why this role?", think=0)]
    )
    page = context.new_page()
    verified: list = []  # the recorder's check that the server holds the take
    held: list = []  # the page's read of its state after that, answered later

    def hold_the_read_after_saving(route) -> None:
        if route.request.method != "GET" or held:
            route.continue_()
            return
        answer = route.fetch()  # read now: before the keep
        if verified:
            held.append((route, answer))
            return
        takes = [t for q in answer.json()["questions"] for t in q["takes"]]
        # What the recorder's check waits for: stored, with the server's checksum of it.
        if any(t["status"] != TakeStatus.RECORDING and t["checksum_sha256"] for t in takes):
            verified.append(True)
        route.fulfill(response=answer)

    me = Candidate(page, live_server, token, artifacts)
    me.begin_answer()
    page.route("**/api/state", hold_the_read_after_saving)
    me.record(1.0)
    me.wait_saved()
    for _ in range(200):  # the read is sent as the upload is saved (bounded: 10 s)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page did not read its state once the upload was saved"
    me.keep()
    me.expect_heading("Question 1 of 1")
    route, stale = held[0]
    route.fulfill(response=stale)
    page.wait_for_function(
        "() => window.__interviewDebug.events.some((e) => e.event === 'refreshed')"
    )
    me.expect_heading("Question 1 of 1")
    expect(page.locator("#q-before")).to_be_visible()
    me.shot("after-a-late-state-read")
    assert me.page_errors() == []
