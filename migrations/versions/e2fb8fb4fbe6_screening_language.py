"""screening language: the language of a screening's candidate pages and emails

Revision ID: e2fb8fb4fbe6
Revises: 5051a1ee9c88
Create Date: 2026-11-30 13:50:49.398035

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e2fb8fb4fbe6"
down_revision = "5051a1ee9c88"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("screenings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("screenings", schema=None) as batch_op:
        batch_op.drop_column("language")
