"""A real worker killed with SIGKILL in the middle of a purge: the database and storage stay
consistent, and the next run finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import sqlalchemy as sa

from interview import jobs
from interview.extensions import db
from interview.media.storage import get_storage
from interview.models import AssetKind, Invitation, MediaAsset, PurgeItem, utcnow
from interview.privacy import retention, services

from .. import factories
from ..conftest import PROJECT_ROOT, worker_env
from ..test_jobs import _children

CANDIDATES = 60


def _purged() -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count(Invitation.id)).where(Invitation.deleted_at.is_not(None))
    )


def _assert_consistent(ids: list[int], keys: dict[int, list[str]]) -> None:
    """Every candidate is either intact or deleted (never half); no row points at a missing
    file; every file left of a deleted candidate is listed by a tombstone."""
    storage = get_storage()
    listed = set(db.session.scalars(sa.select(PurgeItem.location)))
    referenced = services.referenced_keys()
    assert all(storage.exists(k) for k in referenced)
    for invitation_id in ids:
        invitation = db.session.get(Invitation, invitation_id)
        if invitation.deleted_at is None:
            assert invitation.candidate_name.startswith("Expired ")
            assert all(k in referenced and storage.exists(k) for k in keys[invitation_id])
        else:
            assert invitation.candidate_name == "Deleted candidate"
            assert not set(keys[invitation_id]) & referenced
            assert all(k in listed for k in keys[invitation_id] if storage.exists(k))


def test_purge_killed_mid_way_is_finished_by_the_next_run(app, org):
    """SIGKILL the worker while the sweep purges 60 expired candidates (two per transaction):
    nothing is half-deleted, and the next sweep deletes the rest and every file."""
    long_ago = utcnow() - timedelta(days=org.org.retention_days + 10)
    ids, keys = [], {}
    for n in range(CANDIDATES):
        invitation = factories.completed_candidate(
            org.screening, f"Expired {n}", f"expired{n}@example.com", completed_at=long_ago
        )
        keys[invitation.id] = [
            factories.stored_asset(
                q.response.take, kind, f"{kind} {n}".encode(), "video/mp4"
            ).storage_key
            for q in invitation.questions
            for kind in (AssetKind.ORIGINAL, AssetKind.MP4)
        ]
        ids.append(invitation.id)
    db.session.commit()

    jobs.enqueue(retention.SWEEP_JOB)
    log = open(os.path.join(app.instance_path, "privacy-worker.log"), "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--queues", "privacy"],
        cwd=PROJECT_ROOT,
        env=worker_env(app, PRIVACY_PURGE_BATCH="2"),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: stopped by PID below
    )
    try:
        deadline = time.monotonic() + 60
        while _purged() < 4:
            assert time.monotonic() < deadline, "the worker never started purging"
            assert worker.poll() is None, "the worker exited"
            time.sleep(0.01)
        for child in _children(worker.pid):  # the work horse
            os.kill(child, signal.SIGKILL)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        log.close()

    done = _purged()
    assert 0 < done < CANDIDATES, f"the kill should land mid-purge ({done} purged)"
    _assert_consistent(ids, keys)

    result = retention.sweep()  # the next run (the scheduler's, or a reconciled job)
    assert result.purged == CANDIDATES - done
    assert _purged() == CANDIDATES
    assert db.session.scalar(sa.select(sa.func.count(PurgeItem.id))) == 0
    storage = get_storage()
    assert not any(storage.exists(k) for v in keys.values() for k in v)
    assert not db.session.scalar(
        sa.select(sa.func.count(MediaAsset.id)).where(
            MediaAsset.storage_key.in_([k for v in keys.values() for k in v])
        )
    )
