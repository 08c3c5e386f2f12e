"""opt-in requests: a web form's double opt-in waiting for the patient's YES

Revision ID: 0006_join
Revises: 0005
Create Date: 2026-12-05 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import gateway.db


revision = '0006_join'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opt_in_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('form_event_id', sa.Integer(), nullable=False),
    sa.Column('disclosure_version', sa.String(length=100), nullable=False),
    sa.Column('disclosure_sha256', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('requested_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', gateway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['form_event_id'], ['consent_events.id'], name=op.f('fk_opt_in_requests_form_event_id_consent_events')),
    sa.ForeignKeyConstraint(['confirmed_event_id'], ['consent_events.id'], name=op.f('fk_opt_in_requests_confirmed_event_id_consent_events')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opt_in_requests'))
    )
    op.create_index('ix_opt_in_requests_number_expires', 'opt_in_requests', ['number', 'expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_opt_in_requests_number_expires', table_name='opt_in_requests')
    op.drop_table('opt_in_requests')
