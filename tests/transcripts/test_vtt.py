"""WebVTT captions: what we write parses with an independent parser and fits the answer."""

from __future__ import annotations

import html
import io

import webvtt

from interview.transcripts import vtt
from interview.transcripts.asr import Segment, Word


def _parse(text: str):
    return webvtt.from_buffer(io.StringIO(text))


def test_cues_parse_and_keep_their_times():
    segments = [Segment(0.0, 1.5, "Hello there."), Segment(2.0, 3.25, "Second <one> & more")]
    parsed = _parse(vtt.render(vtt.cues(segments, duration=4.0)))
    assert [(c.start, c.end) for c in parsed] == [
        ("00:00:00.000", "00:00:01.500"),
        ("00:00:02.000", "00:00:03.250"),
    ]
    # Cue text is markup: '<' and '&' are escaped (a browser shows them as typed).
    assert parsed[1].raw_text == "Second &lt;one&gt; &amp; more"
    assert html.unescape(parsed[1].raw_text) == "Second <one> & more"


def test_cues_never_leave_the_answer_or_overlap():
    """A segment running past the end (or starting before the last one ended) is clipped."""
    segments = [Segment(0.0, 2.5, "one"), Segment(2.0, 9.0, "two"), Segment(9.5, 11.0, "three")]
    # "two" starts while "one" is still on screen: it waits until just after "one" ends.
    items = vtt.cues(segments, duration=8.0)
    assert [(round(c.start, 3), round(c.end, 3)) for c in items] == [(0.0, 2.5), (2.501, 8.0)]
    for cue in _parse(vtt.render(items)):
        assert 0 <= cue.start_in_seconds <= cue.end_in_seconds <= 8.0


def test_long_segments_are_split_on_word_times_into_readable_cues():
    words = [Word(i * 0.5, i * 0.5 + 0.4, f"word{i}", 0.9) for i in range(40)]
    segment = Segment(0.0, 20.0, " ".join(w.text for w in words), words)
    items = vtt.cues([segment], words_of=lambda s: s.words, duration=20.0)
    assert len(items) > 3
    assert all(len(c.text) <= vtt.MAX_CHARS and c.end - c.start <= vtt.MAX_SECONDS for c in items)
    assert " ".join(c.text for c in items) == segment.text
    parsed = _parse(vtt.render(items))
    assert len(parsed) == len(items)
    assert all(len(line) <= vtt.LINE_CHARS + 10 for c in parsed for line in c.lines)


def test_an_empty_transcript_is_a_valid_file():
    assert len(_parse(vtt.render(vtt.cues([], duration=3.0)))) == 0
