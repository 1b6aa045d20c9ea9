"""Command-line entry points: ``flask users``, ``flask demo``, ``flask worker``, ``flask jobs``,
``flask api keys``."""

from __future__ import annotations

import time
from datetime import timedelta

import click
import redis
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from . import demo, jobs
from .admin import services as accounts
from .api import services as api_services
from .extensions import db
from .media import chunks
from .media import services as media
from .models import ApiKey, Organization, Role
from .privacy import retention
from .privacy.cli import privacy_cli
from .recruiter import services as recruiting
from .transcripts import asr
from .transcripts import recovery as transcript_recovery
from .transcripts import services as transcripts

users_cli = AppGroup("users", help="Manage staff accounts.")
jobs_cli = AppGroup("jobs", help="Inspect and repair background jobs.")
api_cli = AppGroup("api", help="The integration API.")
keys_cli = AppGroup("keys", help="API keys of an organisation.")
api_cli.add_command(keys_cli)


def _org(ref: str) -> Organization:
    org = db.session.scalar(sa.select(Organization).where(Organization.slug == ref))
    if org is None and ref.isdigit():
        org = db.session.get(Organization, int(ref))
    if org is None:
        raise click.ClickException(f"No organisation with slug or id {ref!r}.")
    return org


@keys_cli.command("create")
@click.option("--org", "org_ref", required=True, help="The organisation's slug or id.")
@click.option("--name", required=True)
@click.option("--scopes", default="read", show_default=True, help="read,invite,decide,webhooks")
def create_key_command(org_ref: str, name: str, scopes: str) -> None:
    """Make an API key and print it (the only time it is shown)."""
    try:
        raw = api_services.create_key(_org(org_ref), name, scopes, None)
    except api_services.ApiKeyError as error:
        raise click.ClickException(str(error)) from error
    click.echo(raw)


@keys_cli.command("list")
@click.option("--org", "org_ref", required=True)
def list_keys_command(org_ref: str) -> None:
    """The organisation's keys: id, prefix, scopes, last use, status."""
    for key in api_services.org_keys(_org(org_ref).id):
        used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
        state = "active" if key.is_active else "revoked"
        click.echo(f"{key.id}\t{key.prefix}…\t{','.join(key.scopes)}\t{used}\t{state}\t{key.name}")


@keys_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_key_command(key_id: int) -> None:
    """Revoke a key by id (it stops working at once)."""
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise click.ClickException(f"No API key {key_id}.")
    api_services.revoke_key(key, None)
    click.echo(f"revoked {key.prefix}…")


@users_cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--name", default="Administrator", show_default=True)
@click.option("--org", "org_name", default="My organisation", show_default=True)
@click.option(
    "--password",
    default=None,
    help="Leave out to be prompted; pass '-' to generate one and print it.",
)
def create_admin(email: str, name: str, org_name: str, password: str | None) -> None:
    """Create the first admin (and the organisation, if it does not exist yet)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    elif password == "-":  # noqa: S105 (the "generate one" marker)
        password = None
    if password is not None and len(password) < 10:
        raise click.ClickException("The password must have at least 10 characters.")
    org = db.session.scalar(sa.select(Organization).where(Organization.name == org_name))
    if org is None:
        org = Organization(name=org_name, slug=demo.slugify(org_name))
        db.session.add(org)
        db.session.flush()
    try:
        user, password = accounts.create_user(
            org, name=name, email=email, role=Role.ADMIN, password=password
        )
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created admin {user.email} in {org.name}.")
    click.echo(f"Password: {password}")


@click.command("demo")
def demo_command() -> None:
    """Create demo data once (an organisation, one user per role, a sample screening)."""
    created = demo.ensure_demo(current_app.instance_path)
    click.echo("Demo data " + ("created." if created else "already present."))
    click.echo(demo.describe(current_app.instance_path))


@click.command("worker")
@click.option("--queues", default=",".join(jobs.QUEUES), show_default=True, help="Comma-separated.")
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker_command(queues: str, burst: bool) -> None:
    """Run an RQ worker inside the app context."""
    if "transcripts" in queues.split(",") and transcripts.enabled():
        # Verify the speech model (SHA-256) before any job: a bad one is reported now, and its
        # jobs fail with the same clear reason while answers stay reviewable.
        try:
            click.echo(f"Speech model verified: {transcripts.prepare_model()}")
        except (asr.ModelUnavailable, OSError) as error:
            click.echo(f"Transcripts unavailable: {error}", err=True)
    jobs.run_worker(current_app._get_current_object(), queues.split(","), burst=burst)


@jobs_cli.command("reconcile")
@click.option("--stale-minutes", default=5, show_default=True, type=int)
def reconcile_command(stale_minutes: int) -> None:
    """Re-queue jobs that Redis lost or whose worker died."""
    resent = jobs.reconcile(timedelta(minutes=stale_minutes))
    click.echo(f"Re-queued {len(resent)} job(s).")
    for run in resent:
        click.echo(f"  {run.id} {run.name}{tuple(run.args)}")
    takes = media.reconcile_takes(timedelta(minutes=stale_minutes))
    click.echo(f"Re-queued {len(takes)} take(s) stuck in uploaded/processing.")
    for take in takes:
        click.echo(f"  take {take.id}")
    texts = transcript_recovery.reconcile_transcripts(timedelta(minutes=stale_minutes))
    click.echo(f"Re-queued {len(texts)} transcript(s) stuck or missing.")
    for transcript in texts:
        click.echo(f"  transcript {transcript.id}")


def run_periodic_tasks() -> dict[str, int]:
    """One pass of the periodic work: due reminders, expiries, lost jobs, abandoned uploads."""
    sent = recruiting.send_due_reminders()
    sent["requeued_jobs"] = len(jobs.reconcile())
    sent["requeued_takes"] = len(media.reconcile_takes(timedelta(minutes=5)))
    requeued = transcript_recovery.reconcile_transcripts(timedelta(minutes=5))
    sent["requeued_transcripts"] = len(requeued)
    sent["swept_upload_chunks"] = chunks.sweep_abandoned_uploads()
    sent["privacy_sweeps"] = 0
    if retention.sweep_is_due():
        jobs.enqueue(retention.SWEEP_JOB)
        sent["privacy_sweeps"] = 1
    return sent


@jobs_cli.command("tick")
def tick_command() -> None:
    """Run the periodic work once (reminders, expiries, reconcile)."""
    click.echo(" ".join(f"{k}={v}" for k, v in run_periodic_tasks().items()))


@jobs_cli.command("scheduler")
@click.option("--interval", default=60, show_default=True, type=int, help="Seconds.")
def scheduler_command(interval: int) -> None:
    """Run the periodic work forever, every --interval seconds (one per deployment is enough;
    more are harmless: every reminder is claimed atomically)."""
    while True:
        try:
            result = run_periodic_tasks()
            if any(result.values()):
                click.echo(" ".join(f"{k}={v}" for k, v in result.items()))
        except redis.ConnectionError as error:
            # Redis not up yet (it starts beside us under `make run`) or restarting: one line.
            db.session.rollback()
            current_app.logger.warning("periodic tasks: Redis unreachable (%s); retrying", error)
            time.sleep(min(interval, 5))
            continue
        except Exception as error:  # keep ticking: one bad pass must not stop reminders
            db.session.rollback()
            current_app.logger.exception("periodic tasks failed: %s", error)
        time.sleep(interval)


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(api_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
