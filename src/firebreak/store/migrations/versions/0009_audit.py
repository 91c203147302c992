"""append-only audit log of operate and admin calls

Revision ID: 0009_audit
Revises: 0002_incidents
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_audit'
down_revision = '0002_incidents'
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('token_name', sa.String(length=200), nullable=True),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=True),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_token_id', ['token_id'], unique=False)
        batch_op.create_index('ix_audit_log_ts', ['ts'], unique=False)
    # Append-only in the database itself: UPDATE and DELETE are refused.
    if op.get_bind().dialect.name == 'sqlite':
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    else:
        op.execute(_PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_ts')
        batch_op.drop_index('ix_audit_log_token_id')
    op.drop_table('audit_log')
