"""Job targets used only by the tests of the job wiring (run inside a real RQ worker)."""

from __future__ import annotations

import time

from rq import get_current_job

from interview.extensions import db
from interview.models import JobRun, Organization


def bump_retention(org_id: int) -> None:
    """Idempotent enough for a test: add one day of retention."""
    org = db.session.get(Organization, org_id)
    org.retention_days += 1
    db.session.commit()


def explode(org_id: int) -> None:
    raise RuntimeError(f"boom for org {org_id}")


def slow_then_bump(org_id: int) -> None:
    """Hang on the first attempt (long enough to be killed), finish on the next."""
    run = db.session.get(JobRun, get_current_job().meta["run_id"])
    if run.attempts == 1:
        time.sleep(60)
    bump_retention(org_id)
