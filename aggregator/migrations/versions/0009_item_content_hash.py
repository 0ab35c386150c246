"""items.content_hash: what the source last said, so an unchanged listing writes nothing

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:20:00

NULL for the rows already there: the next listing rewrites each once and records its hash.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("content_hash")
