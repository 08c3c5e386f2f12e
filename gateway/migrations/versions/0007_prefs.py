"""preference links: the signed link a HELP reply may end with

Revision ID: 0007_prefs
Revises: 0006_join
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import gateway.db


revision = '0007_prefs'
down_revision = '0006_join'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('preference_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('inbound_sid', sa.String(length=64), nullable=False),
    sa.Column('issued_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', gateway.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preference_links'))
    )
    op.create_index(op.f('ix_preference_links_number'), 'preference_links', ['number'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_preference_links_number'), table_name='preference_links')
    op.drop_table('preference_links')
