"""event seals keep a running count, event slices their model versions: a snapshot proves
its sealed minutes whole and lists the window's versions without scanning the window

Revision ID: 0016_seal_counts
Revises: 0015_event_slices
"""

import sqlalchemy as sa
from alembic import op

revision = '0016_seal_counts'
down_revision = '0015_event_slices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('event_seals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events_before', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('event_slices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('versions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event_slices', schema=None) as batch_op:
        batch_op.drop_column('versions')
    with op.batch_alter_table('event_seals', schema=None) as batch_op:
        batch_op.drop_column('events_before')
