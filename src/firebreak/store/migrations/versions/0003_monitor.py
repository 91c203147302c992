"""monitor profiles and baselines

Revision ID: 0003_monitor
Revises: 0002_incidents
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_monitor'
down_revision = '0002_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_baselines',
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('deployment')
    )
    op.create_table('monitor_profiles',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('monitor_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_monitor_profiles_deployment_start', ['deployment', 'window_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('monitor_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_monitor_profiles_deployment_start')
    op.drop_table('monitor_profiles')
    op.drop_table('monitor_baselines')
