"""WebVTT captions from recognised segments (pure; W3C WebVTT: cue timings, escaped text).

Segments are sentences; a caption should fit on screen, so a long segment is cut at word
boundaries into cues of at most ``MAX_CHARS`` characters (two lines of about 42) and
``MAX_SECONDS`` seconds, using the word timestamps. Every cue lies within [0, duration].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_CHARS = 84
MAX_SECONDS = 6.0
LINE_CHARS = 42


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


class _Timed:
    """Anything with start, end and text (asr.Segment, asr.Word, a stored segment row)."""

    start: float
    end: float
    text: str


def timestamp(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def escape(text: str) -> str:
    """Cue text is a small markup language: '&', '<' and '>' must be escaped, and '-->'
    never appears inside a cue."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", " ").replace("\n", " ")


def _wrap(text: str) -> str:
    """Break a cue into two lines near the middle when it is longer than one line."""
    if len(text) <= LINE_CHARS:
        return text
    middle = len(text) // 2
    cut = min(
        (i for i, ch in enumerate(text) if ch == " "),
        key=lambda i: abs(i - middle),
        default=None,
    )
    return text if cut is None else f"{text[:cut]}\n{text[cut + 1 :]}"


def cues(segments: Iterable[_Timed], words_of=None, duration: float | None = None) -> list[Cue]:
    """Cues for ``segments``; ``words_of(segment)`` gives its timed words when it has any."""
    out: list[Cue] = []
    for segment in segments:
        words: Sequence[_Timed] = list(words_of(segment)) if words_of else []
        if not words or (
            len(segment.text) <= MAX_CHARS and segment.end - segment.start <= MAX_SECONDS
        ):
            out.append(Cue(segment.start, segment.end, segment.text))
            continue
        chunk: list[_Timed] = []
        for word in words:
            if chunk and (
                len(" ".join(w.text for w in [*chunk, word])) > MAX_CHARS
                or word.end - chunk[0].start > MAX_SECONDS
            ):
                out.append(Cue(chunk[0].start, chunk[-1].end, " ".join(w.text for w in chunk)))
                chunk = []
            chunk.append(word)
        if chunk:
            out.append(Cue(chunk[0].start, chunk[-1].end, " ".join(w.text for w in chunk)))
    return _fit(out, duration)


GAP = 0.001  # a cue ends just before the next starts, so a player never shows both at once


def _fit(items: list[Cue], duration: float | None) -> list[Cue]:
    """Keep cues in order, inside [0, duration], not overlapping, each at least 1 ms long."""
    fitted: list[Cue] = []
    last_end = 0.0
    for cue in sorted(items, key=lambda c: c.start):
        start = max(cue.start, last_end + (GAP if fitted else 0.0), 0.0)
        end = cue.end if duration is None else min(cue.end, duration)
        if not cue.text.strip() or end - start < GAP:
            continue
        fitted.append(Cue(start, end, cue.text.strip()))
        last_end = end
    return fitted


def render(items: Iterable[Cue]) -> str:
    """A WebVTT file (UTF-8 text) for ``items``."""
    lines = ["WEBVTT", ""]
    for number, cue in enumerate(items, start=1):
        lines.append(str(number))
        lines.append(f"{timestamp(cue.start)} --> {timestamp(cue.end)}")
        lines.append(_wrap(escape(cue.text)).replace("-->", "->"))
        lines.append("")
    return "\n".join(lines)
