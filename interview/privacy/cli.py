"""``flask privacy``: run the retention sweep, list or remove orphan storage objects."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..extensions import db
from ..models import Organization
from . import jobs, leftovers, purge, retention

privacy_cli = AppGroup("privacy", help="Retention, deletion and leftovers.")


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Delete every candidate due (retention over, or deletion requested), now."""
    if dry_run:
        total = 0
        for org in db.session.scalars(sa.select(Organization).order_by(Organization.id)):
            rows = retention.dry_run(org, limit=100_000)
            total += len(rows)
            for row in rows:
                click.echo(
                    f"{org.slug}\tinvitation {row.invitation.id}\t{row.why}\t"
                    f"due since {row.due_since:%Y-%m-%d %H:%M}"
                )
        click.echo(
            f"{total} candidate(s) would be deleted; "
            f"{purge.pending_tombstones()} file(s) of earlier purges still to delete."
        )
        return
    click.echo(jobs.sweep())


@privacy_cli.command("orphans")
@click.option("--delete", "delete", is_flag=True, help="Remove them (otherwise only list).")
def orphans_command(delete: bool) -> None:
    """Storage objects no row references (older than ORPHAN_GRACE_MINUTES)."""
    found = leftovers.orphans()
    for orphan in found:
        click.echo(f"{orphan.key}\t{int(orphan.age_seconds // 3600)} h old")
    if delete:
        leftovers.delete_orphans(found)
        click.echo(f"Removed {len(found)} orphan object(s).")
    else:
        click.echo(f"{len(found)} orphan object(s); run with --delete to remove them.")
