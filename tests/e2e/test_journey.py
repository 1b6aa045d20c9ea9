"""A candidate takes a whole interview in a real Chromium: device check, practice, three timed
questions with a retake, review, submit, and a receipt that matches the stored files."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from interview.models import TakeStatus

from .candidate import Candidate
from .conftest import PHONE, original_bytes, sha256, takes_of

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_candidate_completes_a_screening_and_the_receipt_matches_the_stored_files(
    live_server, context, make_interview, artifacts, run_media_worker
):
    """Can a candidate do practice + 3 questions (one retake), submit, and does the receipt
    show, for every answer, the size and SHA-256 of the original the server stored?"""
    invitation_id, token = make_interview(started=False)
    me = Candidate(context.new_page(), live_server, token, artifacts)
    me.consent_and_start()
    me.device_check()

    # Practice: "start when ready".
    me.expect_heading("Practice question")
    expect(me.page.locator("#q-before-notice")).to_contain_text("uses one of your attempts")
    me.shot("practice-before")
    me.reveal()
    me.start_when_ready()
    practice = me.record(2)
    me.wait_saved()
    me.keep()

    # Question 1: 2 s think time, then recording starts by itself; one retake.
    me.expect_heading("Question 1 of 3")
    me.reveal()
    expect(me.page.locator("#q-think-left")).to_be_visible()
    me.shot("q1-think")
    first = me.record(2, shot="q1-recording")
    me.wait_saved()
    expect(me.page.locator("#q-retake")).to_have_text("Retake (1 retake left)")
    me.shot("q1-review")
    me.retake()
    second = me.record(2.5)
    assert second != first
    me.wait_saved()
    expect(me.page.locator("#q-retake")).to_be_hidden()  # no retakes left
    expect(me.page.locator("#q-others")).to_contain_text("Attempt 1")
    me.keep()

    # Question 2 on a phone-width screen: start when ready.
    me.page.set_viewport_size(PHONE)
    me.expect_heading("Question 2 of 3")
    me.shot("q2-before-phone")
    me.reveal()
    me.start_when_ready()
    third = me.record(2, shot="q2-recording-phone")
    me.wait_saved()
    me.shot("q2-saved-phone")
    me.keep()

    # Question 3: think time, auto start.
    me.expect_heading("Question 3 of 3")
    me.reveal()
    fourth = me.record(2)
    me.wait_saved()
    me.keep()

    # Every answer kept: the review page, then submit.
    me.page.wait_for_url(f"{live_server}/i/{token}/review")
    me.shot("review-phone")
    me.page.set_viewport_size({"width": 1280, "height": 860})
    me.page.get_by_role("button", name="Submit my answers").click()
    me.page.wait_for_url(f"{live_server}/i/{token}/done")
    me.shot("receipt")

    kept = {second, third, fourth}
    recorded = me.takes
    assert set(recorded) == {practice, first, *kept}
    rows = me.page.locator("#receipt tbody tr")
    expect(rows).to_have_count(3)
    receipt = {}
    for i in range(3):
        row = rows.nth(i)
        take_id = int(row.get_attribute("data-take"))
        cells = row.locator("td")
        receipt[take_id] = (cells.nth(2).inner_text(), cells.nth(3).inner_text().strip())
    assert set(receipt) == kept

    by_id = {t.id: t for t in takes_of(invitation_id)}
    for take_id in kept:
        stored = original_bytes(by_id[take_id])
        assert receipt[take_id] == (f"{len(stored):,} bytes", sha256(stored))
        # ... and the stored file is exactly what the browser's recorder produced.
        assert (len(stored), sha256(stored)) == (
            recorded[take_id]["bytes"],
            recorded[take_id]["sha256"],
        )
        assert by_id[take_id].status in (TakeStatus.UPLOADED, TakeStatus.PROCESSING)
    assert by_id[first].status != TakeStatus.FAILED  # the first attempt is stored, not kept
    # Nothing is left in the browser's store once the server confirmed every take.
    left = me.page.evaluate(
        """() => new Promise((resolve) => {
            const req = indexedDB.open("interview-recorder");
            req.onsuccess = () => {
                const tx = req.result.transaction("chunks");
                const count = tx.objectStore("chunks").count();
                count.onsuccess = () => resolve(count.result);
            };
        })"""
    )
    assert left == 0

    # A real worker processes what the browser recorded; the receipt then shows durations.
    run_media_worker()
    by_id = {t.id: t for t in takes_of(invitation_id)}
    for take_id in kept:
        assert by_id[take_id].status == TakeStatus.READY, by_id[take_id].failure_reason
        assert 1000 <= by_id[take_id].duration_ms <= 5000
    me.page.reload()
    expect(me.page.locator("#receipt")).not_to_contain_text("being processed")
    me.shot("receipt-processed")
    assert me.page_errors() == []
