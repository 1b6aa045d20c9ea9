"""Partial uploads are part of "everything about a candidate": their chunks are listed,
erased and accounted for through the privacy catalogue (imported by ``uploads``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import UploadChunk
from ..privacy import catalogue
from ..privacy import services as privacy
from ..privacy.services import ErasePolicy, StoredFile


def _chunk_files(invitation_ids: Sequence[int]) -> list[StoredFile]:
    """The stored chunks of these candidates' uploads (the privacy purge deletes them)."""
    take_ids = catalogue.take_ids(invitation_ids)
    if not take_ids:
        return []
    return [
        StoredFile("storage", key)
        for key in db.session.scalars(
            sa.select(UploadChunk.storage_key).where(UploadChunk.take_id.in_(take_ids))
        )
    ]


def _erase_chunks(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    take_ids = catalogue.take_ids(invitation_ids)
    if take_ids:
        db.session.execute(
            sa.delete(UploadChunk)
            .where(UploadChunk.take_id.in_(take_ids))
            .execution_options(synchronize_session=False)
        )


def _chunk_keys() -> Iterable[str]:
    return db.session.scalars(sa.select(UploadChunk.storage_key))


privacy.register(
    "upload chunks", files=_chunk_files, erase=_erase_chunks, keys=_chunk_keys, order=35
)
