"""The pure parts of transcoding: reading ffmpeg's detection logs, flags, sizes, keyframes."""

from __future__ import annotations

from interview.media import probe, transcode

LOG = """
[Parsed_volumedetect_0 @ 0x1] mean_volume: -62.5 dB
[Parsed_volumedetect_0 @ 0x1] max_volume: -51.0 dB
[silencedetect @ 0x2] silence_start: 0
[blackdetect @ 0x3] black_start:1.2 black_end:3.4 black_duration:2.2
[freezedetect @ 0x4] lavfi.freezedetect.freeze_start: 5
"""


def test_detection_logs_become_seconds_and_flags():
    """Do open spans (silence, a freeze still going at the end) run to the end of the answer?"""
    analysis = transcode.finish_analysis(transcode.parse_analysis(LOG), duration=10.0)
    assert (analysis.mean_volume_db, analysis.max_volume_db) == (-62.5, -51.0)
    assert analysis.silence_seconds == 10.0
    assert analysis.black_seconds == 2.2
    assert analysis.frozen_seconds == 5.0
    assert transcode.quality_flags(analysis, 10.0, has_video=True) == ["silent"]


def test_a_loud_answer_with_a_moving_picture_has_no_flags():
    analysis = transcode.finish_analysis(
        transcode.parse_analysis("mean_volume: -20.0 dB\nmax_volume: -3.0 dB\n"), duration=30.0
    )
    assert transcode.quality_flags(analysis, 30.0, has_video=True) == []


def test_waveform_is_the_peak_of_each_slice():
    pcm = b"".join(int(v).to_bytes(2, "little", signed=True) for v in [0, 16384, -32768, 0] * 50)
    peaks = transcode.waveform(pcm, points=4)
    assert len(peaks) == 4 and max(peaks) == 1.0
    assert transcode.waveform(b"") == []


def test_output_size_is_capped_and_even(clips):
    info = probe.probe(clips["phone.mp4"])  # 640x360 shown as 360x640
    assert transcode.target_size(info, 720) == (360, 640)
    assert transcode.target_size(info, 241) == (240, 428)


def test_keyframe_density_decides_how_the_picture_is_checked(clips):
    dense = clips["black_h264.mkv"]  # a keyframe every second
    sparse = clips["h264_opus.mkv"]  # one keyframe
    assert transcode.keyframes_are_dense(dense, probe.probe(dense))
    assert not transcode.keyframes_are_dense(sparse, probe.probe(sparse))
