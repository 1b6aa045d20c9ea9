"""Time zones: the zone a time is shown in, and the zones people choose from.

Times are stored in UTC. Staff see them in their own zone (their profile), or their
organisation's when they have not chosen one; candidates' pages are rendered in the
organisation's zone and then shown in the browser's own zone (static/js/localtime.js);
emails state the organisation's zone and UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import has_request_context
from flask_login import current_user


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows (tzdata), sorted; UTC first."""
    names = sorted(n for n in available_timezones() if "/" in n and not n.startswith("Etc/"))
    return ("UTC", *names)


def is_zone(name: str | None) -> bool:
    return bool(name) and name in set(zone_names())


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The zone called ``name``; UTC for no name or a name this machine does not know."""
    if not name or name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def display_zone() -> tzinfo:
    """The signed-in person's zone (theirs, else their organisation's); UTC otherwise."""
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return zone(current_user.timezone or current_user.organization.timezone)
    return UTC


def zone_label(moment: datetime) -> str:
    """'CET', 'EST' or, where the zone has no letters, 'UTC−03:00'."""
    name = moment.tzname() or "UTC"
    if name.isalpha():
        return name
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"
