"""Indexes for the periodic purges and the latest result.

- ``ix_idempotency_keys_created_at``: the purge's cut-off (``created_at < now - TTL``) reads
  only the expired keys instead of scanning the table;
- partial indexes ``ix_prompts_completed`` / ``ix_prompts_failed``: ``(finished_at, pk)`` of the
  finished prompts of one state only. The latest result reads one entry of the first
  backwards; the retention purge reads each up to its cut-off. Their queries name the state as
  a literal, so PostgreSQL and SQLite can prove the index applies. They replace
  ``ix_prompts_state_finished``, which also held every queued and running prompt.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FINISHED = ("completed", "failed")


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    for state in FINISHED:
        where = sa.text(f"state = '{state}'")
        op.create_index(
            f"ix_prompts_{state}",
            "prompts",
            ["finished_at", "pk"],
            sqlite_where=where,
            postgresql_where=where,
        )
    op.drop_index("ix_prompts_state_finished", "prompts")


def downgrade() -> None:
    op.create_index("ix_prompts_state_finished", "prompts", ["state", "finished_at", "pk"])
    for state in FINISHED:
        op.drop_index(f"ix_prompts_{state}", "prompts")
    op.drop_index("ix_idempotency_keys_created_at", "idempotency_keys")
