"""hand-entered figures: `figures.manual` and `figures.label`

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00

A figure entered with `showcase figures set` lives in the same `figures` table as the fetched
ones (source "manual") and writes the same append-only `figure_history`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("figures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=True))


def downgrade() -> None:
    # Without the columns a hand-entered figure could not be told from a fetched one; its
    # history stays in figure_history (source "manual").
    figures = sa.table("figures", sa.column("manual", sa.Boolean()))
    op.execute(figures.delete().where(figures.c.manual == sa.true()))
    with op.batch_alter_table("figures", schema=None) as batch_op:
        batch_op.drop_column("label")
        batch_op.drop_column("manual")
