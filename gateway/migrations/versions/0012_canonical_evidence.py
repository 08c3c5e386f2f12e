"""consent events: whether the stored evidence text is canonical (the export passes it on)

Each new event's evidence is stored as `gateway.db.canonical_json` writes it — keys sorted,
json.dumps's separators, ASCII — which is exactly the evidence cell the CSV export writes, so
on PostgreSQL the database writes the whole line. The flag says a row's text is that one. It
is storage, not part of the event: the hash covers the evidence's digest, which the text's
form does not change, and verify parses the text as before.

Every row already on file gets FALSE, the server default: on PostgreSQL 11 and later adding
a column with a constant default rewrites nothing (instant on a ledger of millions), and a
row whose text may be in any key order is written by Python, exactly as before. So does any
row a later writer inserts without saying so.

Revision ID: 0012_canonical_evidence
Revises: 0011_chains
Create Date: 2026-12-05 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_canonical_evidence'
down_revision = '0011_chains'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place on SQLite too (ALTER TABLE … ADD COLUMN): batch mode would copy the table anew
    # for a column with a default, which the rows of consent_state naming its events forbid.
    with op.batch_alter_table('consent_events', schema=None, recreate='never') as batch_op:
        batch_op.add_column(
            sa.Column(
                'evidence_canonical', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    # In place on SQLite (3.35 and later) too, for the same reason.
    with op.batch_alter_table('consent_events', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('evidence_canonical')
