"""per-number hash chains and seals: consent changes for different numbers in parallel

Existing events keep their hashes: they stay the old global chain, whose end `ledger_head`
keeps (frozen from now on; `seq` is the switch: later ids chain per number). Each number's
head is set to its latest event, so its next event links to it. On PostgreSQL, ids come
from a sequence from now on (no global lock hands them out any more).

Revision ID: 0011_chains
Revises: 0010_joinfix
Create Date: 2026-12-05 11:30:00
"""

from alembic import op
import sqlalchemy as sa

import gateway.db


revision = '0011_chains'
down_revision = '0010_joinfix'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('head_hash', sa.String(length=64), nullable=True))
    op.create_table('ledger_seals',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('after_id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_seals')),
    sa.UniqueConstraint('after_id', name=op.f('uq_ledger_seals_after_id')),
    sa.UniqueConstraint('hash', name=op.f('uq_ledger_seals_hash'))
    )
    op.create_index('ix_consent_events_number_id', 'consent_events', ['number', 'id'], unique=False)
    # A number found only in events (none should be) gets its row, so it has a head to keep.
    op.execute(
        "INSERT INTO subjects (number, created_at) SELECT number, min(recorded_at)"
        " FROM consent_events WHERE number NOT IN (SELECT number FROM subjects) GROUP BY number"
    )
    op.execute(
        "UPDATE subjects SET head_id = (SELECT max(id) FROM consent_events e"
        " WHERE e.number = subjects.number)"
    )
    op.execute(
        "UPDATE subjects SET head_hash = (SELECT hash FROM consent_events e"
        " WHERE e.id = subjects.head_id)"
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE consent_events_id_seq OWNED BY consent_events.id")
        op.execute(
            "SELECT setval('consent_events_id_seq', coalesce(max(id), 0) + 1, false)"
            " FROM consent_events"
        )


def downgrade() -> None:
    # The old global chain cannot take events chained per number: refuse rather than lie.
    after = op.get_bind().execute(
        sa.text("SELECT count(*) FROM consent_events WHERE id > (SELECT seq FROM ledger_head)")
    ).scalar_one()
    if after:
        raise RuntimeError(f"{after} events are chained per number; the old chain cannot hold them")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP SEQUENCE consent_events_id_seq")
    op.drop_index('ix_consent_events_number_id', table_name='consent_events')
    op.drop_table('ledger_seals')
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('head_hash')
        batch_op.drop_column('head_id')
