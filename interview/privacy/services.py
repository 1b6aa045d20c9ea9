"""The one definition of "everything about a candidate": a registry of parts.

Every area that stores a file or a personal field about a candidate registers one part here,
with one call, so the export, the purge and the orphan scan cannot miss it::

    privacy.register(
        "transcripts",
        files=lambda ids: [...],      # StoredFile for each file about these invitations
        export=lambda inv, opts: {...},  # what the candidate's download says about it
        erase=lambda ids, policy: ...,   # delete or anonymise its rows (no commit)
        keys=lambda: [...],           # every storage key its rows reference (orphan scan)
    )

Hooks registered with ``after_purge`` run after a purge committed (webhooks send
``candidate.deleted`` from there; reports re-render screening reports).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..models import Invitation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredFile:
    """A file about a candidate: a key in the storage backend, or a local path."""

    kind: Literal["storage", "path"]
    location: str


@dataclass(frozen=True)
class ErasePolicy:
    """What a purge keeps (from the organisation's settings at the time of the purge)."""

    keep_anonymous_scores: bool


@dataclass(frozen=True)
class ExportOptions:
    include_reviews: bool


@dataclass(frozen=True)
class Purged:
    """What one committed purge removed, for the after-purge hooks (no personal data)."""

    invitation_ids: list[int]
    org_ids: dict[int, int]  # invitation id -> organisation id
    screening_ids: set[int]
    reason: str


@dataclass(frozen=True)
class Part:
    name: str
    files: Callable[[Sequence[int]], Iterable[StoredFile]] | None = None
    export: Callable[[Invitation, ExportOptions], Any] | None = None
    erase: Callable[[Sequence[int], ErasePolicy], None] | None = None
    keys: Callable[[], Iterable[str]] | None = None
    # Erase order: lower first (parts that read other parts' rows erase before them).
    order: int = 100


@dataclass
class _Registry:
    parts: dict[str, Part] = field(default_factory=dict)
    after: list[Callable[[Purged], None]] = field(default_factory=list)


_REGISTRY = _Registry()


def register(
    name: str,
    *,
    files: Callable[[Sequence[int]], Iterable[StoredFile]] | None = None,
    export: Callable[[Invitation, ExportOptions], Any] | None = None,
    erase: Callable[[Sequence[int], ErasePolicy], None] | None = None,
    keys: Callable[[], Iterable[str]] | None = None,
    order: int = 100,
) -> Part:
    """Add (or replace, on re-import) the part ``name``."""
    part = Part(name, files, export, erase, keys, order)
    _REGISTRY.parts[name] = part
    return part


def parts() -> list[Part]:
    return sorted(_REGISTRY.parts.values(), key=lambda p: (p.order, p.name))


def after_purge(hook: Callable[[Purged], None]) -> Callable[[Purged], None]:
    """Decorator: call ``hook(purged)`` after every committed purge (never inside it)."""
    if hook not in _REGISTRY.after:
        _REGISTRY.after.append(hook)
    return hook


def run_after_purge(purged: Purged) -> None:
    """Run every hook; one that fails is logged and never undoes or blocks the purge."""
    for hook in _REGISTRY.after:
        try:
            hook(purged)
        except Exception:
            log.exception("after-purge hook %s failed", getattr(hook, "__name__", hook))


def files_about(invitation_ids: Sequence[int]) -> list[StoredFile]:
    """Every file about these candidates, from every part (duplicates removed)."""
    found: dict[StoredFile, None] = {}
    for part in parts():
        if part.files is not None:
            for stored in part.files(invitation_ids):
                found[stored] = None
    return list(found)


def referenced_keys() -> set[str]:
    """Every storage key some row references (what is not here is an orphan)."""
    keys: set[str] = set()
    for part in parts():
        if part.keys is not None:
            keys.update(part.keys())
    return keys


def export_sections(invitation: Invitation, options: ExportOptions) -> dict[str, Any]:
    """Every part's account of what is stored about this candidate."""
    sections = {}
    for part in parts():
        if part.export is not None:
            value = part.export(invitation, options)
            if value is not None:
                sections[part.name] = value
    return sections


def erase_all(invitation_ids: Sequence[int], policy: ErasePolicy) -> None:
    for part in parts():
        if part.erase is not None:
            part.erase(invitation_ids, policy)
