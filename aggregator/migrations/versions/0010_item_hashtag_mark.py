"""items.hashtag_rule, items.has_hashtag: the hashtag rule's verdict, kept at save

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:40:00

`has_hashtag` is the rule's answer for the item's texts under the rule named by
`hashtag_rule` (a digest of the configured hashtags and the rule's version). NULL for the
rows already there: the next `update` marks them, and until then a render decides them as
before, from their texts.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("hashtag_rule", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("has_hashtag", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("has_hashtag")
        batch.drop_column("hashtag_rule")
