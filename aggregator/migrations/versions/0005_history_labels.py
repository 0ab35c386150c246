"""a hand-entered figure's label in its history: `figure_history.label`

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00

`figures unset` removes a hand-entered figure from `figures`, where its label lived; its
history stays and now keeps the label, so `figures export` still names it. NULL for fetched
figures (their labels are fixed) and for rows written before this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("figure_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("figure_history", schema=None) as batch_op:
        batch_op.drop_column("label")
