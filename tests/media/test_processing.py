"""Processing takes with real ffmpeg on real files (run in-process; workers are tested apart)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from interview.extensions import db
from interview.media import probe, services
from interview.media.storage import get_storage
from interview.models import AssetKind, MediaAsset, Response, Role, Take, TakeStatus, WebhookEvent
from interview.webhooks import services as webhooks

from .conftest import reload


def _assets(take) -> dict[AssetKind, MediaAsset]:
    rows = db.session.scalars(sa.select(MediaAsset).where(MediaAsset.take_id == take.id)).all()
    return {a.kind: a for a in rows}


def _output(app, asset: MediaAsset) -> probe.MediaInfo:
    with get_storage().local_copy(asset.storage_key) as path:
        return probe.probe(path)


def test_mediarecorder_webm_becomes_a_seekable_mp4(app, clips, uploaded_take):
    """Does a VP8/Opus WebM without a duration become H.264/AAC MP4 with faststart, a poster
    and its true duration?"""
    assert probe.probe(clips["vp8_opus.webm"]).duration is None  # as MediaRecorder writes it
    take = uploaded_take(clips["vp8_opus.webm"])
    outcome = services.process(take.id)
    take = reload(take)
    assert outcome.status == "ready" and take.status == TakeStatus.READY, take.failure_reason
    assets = _assets(take)
    assert set(assets) == {AssetKind.ORIGINAL, AssetKind.MP4, AssetKind.POSTER}
    mp4 = assets[AssetKind.MP4]
    assert mp4.content_type == "video/mp4"
    assert (mp4.video_codec, mp4.audio_codec, mp4.width, mp4.height) == ("h264", "aac", 320, 240)
    assert 2900 <= take.duration_ms <= 3200 and mp4.duration_ms == take.duration_ms
    with get_storage().local_copy(mp4.storage_key) as path:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
        info = probe.probe(path)
    assert head.find(b"moov") < head.find(b"mdat")  # +faststart: the index comes first
    assert info.video.pix_fmt == "yuv420p"
    assert take.media_summary["video_copied"] is False
    assert len(take.media_summary["waveform"]) >= 90
    assert take.flags == []
    poster = assets[AssetKind.POSTER]
    assert poster.content_type == "image/jpeg" and poster.size_bytes > 500
    with get_storage().open(poster.storage_key) as f:
        assert f.read(2) == b"\xff\xd8"
    assert mp4.storage_key.startswith(f"orgs/{take.question.invitation.org_id}/takes/{take.id}/")


def test_h264_in_matroska_is_copied_not_reencoded(app, clips, uploaded_take):
    """When the browser already recorded H.264, is the video copied and only audio encoded?"""
    take = uploaded_take(clips["h264_opus.mkv"])
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY, take.failure_reason
    assert take.media_summary["video_copied"] is True
    mp4 = _assets(take)[AssetKind.MP4]
    assert (mp4.video_codec, mp4.audio_codec) == ("h264", "aac")


def test_phone_mp4_keeps_its_rotation(app, clips, uploaded_take):
    """Is a portrait phone recording (H.264/AAC with a 90° display matrix) shown upright?"""
    take = uploaded_take(clips["phone.mp4"])
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY, take.failure_reason
    assets = _assets(take)
    mp4 = assets[AssetKind.MP4]
    assert take.media_summary["video_copied"] is True
    assert (mp4.width, mp4.height) == (360, 640)  # as displayed: portrait
    assert abs(_output(app, mp4).video.rotation) == 90


def test_phone_mp4_over_the_size_cap_is_scaled_upright(app, clips, uploaded_take):
    """Above the height cap, is the video re-encoded, turned upright and scaled down?"""
    app.config["MEDIA_MAX_HEIGHT"] = 240
    take = uploaded_take(clips["phone.mp4"])
    services.process(take.id)
    take = reload(take)
    mp4 = _assets(take)[AssetKind.MP4]
    assert take.media_summary["video_copied"] is False
    info = _output(app, mp4)
    assert (info.video.width, info.video.height, info.video.rotation) == (240, 426, 0)


def test_audio_only_answer_becomes_m4a_without_poster(app, clips, uploaded_take):
    take = uploaded_take(clips["audio_only.webm"], "audio/webm", audio_only=True)
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY, take.failure_reason
    assets = _assets(take)
    assert set(assets) == {AssetKind.ORIGINAL, AssetKind.MP4}
    assert assets[AssetKind.MP4].content_type == "audio/mp4"
    assert assets[AssetKind.MP4].storage_key.endswith(".m4a")
    info = _output(app, assets[AssetKind.MP4])
    assert info.video is None and info.audio.codec == "aac"


def test_silent_answer_is_flagged(app, clips, uploaded_take):
    take = uploaded_take(clips["silent.webm"])
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY and take.flags == ["silent"]
    assert max(take.media_summary["waveform"]) == 0


@pytest.mark.parametrize(
    ("clip", "flags", "checked_on"),
    [
        ("black.webm", ["black_video"], "frames"),
        ("black_h264.mkv", ["black_video"], "keyframes"),
        ("frozen.webm", ["frozen_video"], "frames"),
        ("h264_opus.mkv", [], "frames"),  # one keyframe only: every frame is decoded
    ],
)
def test_black_or_frozen_picture_is_flagged(app, clips, uploaded_take, clip, flags, checked_on):
    take = uploaded_take(clips[clip])
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY and take.flags == flags
    assert take.media_summary["picture_checked_on"] == checked_on


@pytest.mark.parametrize(
    ("clip", "reason"),
    [
        ("text.webm", "not a video file"),
        ("empty.webm", "not a video file"),
        ("header_only.webm", "not a video file"),
        ("no_audio.webm", "no audio track"),
        ("audio_only.webm", "no video track"),
    ],
)
def test_unacceptable_recordings_fail_for_good(app, clips, uploaded_take, clip, reason):
    """Is a file we cannot accept failed with a reason, once, and no output stored?"""
    take = uploaded_take(clips[clip])
    outcome = services.process(take.id)  # returns: a permanent failure is not retried
    take = reload(take)
    assert (outcome.status, take.status, take.failure_reason) == (
        "failed",
        TakeStatus.FAILED,
        reason,
    )
    assert set(_assets(take)) == {AssetKind.ORIGINAL}
    assert services.process(take.id).status == "skipped"  # a second run changes nothing
    assert reload(take).processing_attempts == 1


def test_truncated_recording_keeps_what_was_recorded(app, clips, uploaded_take):
    """A recording cut off mid-upload: is what arrived still turned into a playable answer?"""
    take = uploaded_take(clips["truncated.webm"])
    services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.READY, take.failure_reason
    assert 0 < take.duration_ms < 3000


def test_a_recording_shorter_than_its_container_says_is_flagged_incomplete(
    app, clips, uploaded_take
):
    """A WebM whose header says 5.0 s but whose data stops near 2.7 s (its bytes cut off):
    kept as a playable answer, flagged ``incomplete`` (it used to end ``ready`` with no flag),
    and the original bytes are kept as they arrived."""
    declared = probe.probe(clips["cut_short.webm"]).duration
    assert declared is not None and 4.9 <= declared <= 5.1
    take = uploaded_take(clips["cut_short.webm"])
    assert services.process(take.id).status == "ready"
    take = reload(take)
    assert take.status == TakeStatus.READY and "incomplete" in take.flags
    assert 1500 <= take.duration_ms <= 4000
    original = _assets(take)[AssetKind.ORIGINAL]
    assert original.size_bytes == clips["cut_short.webm"].stat().st_size
    assert get_storage().exists(original.storage_key)
    # The whole file (same header) is not flagged.
    whole = uploaded_take(clips["declared_5s.webm"])
    services.process(whole.id)
    assert "incomplete" not in reload(whole).flags


def test_the_incomplete_flag_is_shown_to_the_candidate_and_to_reviewers(app, org, sign_in_as):
    """Before submitting, the candidate is told the kept answer was cut short; reviewers see
    the flag beside the answer."""
    question = org.invitation.questions[1]
    take = Take(question=question, attempt=1, status=TakeStatus.READY, flags=["incomplete"])
    db.session.add(take)
    db.session.flush()
    db.session.add(Response(question_id=question.id, take_id=take.id))
    org.completed.questions[1].response.take.flags = ["incomplete"]
    db.session.commit()
    page = app.test_client().get(f"/i/{org.token}/review").get_data(as_text=True)
    assert 'data-flag="incomplete"' in page and "stops earlier than it should" in page
    review = sign_in_as(Role.REVIEWER).get(f"/review/candidates/{org.completed.id}")
    assert "recording cut short" in review.get_data(as_text=True)


def test_answer_longer_than_the_limit_is_refused(app, clips, uploaded_take):
    """A 3 s answer to a 1 s question (no duration in the file): refused after decoding?"""
    app.config["MEDIA_GRACE_SECONDS"] = 1
    take = uploaded_take(clips["vp8_opus.webm"], answer_seconds=1)
    services.process(take.id)
    take = reload(take)
    assert (take.status, take.failure_reason) == (TakeStatus.FAILED, "longer than the answer limit")


def test_accommodations_extend_the_answer_limit(app, clips, uploaded_take):
    """Do the candidate's extra seconds and extra percent count towards the limit?"""
    app.config["MEDIA_GRACE_SECONDS"] = 0
    extra_seconds = uploaded_take(clips["landscape.mp4"], answer_seconds=1, extra_answer_seconds=3)
    extra_percent = uploaded_take(clips["landscape.mp4"], answer_seconds=2, extra_time_percent=100)
    assert services.answer_limit_seconds(extra_seconds) == 4
    assert services.answer_limit_seconds(extra_percent) == 4
    services.process(extra_seconds.id)
    assert reload(extra_seconds).status == TakeStatus.READY


def test_reprocessing_replaces_outputs_without_duplicates(app, clips, uploaded_take):
    """Run twice (the take put back to uploaded): same rows, new files, old files gone."""
    take = uploaded_take(clips["landscape.mp4"])
    services.process(take.id)
    first = {k: a.storage_key for k, a in _assets(reload(take)).items()}
    take = reload(take)
    take.status = TakeStatus.UPLOADED
    db.session.commit()
    services.process(take.id)
    second = {k: (a.id, a.storage_key) for k, a in _assets(reload(take)).items()}
    assert set(second) == set(first)
    assert second[AssetKind.ORIGINAL][1] == first[AssetKind.ORIGINAL]
    for kind in (AssetKind.MP4, AssetKind.POSTER):
        assert second[kind][1] != first[kind]
        assert not get_storage().exists(first[kind])
        assert get_storage().exists(second[kind][1])
    assert reload(take).processing_attempts == 2


def test_transient_failure_gives_the_take_back_for_a_retry(app, clips, uploaded_take, monkeypatch):
    """If storage breaks mid-job, is the take returned to `uploaded` and the error raised
    (so RQ retries it), and does the retry then succeed?"""
    take = uploaded_take(clips["landscape.mp4"])
    storage = get_storage()
    real_save = storage.save_file

    def broken(key, path):
        raise OSError("disk full")

    monkeypatch.setattr(storage, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        services.process(take.id)
    take = reload(take)
    assert take.status == TakeStatus.UPLOADED and take.claim_token is None
    monkeypatch.setattr(storage, "save_file", real_save)
    assert services.process(take.id).status == "ready"


def test_a_take_held_by_a_live_claim_is_left_alone(app, clips, uploaded_take):
    """Two jobs for one take: does the second see the first's claim and skip?"""
    take = uploaded_take(clips["landscape.mp4"])
    token, _ = services.claim(take.id, job_id=None)
    assert token
    assert services.claim(take.id, job_id=None) == (None, None)
    assert services.process(take.id).status == "skipped"
    assert reload(take).claim_token == token


def test_a_processed_answer_emits_answer_ready_with_the_change(app, org, clips, uploaded_take):
    """Is answer.ready written in the transaction that marks the take ready (webhooks)?"""
    webhooks.create_endpoint(org.org.id, "http://127.0.0.1:9/x", ["answer.ready"])
    take = uploaded_take(clips["h264_opus.mkv"])
    assert services.process(take.id).status == "ready"
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.type == "answer.ready" and event.data["take_id"] == take.id
    assert event.data["invitation_id"] == reload(take).question.invitation_id
