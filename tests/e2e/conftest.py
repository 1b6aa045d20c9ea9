"""Real-browser fixtures: a live server on a loopback port, Debian's Chromium driven by
Playwright with fake camera/microphone files made by ffmpeg, interviews to take, a media worker.

Chromium's fake capture devices stand in for a real camera and microphone (the only fake here:
a test machine has neither); everything else (server, Redis, ffmpeg, worker) is the real thing.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import WSGIRequestHandler, make_server

from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import (
    AssetKind,
    Criterion,
    Invitation,
    MediaAsset,
    Organization,
    Question,
    Rubric,
    Screening,
    ScreeningStatus,
    Take,
)

from .. import factories
from ..conftest import PROJECT_ROOT, free_port, worker_env

CHROMIUM = "/usr/bin/chromium"
# One folder per database: the two suites run side by side (bin/test).
ARTIFACTS = (
    PROJECT_ROOT
    / "test-artifacts"
    / "e2e"
    / ("postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite")
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
# A busy 2-core machine (ffmpeg, a worker, Chromium) can be slow: assertions wait up to 15 s.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


# --- capture files and the browser ------------------------------------------------------------


@pytest.fixture(scope="session")
def capture_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A few seconds of test pattern (y4m) and a tone (wav): what the fake devices capture."""
    folder = tmp_path_factory.mktemp("capture")
    video, audio = folder / "camera.y4m", folder / "microphone.wav"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=15:d=3",
         "-pix_fmt", "yuv420p", str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=3",
         "-ac", "1", str(audio)],
        check=True, timeout=60,
    )  # fmt: skip
    return {"video": video, "audio": audio}


def _launch(playwright_driver, capture_files, *extra: str):
    return playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            f"--use-file-for-fake-video-capture={capture_files['video']}",
            f"--use-file-for-fake-audio-capture={capture_files['audio']}",
            *extra,
        ],
    )


@pytest.fixture(scope="session")
def browser(playwright_driver, capture_files):
    """Chromium that grants camera and microphone without asking (as if the person allowed)."""
    b = _launch(playwright_driver, capture_files, "--use-fake-ui-for-media-stream")
    yield b
    b.close()


@pytest.fixture(scope="session")
def asking_browser(playwright_driver, capture_files):
    """Chromium that asks for camera and microphone: permissions decide (nobody clicks)."""
    b = _launch(playwright_driver, capture_files)
    yield b
    b.close()


@pytest.fixture
def artifacts(request) -> Path:
    folder = ARTIFACTS / re.sub(r"[^\w.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def context(browser, artifacts):
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def sign_in(page, base: str, email: str) -> None:
    """A member of staff signs in through the login form (password from the factories)."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


# --- the live server ------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    """No access log: a recording makes hundreds of requests."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The real app on a spare loopback port (threaded), in a background thread."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


# --- interviews ---------------------------------------------------------------------------------


@dataclass
class Spec:
    prompt: str
    think: int = 0
    answer: int = 15
    retakes: int = 1
    practice: bool = False


THREE_AND_PRACTICE = [
    Spec("Try the recorder: say hello.", think=0, practice=True, retakes=3),
    Spec("Tell us about a customer you helped.", think=2),
    Spec("What would you change in your last job?", think=0),
    Spec("Why this role?", think=2),
]


@pytest.fixture
def make_interview(app):
    """Build a screening with ``specs`` and an invitation to it; returns (invitation id, token)."""

    def make(specs=THREE_AND_PRACTICE, *, started: bool = True, **invitation_fields):
        org = db.session.scalar(sa.select(Organization).where(Organization.slug == "northwind"))
        if org is None:
            org = Organization(name="Northwind", slug="northwind")
            db.session.add(org)
        s = Screening(
            organization=org,
            title="Support Engineer",
            role_description="Helps customers.",
            status=ScreeningStatus.OPEN,
        )
        s.questions = [
            Question(
                position=i,
                prompt=spec.prompt,
                think_seconds=spec.think,
                answer_seconds=spec.answer,
                max_retakes=spec.retakes,
                is_practice=spec.practice,
            )
            for i, spec in enumerate(specs)
        ]
        s.rubric = Rubric(criteria=[Criterion(name="Clarity", weight=1.0)])
        db.session.add(s)
        db.session.flush()
        inv, token = factories.invitation(s, "Casey Candidate", started=started)
        for name, value in invitation_fields.items():
            setattr(inv, name, value)
        db.session.commit()
        return inv.id, token

    return make


def takes_of(invitation_id: int) -> list[Take]:
    """The invitation's takes as the database holds them now (fresh from the server's writes)."""
    db.session.expire_all()
    inv = db.session.get(Invitation, invitation_id)
    return [t for q in inv.questions for t in q.takes]


def original_bytes(take: Take) -> bytes:
    """The stored original of a take, read back from media storage."""
    asset = db.session.scalar(
        sa.select(MediaAsset).where(
            MediaAsset.take_id == take.id, MediaAsset.kind == AssetKind.ORIGINAL
        )
    )
    assert asset is not None, f"take {take.id} has no stored original"
    with get_storage().open(asset.storage_key) as handle:
        return handle.read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- a media worker ----------------------------------------------------------------------------


@pytest.fixture
def run_media_worker(app):
    """Run ``flask worker --queues media --burst`` (or other queues) in a real process against
    this test's DB, until the queues are empty."""

    def run(queues: str = "media", **extra_env: str) -> str:
        log_path = Path(app.instance_path) / f"worker-{time.monotonic_ns()}.log"
        env = worker_env(app, **extra_env)
        with open(log_path, "wb") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "flask", "worker", "--queues", queues, "--burst"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=180,
            )
        out = log_path.read_text()
        assert proc.returncode == 0, out
        return out

    return run
