"""staff curation: the `curation` table (pin, hide, include)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00

One row per curated item, keyed by source and platform id (not by the item's row: an item may
be included before it is first fetched). Each mark is the moment it was set, or NULL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curation",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("platform_id", sa.String(length=128), nullable=False),
        sa.Column("pinned_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
        sa.Column("included_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source", "platform_id"),
    )


def downgrade() -> None:
    op.drop_table("curation")
