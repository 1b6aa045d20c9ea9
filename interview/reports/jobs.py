"""RQ entry points for reports: they take ids, and the rules live in ``reporting``."""

from __future__ import annotations

import logging

from .. import jobs
from . import reporting

log = logging.getLogger(__name__)


def render_report(report_id: int) -> str:
    """Render one report to its PDF or CSV bundle and store it (idempotent)."""
    job_id = jobs.current_job_id()
    outcome = reporting.render(report_id)
    log.info("[job %s] report %s: %s", job_id, report_id, outcome)
    return outcome
