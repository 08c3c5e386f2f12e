"""opt-in requests without a form grant: the form's evidence kept on the request

A form for a number whose own revocation is in force grants nothing at once (only the patient
lifts it, SPEC §4): its categories wait for the phone's YES/START, so a request may have no
form event to name, and keeps the form's evidence itself.

Revision ID: 0010_joinfix
Revises: 0009_reassigned
Create Date: 2026-12-05 10:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_joinfix'
down_revision = '0009_reassigned'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('opt_in_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_evidence', sa.JSON(), nullable=True))
        batch_op.alter_column('form_event_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM opt_in_requests WHERE form_event_id IS NULL")
    with op.batch_alter_table('opt_in_requests', schema=None) as batch_op:
        batch_op.alter_column('form_event_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('form_evidence')
