"""playbook runs and steps

Revision ID: 0005_playbooks
Revises: 0002_incidents
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_playbooks"
down_revision = "0002_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("playbook", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "playbook", name="uq_playbook_runs_incident_playbook"),
    )
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.create_index("ix_playbook_runs_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_playbook_runs_incident_id"), ["incident_id"],
                              unique=False)
    op.create_table(
        "playbook_steps",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("step_key", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("intent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "step_key"),
    )


def downgrade() -> None:
    op.drop_table("playbook_steps")
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playbook_runs_incident_id"))
        batch_op.drop_index("ix_playbook_runs_status")
    op.drop_table("playbook_runs")
