"""A page object for the candidate's interview page: the steps a person takes, in words."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect


class Candidate:
    def __init__(self, page: Page, base_url: str, token: str, artifacts: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.token = token
        self.artifacts = artifacts
        self.shots = 0
        self.takes: dict[int, dict] = {}  # what the recorder produced, per take id
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def page_errors(self) -> list[str]:
        """Uncaught script errors and Content-Security-Policy violations seen so far."""
        return [
            line
            for line in self.console
            if line.startswith("pageerror") or "Content Security Policy" in line
        ]

    @property
    def interview_url(self) -> str:
        return f"{self.base_url}/i/{self.token}/interview"

    def shot(self, name: str) -> Path:
        self.shots += 1
        path = self.artifacts / f"{self.shots:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def open(self) -> None:
        self.page.goto(self.interview_url)

    def consent_and_start(self) -> None:
        self.page.goto(f"{self.base_url}/i/{self.token}")
        self.shot("landing")
        self.page.get_by_label("I have read the privacy notice").check()
        self.page.get_by_role("button", name="Agree and start").click()
        self.page.wait_for_url(self.interview_url)

    def device_check(self, test_recording: bool = True) -> None:
        page = self.page
        expect(page.locator("#devicecheck")).to_be_visible()
        if not page.locator("#dc-live").is_visible():
            page.get_by_role("button", name="Turn on camera and microphone").click()
        expect(page.locator("#dc-live")).to_be_visible()
        # The fake microphone plays a tone: the meter must move.
        page.wait_for_function(
            "() => Number(document.querySelector('#dc-level').dataset.level || 0) > 0.01"
        )
        if test_recording:
            page.get_by_role("button", name="Record a 3-second test").click()
            expect(page.locator("#dc-playback")).to_be_visible(timeout=10_000)
            expect(page.locator("#dc-test-status")).to_contain_text("Test recorded")
        self.shot("device-check")
        page.locator("#dc-continue").click()
        expect(page.locator("#question")).to_be_visible()

    def expect_heading(self, text: str) -> None:
        expect(self.page.locator("#q-progress")).to_have_text(text)

    def reveal(self) -> None:
        expect(self.page.locator("#q-before")).to_be_visible()
        self.page.get_by_role("button", name="Show the question").click()
        expect(self.page.locator("#q-prompt-box")).to_be_visible()

    def start_when_ready(self) -> None:
        self.page.get_by_role("button", name="Start recording", exact=True).click()

    def begin_answer(self) -> None:
        """Open the interview, skip the test recording, show the first question and start
        recording it (for questions with no think time)."""
        self.open()
        self.device_check(test_recording=False)
        self.reveal()
        self.start_when_ready()
        expect(self.page.locator("#q-recording")).to_be_visible()

    def record(self, seconds: float = 2.5, shot: str | None = None) -> int:
        """Wait for recording (started by a click or by the end of think time), stop after
        ``seconds``; returns the take id."""
        expect(self.page.locator("#q-recording")).to_be_visible(timeout=15_000)
        self.page.wait_for_timeout(int(seconds * 1000))
        if shot:
            self.shot(shot)
        self.page.get_by_role("button", name="Stop recording").click()
        expect(self.page.locator("#q-review")).to_be_visible()
        self.page.wait_for_function("() => Object.keys(window.__interviewDebug.takes).length > 0")
        take_id = self.last_take_id()
        self.takes[take_id] = self.recorded(take_id)
        return take_id

    def last_take_id(self) -> int:
        return self.page.evaluate(
            "() => Math.max(...Object.keys(window.__interviewDebug.takes).map(Number))"
        )

    def recorded(self, take_id: int) -> dict:
        """What the recorder produced for a take: {bytes, sha256, chunks, mimeType}."""
        return self.page.evaluate("(id) => window.__interviewDebug.takes[id]", take_id)

    def wait_saved(self, timeout: float = 30_000) -> None:
        expect(self.page.locator("#q-save")).to_have_attribute(
            "data-phase", "saved", timeout=timeout
        )
        expect(self.page.locator("#q-keep")).to_be_enabled()

    def keep(self) -> None:
        self.page.get_by_role("button", name="Keep and continue").click()

    def retake(self) -> None:
        self.page.locator("#q-retake").click()
