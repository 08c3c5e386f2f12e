"""no PHI by text: a message's private text, and which text went

Revision ID: 0008_restrict
Revises: 0007_prefs
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008_restrict'
down_revision = '0007_prefs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('private_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sent_text', sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_column('sent_text')
        batch_op.drop_column('private_body')
