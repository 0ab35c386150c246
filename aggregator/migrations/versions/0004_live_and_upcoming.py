"""YouTube premieres and live streams: `items.live_status` and `items.scheduled_start_at`

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00

An upcoming premiere or stream ("upcoming", with the time it is announced for) or a running
one ("live"); NULL for every ordinary video and post, which is what existing rows are.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("scheduled_start_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("scheduled_start_at")
        batch_op.drop_column("live_status")
