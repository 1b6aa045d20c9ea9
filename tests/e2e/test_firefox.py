"""A candidate in Firefox: Debian's firefox-esr, driven through WebDriver BiDi (puppeteer-core from
npm, tests/firefox/), records every answer with Firefox's own MediaRecorder; the answers upload,
a real worker processes them, and a reviewer streams them.

Firefox's fake camera and microphone (its media.navigator.streams.fake preference) stand in for
real devices, the only fake here. Runs once (on SQLite): the browser path is the same on
PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.media import probe
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    Invitation,
    InvitationStatus,
    MediaAsset,
    ReviewAssignment,
    Role,
    Take,
    TakeStatus,
)

from ..conftest import PROJECT_ROOT, sign_in
from .conftest import Spec

FIREFOX = "/usr/bin/firefox-esr"
DRIVER = PROJECT_ROOT / "tests" / "firefox"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(FIREFOX).exists(), reason=f"{FIREFOX} is not installed"),
    pytest.mark.skipif(
        bool(os.environ.get("TEST_DATABASE_URL")),
        reason="same browser path on PostgreSQL",
    ),
]


@pytest.fixture(scope="module")
def sound_server(tmp_path_factory) -> Iterator[str]:
    """A private PulseAudio with a null sink (this machine has no sound card): without an audio
    output, Firefox's tab dies as soon as the page's AudioContext (the level meter) runs.
    Returns the XDG_RUNTIME_DIR that holds its socket; stopped by PID."""
    binary = shutil.which("pulseaudio")
    if binary is None:
        pytest.fail("pulseaudio is not installed; `make test` installs it (bin/system-deps)")
    runtime = tmp_path_factory.mktemp("pulse")
    runtime.chmod(0o700)
    proc = subprocess.Popen(
        [binary, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes",
         "--load=module-null-sink sink_name=silence", "--load=module-native-protocol-unix"],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(runtime)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    socket_path = runtime / "pulse" / "native"
    deadline = time.monotonic() + 15
    while not socket_path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the private PulseAudio did not start")
        time.sleep(0.05)
    yield str(runtime)
    proc.terminate()
    proc.wait(timeout=10)


def _journey(base: str, token: str, artifacts: Path, runtime: str, seconds: float = 2) -> dict:
    if not (DRIVER / "node_modules" / "puppeteer-core").exists():
        pytest.fail("tests/firefox/node_modules is missing: `make test` runs npm ci there")
    proc = subprocess.run(
        [shutil.which("node") or "node", "journey.mjs", base, token, str(seconds)],
        cwd=DRIVER,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "FIREFOX": FIREFOX,
            "SCREENSHOT": str(artifacts / "failure.png"),
            "XDG_RUNTIME_DIR": runtime,
        },
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stdout + proc.stderr
    outcome = json.loads(lines[-1])
    assert proc.returncode == 0 and outcome["ok"], json.dumps(outcome, indent=1)[:4000]
    return outcome


def _asset(take: Take, kind: AssetKind) -> MediaAsset:
    return db.session.scalar(
        sa.select(MediaAsset).where(MediaAsset.take_id == take.id, MediaAsset.kind == kind)
    )


def _original(take: Take, folder: Path) -> probe.MediaInfo:
    """ffprobe's reading of the file exactly as the browser uploaded it."""
    path = folder / f"original-{take.id}"
    with get_storage().open(_asset(take, AssetKind.ORIGINAL).storage_key) as source:
        path.write_bytes(source.read())
    return probe.probe(str(path))


def test_a_firefox_candidates_answers_reach_the_reviewer(
    app, org, live_server, make_interview, run_media_worker, tmp_path, artifacts, sound_server
):
    """Can a candidate using Firefox record, keep and submit every answer, and does a reviewer
    then play each one as an MP4 made from what Firefox recorded?"""
    invitation_id, token = make_interview(
        [Spec("Try the recorder", practice=True), Spec("Tell us about yourself.")],
        started=False,
    )
    outcome = _journey(live_server, token, artifacts, sound_server)
    assert "Firefox/" in outcome["userAgent"]
    assert outcome["questions"] == ["Practice question", "Question 1 of 1"]
    assert not [line for line in outcome["log"] if line.startswith("pageerror")], outcome["log"]

    invitation = db.session.get(Invitation, invitation_id)
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.COMPLETED
    run_media_worker()
    takes = [t for q in invitation.questions for t in q.takes]
    assert len(takes) == 2
    answer = None
    for take in takes:
        db.session.refresh(take)
        assert take.status == TakeStatus.READY, take.failure_reason
        assert 1000 <= take.duration_ms <= 6000
        # What Firefox's MediaRecorder made: WebM with VP8 (or VP9) and Opus.
        assert take.content_type.startswith("video/webm"), take.content_type
        original = _original(take, tmp_path)
        assert original.video.codec in ("vp8", "vp9") and original.audio.codec == "opus"
        if not take.question.is_practice:
            answer = take
    mp4 = _asset(answer, AssetKind.MP4)
    assert mp4.video_codec == "h264" and mp4.audio_codec == "aac"
    # A reviewer assigned to the screening streams it.
    reviewer_id = org.users[Role.REVIEWER].id
    db.session.add(ReviewAssignment(screening_id=invitation.screening_id, reviewer_id=reviewer_id))
    db.session.commit()
    reviewer = app.test_client()
    sign_in(reviewer, org.users[Role.REVIEWER].email)
    page = reviewer.get(f"/review/candidates/{invitation_id}")
    assert page.status_code == 200
    assert f"/media/assets/{mp4.id}" in page.get_data(as_text=True)
    stream = reviewer.get(f"/media/assets/{mp4.id}", headers={"Range": "bytes=0-99"})
    assert stream.status_code == 206 and stream.data[4:8] == b"ftyp"
