"""counts as 64-bit integers: `items.views`, `figures.value`, `figure_history.value`

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-16 09:00:00

A YouTube channel's views pass 2**31; PostgreSQL's INTEGER is 32 bits and refuses them
(SQLite's INTEGER holds 64 bits whatever it is called). Batch mode, so SQLite rebuilds the
tables and keeps its rows; PostgreSQL alters the columns in place.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COUNTS = (("items", "views", True), ("figures", "value", False), ("figure_history", "value", False))


def upgrade() -> None:
    for table, column, nullable in COUNTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.BigInteger(),
                existing_type=sa.Integer(),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    for table, column, nullable in COUNTS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                type_=sa.Integer(),
                existing_type=sa.BigInteger(),
                existing_nullable=nullable,
            )
