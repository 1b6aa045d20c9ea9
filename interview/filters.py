"""Jinja filters for dates and durations."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from .reports.figures import flag_text


def deadline(value: datetime | None) -> str:
    """'Tuesday 1 December 2026, 17:00 UTC': unambiguous in any country."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value:%A} {value.day} {value:%B %Y, %H:%M} UTC"


def short_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: int | float | None) -> str:
    """'45 s', '2 min', '2 min 30 s'."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def score(value: float | None, digits: int = 2) -> str:
    """A score for people: '3.67', or an em dash when there is none (never a misleading 0)."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def timestamp(ms: int | None) -> str:
    """A moment in an answer: '1:05'."""
    if ms is None:
        return ""
    minutes, seconds = divmod(int(ms) // 1000, 60)
    return f"{minutes}:{seconds:02d}"


def register(app: Flask) -> None:
    app.jinja_env.filters["score"] = score
    app.jinja_env.filters["timestamp"] = timestamp
    app.jinja_env.filters["deadline"] = deadline
    app.jinja_env.filters["short_datetime"] = short_datetime
    app.jinja_env.filters["duration"] = duration
    # Quality flags in words (one table for pages and reports: reports.figures).
    app.jinja_env.filters["flag_text"] = flag_text
