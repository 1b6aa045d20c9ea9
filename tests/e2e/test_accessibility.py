"""The interview page works from the keyboard, moves focus where the person needs it, and
announces countdowns and saving through live regions."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .candidate import Candidate
from .conftest import PHONE, Spec

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_question_can_be_answered_with_the_keyboard_alone(
    live_server, browser, make_interview, artifacts
):
    """On a phone-sized screen, with Enter and Space only: turn the camera on, show the question,
    start and stop recording, keep the answer. Is focus where the next step is, and visible?"""
    _, token = make_interview([Spec("Practice", think=0, practice=True), Spec("Q", think=0)])
    context = browser.new_context(viewport=PHONE)
    try:
        me = Candidate(context.new_page(), live_server, token, artifacts)
        page = me.page
        me.open()
        expect(page.locator("#dc-title")).to_be_focused()
        page.locator("#dc-start").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#dc-test")).to_be_focused()  # the next step after the preview
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        me.shot("device-check-phone")
        page.locator("#dc-continue").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#q-progress")).to_be_focused()
        expect(page.locator("#q-progress")).to_have_text("Practice question")
        page.locator("#q-reveal").focus()
        page.keyboard.press("Space")
        expect(page.locator("#q-prompt")).to_be_focused()  # the question is read out
        page.keyboard.press("Tab")
        expect(page.locator("#q-start")).to_be_focused()  # "Start recording"
        page.keyboard.press("Enter")
        expect(page.locator("#q-stop")).to_be_focused()
        expect(page.locator("#q-announce")).to_have_text("Recording started.")
        page.wait_for_timeout(1500)
        me.shot("keyboard-recording")
        page.keyboard.press("Space")
        expect(page.locator("#q-playback")).to_be_focused()
        me.wait_saved()
        page.locator("#q-keep").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#q-progress")).to_have_text("Question 1 of 1")
        expect(page.locator("#q-progress")).to_be_focused()

        # Live regions for what changes without the person doing anything.
        for selector in ("#net-status", "#q-save", "#dc-test-status", "#q-announce"):
            assert page.locator(selector).get_attribute("aria-live") in ("polite", "assertive")
        for selector in ("#q-think-left", "#q-answer-left"):
            assert page.locator(selector).get_attribute("role") == "timer"
        # Every control has a name a screen reader can say.
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll("button, select, input")]
                .filter((el) => !(el.labels && el.labels.length) && !el.textContent.trim()
                    && !el.getAttribute("aria-label"))
                .map((el) => el.id)"""
        )
        assert unnamed == []
    finally:
        context.close()
