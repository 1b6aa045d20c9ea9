"""Jinja filters for dates and durations."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from flask import Flask
from markupsafe import Markup, escape

from .reports.figures import flag_text
from .timezones import display_zone, zone, zone_label


def _in(value: datetime, where: str | tzinfo | None) -> datetime:
    if isinstance(where, str):
        where = zone(where)
    return value.astimezone(where or display_zone())


def deadline(value: datetime | None, where: str | tzinfo | None = None) -> str:
    """'Tuesday 1 December 2026, 18:00 CET': unambiguous in any country.

    In ``where`` (a zone or its name), else in the viewer's zone (see timezones.display_zone).
    """
    if value is None:
        return ""
    value = _in(value, where)
    return f"{value:%A} {value.day} {value:%B %Y, %H:%M} {zone_label(value)}"


def deadline_with_utc(value: datetime | None, where: str | tzinfo | None = None) -> str:
    """For emails, read anywhere: 'Tuesday 1 December 2026, 18:00 CET (17:00 UTC)'."""
    if value is None:
        return ""
    text = deadline(value, where)
    if _in(value, where).utcoffset():
        text += f" ({value.astimezone(UTC):%H:%M} UTC"
        if _in(value, where).date() != value.astimezone(UTC).date():
            utc = value.astimezone(UTC)
            text += f" on {utc:%A} {utc.day} {utc:%B}"
        text += ")"
    return text


def local_time(value: datetime | None, where: str | tzinfo | None = None) -> Markup:
    """A ``<time>`` that the browser rewrites in the reader's own zone (static/js/localtime.js);
    without script it reads as :func:`deadline` in ``where``."""
    if value is None:
        return Markup("")
    iso = value.astimezone(UTC).isoformat()
    return Markup('<time datetime="{}" data-local-time>{}</time>').format(
        iso, escape(deadline(value, where))
    )


def short_datetime(value: datetime | None, where: str | tzinfo | None = None) -> str:
    if value is None:
        return ""
    value = _in(value, where)
    return f"{value:%Y-%m-%d %H:%M} {zone_label(value)}"


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
    app.jinja_env.filters["deadline_with_utc"] = deadline_with_utc
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["short_datetime"] = short_datetime
    app.jinja_env.filters["duration"] = duration
    # Quality flags in words (one table for pages and reports: reports.figures).
    app.jinja_env.filters["flag_text"] = flag_text
