"""scaled topology: seen event ids and partial window profiles

Revision ID: 0012_scale
Revises: 0002_incidents
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_scale'
down_revision = '0002_incidents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scale_seen_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('scale_partials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scale_partials', schema=None) as batch_op:
        batch_op.create_index('ix_scale_partials_window', ['deployment', 'window_start'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Gateways LISTEN on this channel (firebreak.scale.policy_push): a policy change
        # reaches them at once; their poll stays as the fallback.
        op.execute(NOTIFY_FUNCTION)
        op.execute(
            'CREATE TRIGGER firebreak_policy_changed AFTER INSERT OR UPDATE OR DELETE '
            'ON guard_policies FOR EACH ROW EXECUTE FUNCTION firebreak_policy_notify()')


NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION firebreak_policy_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('firebreak_policy', COALESCE(NEW.deployment, OLD.deployment));
  RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS firebreak_policy_changed ON guard_policies')
        op.execute('DROP FUNCTION IF EXISTS firebreak_policy_notify()')
    with op.batch_alter_table('scale_partials', schema=None) as batch_op:
        batch_op.drop_index('ix_scale_partials_window')
    op.drop_table('scale_partials')
    op.drop_table('scale_seen_events')
