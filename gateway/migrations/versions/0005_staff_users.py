"""staff users: the console's sign-in

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import gateway.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', gateway.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signed_out_at', gateway.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', gateway.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('name', name='uq_staff_users_name')
    )


def downgrade() -> None:
    op.drop_table('staff_users')
