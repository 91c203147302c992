"""red-team campaigns and chaos runs (the dashboard's results pages)

Revision ID: 0013_results
Revises: 0002_incidents
"""

import sqlalchemy as sa
from alembic import op

revision = '0013_results'
down_revision = '0002_incidents'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('redteam_campaigns',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('suite', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('attack_attempts', sa.Integer(), nullable=False),
    sa.Column('successes', sa.Integer(), nullable=False),
    sa.Column('blocked', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('benign_attempts', sa.Integer(), nullable=False),
    sa.Column('benign_answered', sa.Integer(), nullable=False),
    sa.Column('per_category', sa.JSON(), nullable=False),
    sa.Column('per_converter', sa.JSON(), nullable=False),
    sa.Column('probes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('redteam_campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_redteam_campaigns_started_at', ['started_at'], unique=False)
    op.create_table('chaos_runs',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('profile', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('warmup_seconds', sa.Float(), nullable=False),
    sa.Column('false_incidents', sa.JSON(), nullable=False),
    sa.Column('traffic', sa.JSON(), nullable=False),
    sa.Column('scenarios', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('chaos_runs', schema=None) as batch_op:
        batch_op.create_index('ix_chaos_runs_started_at', ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chaos_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_chaos_runs_started_at')
    op.drop_table('chaos_runs')
    with op.batch_alter_table('redteam_campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_redteam_campaigns_started_at')
    op.drop_table('redteam_campaigns')
