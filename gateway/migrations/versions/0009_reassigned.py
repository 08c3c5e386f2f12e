"""reassigned numbers: every check and "verified", and the check behind a message's decision

Revision ID: 0009_reassigned
Revises: 0008_restrict
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import gateway.db


revision = '0009_reassigned'
down_revision = '0008_restrict'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('number_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('last_verified', sa.Date(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_messages.id'], name=op.f('fk_number_checks_message_id_outbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_number_checks'))
    )
    op.create_index('ix_number_checks_number_at', 'number_checks', ['number', 'at'], unique=False)
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reassigned_check', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('reassigned_check')
    op.drop_index('ix_number_checks_number_at', table_name='number_checks')
    op.drop_table('number_checks')
