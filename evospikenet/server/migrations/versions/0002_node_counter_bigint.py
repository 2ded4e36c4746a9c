"""nodes.prompts_done holds any JSON-exact counter (up to 2**53 - 1), not only 32-bit ones.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.alter_column(
            "prompts_done", existing_type=sa.Integer(), type_=sa.BigInteger(), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.alter_column(
            "prompts_done", existing_type=sa.BigInteger(), type_=sa.Integer(), nullable=False
        )
