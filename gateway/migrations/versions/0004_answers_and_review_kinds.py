"""answers to a template's question; review kinds and why

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('answer_to', sa.String(length=40), nullable=True))

    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('kind', sa.String(length=20), nullable=False, server_default='opt_out')
        )
        batch_op.add_column(sa.Column('why', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('why')
        batch_op.drop_column('kind')

    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('answer_to')
        batch_op.drop_column('answer')
