"""RQ entry points for transcripts: they take ids, and the rules live in ``services``."""

from __future__ import annotations

import logging

from .. import jobs
from . import services

log = logging.getLogger(__name__)


def transcribe(transcript_id: int) -> str:
    """Recognise one answer's (or question video's) speech; idempotent."""
    job_id = jobs.current_job_id()
    outcome = services.transcribe(transcript_id, job_id)
    log.info("[job %s] transcript %s: %s %s", job_id, transcript_id, outcome.status, outcome.detail)
    return outcome.status
