"""Figures derived for reports and their charts: pure functions over plain numbers.

Ranking, the 1–5 score distribution and the geometry of the small SVG bar charts the report
templates draw (no JavaScript, no chart library: a few rectangles are enough and print sharply).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

SCALE = (1, 2, 3, 4, 5)

# What a quality flag means, in words a reader of a report understands.
FLAG_TEXT = {
    "silent": "no sound detected",
    "black_video": "dark picture",
    "frozen_video": "frozen picture",
    "uploaded_late": "finished uploading after the time limit",
    "incomplete": "recording cut short (shorter than the file says)",
    "upload_cut_short": "the upload stopped before the end; what arrived was kept",
}


def flag_text(flag: str) -> str:
    return FLAG_TEXT.get(flag, flag.replace("_", " "))


def timestamp(ms: int | None) -> str:
    """A moment in an answer as m:ss ('1:05'); empty when the comment is not tied to one."""
    if ms is None:
        return ""
    minutes, seconds = divmod(max(int(ms), 0) // 1000, 60)
    return f"{minutes}:{seconds:02d}"


def ranked(items: Sequence[T], score: Callable[[T], float | None]) -> list[tuple[int | None, T]]:
    """Items best first with their rank (1, 2, 2, 4: equal scores to two decimals share one);
    items without a score come last, unranked (None), in their given order."""
    scored = [item for item in items if score(item) is not None]
    scored.sort(key=lambda item: -score(item))  # type: ignore[operator]  # stable sort
    result: list[tuple[int | None, T]] = []
    previous: float | None = None
    rank = 0
    for position, item in enumerate(scored, start=1):
        value = round(score(item), 2)  # type: ignore[arg-type]
        if value != previous:
            rank, previous = position, value
        result.append((rank, item))
    result.extend((None, item) for item in items if score(item) is None)
    return result


def distribution(values: Iterable[int | float | None]) -> list[int]:
    """How many scores fell on each level of the 1–5 scale (``[n1, n2, n3, n4, n5]``)."""
    counts = [0] * len(SCALE)
    for value in values:
        if value is None:
            continue
        level = int(round(value))
        if SCALE[0] <= level <= SCALE[-1]:
            counts[level - SCALE[0]] += 1
    return counts


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the figure printed beside or above the bar
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # position along the value axis, label


def horizontal_bars(
    rows: Sequence[tuple[str, float | None]],
    *,
    maximum: float = 5.0,
    width: float = 440.0,
    label_width: float = 150.0,
    row_height: float = 22.0,
    figure_width: float = 40.0,
) -> Chart:
    """One horizontal bar per row (e.g. criterion averages on the 0–5 scale)."""
    plot = width - label_width - figure_width
    bars = []
    for index, (label, value) in enumerate(rows):
        length = 0.0 if value is None else plot * max(0.0, min(value, maximum)) / maximum
        bars.append(
            Bar(
                label=label,
                value=value,
                text="—" if value is None else f"{value:.2f}",
                x=label_width,
                y=index * row_height + 4,
                width=round(length, 2),
                height=row_height - 8,
            )
        )
    ticks = [(label_width + plot * t / maximum, f"{t:g}") for t in range(0, int(maximum) + 1)]
    return Chart(width=width, height=len(rows) * row_height + 16, bars=bars, ticks=ticks)


def column_bars(
    counts: Sequence[int], *, width: float = 150.0, height: float = 70.0, label_height: float = 14.0
) -> Chart:
    """One vertical bar per scale level (a criterion's score distribution)."""
    top = max(counts) if counts and max(counts) > 0 else 1
    slot = width / max(len(counts), 1)
    plot = height - 2 * label_height
    bars = []
    for index, count in enumerate(counts):
        length = plot * count / top
        bars.append(
            Bar(
                label=str(SCALE[index]),
                value=float(count),
                text=str(count),
                x=round(index * slot + slot * 0.15, 2),
                y=round(label_height + plot - length, 2),
                width=round(slot * 0.7, 2),
                height=round(length, 2),
            )
        )
    return Chart(width=width, height=height, bars=bars, ticks=[])
