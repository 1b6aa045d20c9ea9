"""Leftovers: storage objects no row references (orphans) and work folders of killed workers."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..media.storage import get_storage
from ..models import Organization, PurgeItem
from . import services

# Work folders that jobs create: media processing in WORK_DIR, S3 local copies (made by the
# storage layer, which has no settings) in the system's temporary folder.
MEDIA_WORK = re.compile(r"^take-\d+-")
S3_COPY = re.compile(r"^s3-copy-")


@dataclass
class Orphan:
    key: str
    age_seconds: float


def orphans(now: float | None = None, prefixes: tuple[str, ...] = ("",)) -> list[Orphan]:
    """Stored objects (under ``prefixes``) that no row references and no tombstone lists,
    older than the grace (a file is saved just before its row commits, so a young one may
    still be claimed)."""
    now = now or time.time()
    grace = current_app.config["ORPHAN_GRACE_MINUTES"] * 60
    referenced = services.referenced_keys()
    referenced.update(
        db.session.scalars(sa.select(PurgeItem.location).where(PurgeItem.kind == "storage"))
    )
    found = []
    storage = get_storage()
    for prefix in prefixes:
        for key, modified in storage.list_keys(prefix):
            if key not in referenced and now - modified >= grace:
                found.append(Orphan(key, now - modified))
    return sorted(found, key=lambda o: o.key)


def delete_orphans(found: list[Orphan]) -> int:
    storage = get_storage()
    keys = [o.key for o in found]
    if hasattr(storage, "delete_many"):
        storage.delete_many(keys)
    else:
        for key in keys:
            storage.delete(key)
    return len(keys)


def remove_superseded_reports() -> int:
    """Report files no report row points at any more (a re-render replaced them and was killed
    before deleting the old one): removed by the daily sweep. Other orphans are only listed
    (``flask privacy orphans``) until someone runs it with ``--delete``."""
    org_ids = db.session.scalars(sa.select(Organization.id))
    found = orphans(prefixes=tuple(f"orgs/{org_id}/reports/" for org_id in org_ids))
    return delete_orphans(found) if found else 0


def stale_work_folders(now: float | None = None) -> list[Path]:
    """Work folders untouched for a day: their worker was killed (a live job removes its
    own)."""
    now = now or time.time()
    limit = current_app.config["WORK_FOLDER_MAX_AGE_HOURS"] * 3600
    found = []
    places = [(Path(current_app.config["WORK_DIR"]), MEDIA_WORK),
              (Path(tempfile.gettempdir()), S3_COPY)]  # fmt: skip
    candidates = [
        path
        for folder, pattern in places
        if folder.is_dir()
        for path in folder.iterdir()
        if pattern.match(path.name)
    ]
    for path in candidates:
        if path.is_dir() and not path.is_symlink():
            try:
                if now - path.stat().st_mtime >= limit:
                    found.append(path)
            except FileNotFoundError:
                continue  # removed meanwhile by its job
    return found


def remove_work_folders(now: float | None = None) -> int:
    removed = 0
    for path in stale_work_folders(now):
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed
