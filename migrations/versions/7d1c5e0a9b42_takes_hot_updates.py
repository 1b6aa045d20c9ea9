"""takes: HOT updates for the upload path (no index on upload_expires_at; fillfactor 80)

Every PATCH updates its take (offset, expiry). With upload_expires_at indexed, PostgreSQL could
not update in place (HOT): each PATCH wrote a new entry into all five indexes of ``takes``
and left a dead one behind, so lookups by id slowed as a recording went on (measured: 738 of
12,000 updates HOT after a bench run). The sweep finds recording takes by ``status``.
On PostgreSQL the table also keeps 20 % of each page free for the new row versions.

Revision ID: 7d1c5e0a9b42
Revises: e2fb8fb4fbe6
Create Date: 2026-12-01 00:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7d1c5e0a9b42"
down_revision = "e2fb8fb4fbe6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("takes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_takes_upload_expires_at"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE takes SET (fillfactor = 80)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE takes RESET (fillfactor)")
    with op.batch_alter_table("takes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_takes_upload_expires_at"), ["upload_expires_at"], unique=False
        )
