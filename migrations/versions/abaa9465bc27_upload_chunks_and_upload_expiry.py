"""upload chunks and upload expiry

Revision ID: abaa9465bc27
Revises: 0c84b0cb0429
Create Date: 2026-11-30 12:59:05.142216

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'abaa9465bc27'
down_revision = '0c84b0cb0429'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upload_chunks',
    sa.Column('take_id', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length > 0', name=op.f('ck_upload_chunks_length_positive')),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_upload_chunks_take_id_takes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('take_id', 'offset', name=op.f('pk_upload_chunks'))
    )
    with op.batch_alter_table('takes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upload_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_takes_upload_expires_at'), ['upload_expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('takes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_takes_upload_expires_at'))
        batch_op.drop_column('upload_expires_at')

    op.drop_table('upload_chunks')
