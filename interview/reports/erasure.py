"""Reports in the privacy purge: a candidate's reports are deleted; screening reports that
list them lose their file at once and are rendered again without the candidate's data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import Invitation, Report, ReportKind, ReportStatus
from ..privacy import services as privacy
from ..privacy.services import ErasePolicy, Purged, StoredFile
from . import reporting


def _screening_ids(invitation_ids: Sequence[int]) -> sa.Select:
    return sa.select(Invitation.screening_id).where(Invitation.id.in_(invitation_ids))


def _affected(invitation_ids: Sequence[int]) -> sa.ColumnElement[bool]:
    return sa.or_(
        Report.invitation_id.in_(invitation_ids),
        sa.and_(
            Report.invitation_id.is_(None), Report.screening_id.in_(_screening_ids(invitation_ids))
        ),
    )


def _files(invitation_ids: Sequence[int]) -> list[StoredFile]:
    return [
        StoredFile("storage", key)
        for key in db.session.scalars(
            sa.select(Report.storage_key).where(
                _affected(invitation_ids), Report.storage_key.is_not(None)
            )
        )
    ]


def _erase(invitation_ids: Sequence[int], _policy: ErasePolicy) -> None:
    db.session.execute(
        sa.delete(Report)
        .where(Report.invitation_id.in_(invitation_ids), Report.kind == ReportKind.CANDIDATE_PDF)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Report)
        .where(_affected(invitation_ids))
        .values(
            storage_key=None,
            size_bytes=None,
            status=ReportStatus.QUEUED,
            scores_fingerprint=None,
            rq_job_id=None,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )


def _keys() -> Iterable[str]:
    return db.session.scalars(sa.select(Report.storage_key).where(Report.storage_key.is_not(None)))


@privacy.after_purge
def render_again(purged: Purged) -> None:
    """Screening reports emptied by the purge are rendered again (without the candidate)."""
    for report in db.session.scalars(
        sa.select(Report).where(
            Report.screening_id.in_(purged.screening_ids),
            Report.status == ReportStatus.QUEUED,
            Report.storage_key.is_(None),
            Report.rq_job_id.is_(None),
        )
    ).all():
        reporting.queue_render(report)


privacy.register("reports", files=_files, erase=_erase, keys=_keys, order=60)
