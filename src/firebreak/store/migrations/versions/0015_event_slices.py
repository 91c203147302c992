"""event slices: each closed minute of events sealed into a blob, for snapshots to cite;
evidence pieces: the blobs an events record names, never deleted while it does

Revision ID: 0015_event_slices
Revises: 0006_forensics
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_event_slices'
down_revision = '0006_forensics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('event_slices',
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('deployment', 'kind', 'since')
    )
    op.create_index('ix_event_slices_since', 'event_slices', ['since'], unique=False)
    op.create_table('event_seals',
    sa.Column('deployment', sa.String(length=200), nullable=False),
    sa.Column('sealed_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sealed_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('deployment')
    )
    op.create_table('evidence_pieces',
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('record_id', 'sha256')
    )
    op.create_index('ix_evidence_pieces_sha256', 'evidence_pieces', ['sha256'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_evidence_pieces_sha256', table_name='evidence_pieces')
    op.drop_table('evidence_pieces')
    op.drop_table('event_seals')
    op.drop_index('ix_event_slices_since', table_name='event_slices')
    op.drop_table('event_slices')
