"""Speech recognition: a pure wrapper around faster-whisper (no Flask, no database).

The Whisper model ships inside two PyPI packages (the model file is split to fit PyPI's size
limit). ``prepare_model`` assembles the parts into a directory once and verifies every file
against ``model_manifest.json`` by SHA-256 before anything loads it; nothing is ever fetched
from a model hub (``HF_HUB_OFFLINE`` is set and the model is named by a local path).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MANIFEST = Path(__file__).with_name("model_manifest.json")
MISSING = "speech recognition model is not installed"
CORRUPT = "speech recognition model failed its checksum"


class ModelUnavailable(Exception):
    """The model is missing or does not match the manifest; the reason is shown to staff."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Transcription:
    language: str
    duration: float
    segments: list[Segment]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments if s.text)


def manifest(path: Path = MANIFEST) -> dict[str, Any]:
    return json.loads(path.read_text())


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"{MISSING} (package {package} is missing)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelUnavailable(f"{MISSING} ({package}/{relative} is missing)")
    return path


def _assemble(name: str, entry: dict[str, Any], target: Path) -> None:
    """Concatenate the file's parts from their packages into ``target``, atomically: several
    workers starting at once each write their own partial file and rename it into place."""
    sources = [_package_file(part["package"], part["path"]) for part in entry["parts"]]
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{name}.", suffix=".partial", delete=False
    ) as out:
        try:
            for source in sources:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 1024 * 1024)
        except BaseException:
            os.unlink(out.name)
            raise
    os.replace(out.name, target)


# Files this process has hashed, with their (size, mtime) then: a forked job inherits what its
# worker verified at start and re-hashes only a file that changed since.
_verified: dict[Path, tuple[int, int]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _matches(path: Path, sha256: str) -> bool:
    if not path.is_file():
        return False
    if _verified.get(path) == _stamp(path):
        return True
    if sha256_of(path) != sha256:
        return False
    _verified[path] = _stamp(path)
    return True


def prepare_model(directory: Path, manifest_path: Path = MANIFEST) -> Path:
    """Make ``directory`` hold the model named by the manifest, every file checked by SHA-256.

    Files already there are hashed (once per process unless they change); a corrupted or
    tampered file is rebuilt from the packages once, then refused. Raises ``ModelUnavailable``
    with a clear reason.
    """
    spec = manifest(manifest_path)
    directory.mkdir(parents=True, exist_ok=True)
    for name, entry in spec["files"].items():
        target = directory / name
        if not _matches(target, entry["sha256"]):
            _assemble(name, entry, target)
            if not _matches(target, entry["sha256"]):
                target.unlink(missing_ok=True)
                raise ModelUnavailable(f"{CORRUPT} ({name})")
    return directory


_loaded: dict[tuple[str, int], Any] = {}


def load(directory: Path, *, threads: int = 0) -> Any:
    """The faster-whisper model in ``directory`` (already prepared), int8 on CPU; one per
    process (a forked job inherits nothing loaded, since CTranslate2 threads do not survive
    a fork)."""
    key = (str(directory), threads)
    if key not in _loaded:
        from faster_whisper import WhisperModel  # heavy import: only where speech is recognised

        _loaded[key] = WhisperModel(
            str(directory),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )
    return _loaded[key]


def transcribe(model: Any, audio_path: str | Path, *, language: str | None = None) -> Transcription:
    """Recognise speech in ``audio_path`` with word timestamps, skipping non-speech (Silero VAD,
    bundled with faster-whisper). ``language`` None means detect it."""
    segments, info = model.transcribe(
        str(audio_path),
        language=language or None,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters={"min_silence_duration_ms": 500},
        beam_size=5,
        condition_on_previous_text=False,
    )
    out = []
    for s in segments:
        text = s.text.strip()
        if not text:
            continue
        words = [
            Word(float(w.start), float(w.end), w.word.strip(), float(w.probability))
            for w in (s.words or [])
            if w.word.strip()
        ]
        out.append(Segment(float(s.start), float(s.end), text, words))
    return Transcription(info.language, float(info.duration), out)
