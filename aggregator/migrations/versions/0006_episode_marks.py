"""staff's word on episodes: the `episode_marks` table (`showcase episode merge|split`)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00

One row per mark, keyed by the items' source and platform id (not by their rows, like
`curation`): kind "merge" joins the item with the other item named in the row; kind "split"
makes the item an episode of its own (the other item's columns are empty then). The store
keeps at most one row per pair or split item, and a new merge or split removes what it
contradicts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episode_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("platform_id", sa.String(length=128), nullable=False),
        sa.Column("other_source", sa.String(length=32), nullable=True),
        sa.Column("other_platform_id", sa.String(length=128), nullable=True),
        sa.Column("marked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("episode_marks")
