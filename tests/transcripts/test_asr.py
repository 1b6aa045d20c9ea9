"""The speech model itself: it is the one the manifest names, and it hears what was said."""

from __future__ import annotations

import json
import shutil

import pytest

from interview.transcripts import asr

from .conftest import EXPECTED_WORDS, needs_espeak, once


@once
@needs_espeak
def test_the_real_model_transcribes_a_spoken_clip(model_dir, speech_mp4):
    """Does Whisper base (int8, CPU) recover the words espeak-ng said, with word timings?"""
    result = asr.transcribe(asr.load(model_dir), speech_mp4)
    text = result.text.lower()
    assert result.language == "en"
    for word in EXPECTED_WORDS:
        assert word in text, (word, result.text)
    words = [w for s in result.segments for w in s.words]
    assert len(words) >= 12
    assert all(0 <= w.start <= w.end <= result.duration + 0.05 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


@once
def test_a_tampered_model_file_is_rebuilt_from_its_packages(model_dir, tmp_path):
    """A changed file fails its SHA-256 and is assembled again from the installed packages."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "config.json").write_text("{}")
    asr.prepare_model(copy)
    assert asr.sha256_of(copy / "config.json") == asr.manifest()["files"]["config.json"]["sha256"]


@once
def test_a_model_that_does_not_match_the_manifest_is_refused(tmp_path):
    manifest = asr.manifest()
    manifest["files"] = {"config.json": {**manifest["files"]["config.json"], "sha256": "0" * 64}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(asr.ModelUnavailable, match="checksum"):
        asr.prepare_model(tmp_path / "model", path)
    assert not (tmp_path / "model" / "config.json").exists()


@once
def test_a_missing_model_package_is_a_clear_error(tmp_path):
    manifest = asr.manifest()
    entry = manifest["files"]["config.json"]
    entry["parts"] = [{**entry["parts"][0], "package": "no_such_whisper_package"}]
    manifest["files"] = {"config.json": entry}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(asr.ModelUnavailable, match="not installed"):
        asr.prepare_model(tmp_path / "model", path)


@once
def test_workers_starting_together_assemble_the_model_without_tripping_over_each_other(tmp_path):
    """Two processes' worth of prepare_model on one empty folder: both end with a verified
    model (each writes its own partial file and renames it into place)."""
    from concurrent.futures import ThreadPoolExecutor

    target = tmp_path / "model"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: asr.prepare_model(target), range(2)))
    assert results == [target, target]
    assert not list(target.glob(".*.partial"))
