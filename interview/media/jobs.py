"""RQ entry points for media: they take ids, and the rules live in ``media.services``."""

from __future__ import annotations

import logging

from .. import jobs
from . import chunks, services

log = logging.getLogger(__name__)


def process_take(take_id: int) -> str:
    """Turn one uploaded take into its MP4, poster and figures (idempotent)."""
    job_id = jobs.current_job_id()
    chunks.assemble_pending(take_id)  # normally done by the web node right after the last byte
    outcome = services.process(take_id, job_id)
    log.info("[job %s] take %s: %s %s", job_id, take_id, outcome.status, outcome.detail)
    return outcome.status
