"""A real recording from headless Chromium's MediaRecorder, processed like any answer."""

from __future__ import annotations

import base64
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from interview.media import probe, services
from interview.models import TakeStatus

from .conftest import reload

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

PAGE = b"""<!doctype html><title>recorder</title><p>recording</p>"""

RECORD = """async (ms) => {
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: true, video: {width: 320, height: 240}});
  const recorder = new MediaRecorder(stream, {mimeType: 'video/webm;codecs=vp8,opus'});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(500);  // a chunk every half second, as the candidate page uploads them
  await new Promise((resolve) => setTimeout(resolve, ms));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def chromium_recording(
    tmp_path_factory: pytest.TempPathFactory, playwright_driver
) -> Iterator[Path]:
    """Two seconds recorded by Chromium's MediaRecorder from its fake camera and microphone."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser = playwright_driver.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
            ],
        )
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        data = base64.b64decode(page.evaluate(RECORD, 2000))
        browser.close()
    finally:
        server.shutdown()
        server.server_close()
    path = tmp_path_factory.mktemp("chromium") / "answer.webm"
    path.write_bytes(data)
    yield path


def test_chromium_mediarecorder_answer_becomes_a_seekable_mp4(
    app, chromium_recording, uploaded_take
):
    """Is what a real browser records (no duration, no cues) turned into an MP4 of the
    right length?"""
    source = probe.probe(chromium_recording)
    assert (source.video.codec, source.audio.codec) == ("vp8", "opus")
    assert source.duration is None  # MediaRecorder writes no duration
    take = uploaded_take(chromium_recording)
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY, take.failure_reason
    assert 1500 <= take.duration_ms <= 3000
    assert take.media_summary["video_codec"] == "h264"
    assert take.media_summary["audio_codec"] == "aac"
    assert "silent" not in take.flags  # the fake microphone plays a beep
