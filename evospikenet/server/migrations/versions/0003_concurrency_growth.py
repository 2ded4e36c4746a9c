"""Concurrency and growth: one bundled default, owners and leases, counters, indexes.

- ``sessions.artifact_count`` (backfilled) and a unique partial index on ``bundled_default``
  (duplicates left by concurrent starts of older versions keep the oldest as the default);
- ``idempotency_keys.owner`` / ``lease_expires_at``, ``prompts.lease_expires_at``;
- indexes for the artifact ``name`` / ``llm_type`` filters, the claim query's ordering, the
  latest result and the retention purge, and the prompts' media digests.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BUNDLED = sa.text("bundled_default")


def upgrade() -> None:
    op.add_column(
        "sessions",
        sa.Column("artifact_count", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE sessions SET artifact_count ="
        " (SELECT count(*) FROM artifacts WHERE artifacts.session_pk = sessions.pk)"
    )
    op.execute(
        "UPDATE sessions SET bundled_default = false WHERE bundled_default"
        " AND pk <> (SELECT min(pk) FROM sessions WHERE bundled_default)"
    )
    op.create_index(
        "ux_sessions_bundled_default",
        "sessions",
        ["bundled_default"],
        unique=True,
        sqlite_where=BUNDLED,
        postgresql_where=BUNDLED,
    )
    op.add_column("idempotency_keys", sa.Column("owner", sa.String(64), nullable=True))
    op.add_column("idempotency_keys", sa.Column("lease_expires_at", TS, nullable=True))
    op.add_column("prompts", sa.Column("lease_expires_at", TS, nullable=True))
    op.create_index("ix_artifacts_name_pk", "artifacts", ["name", "pk"])
    op.create_index("ix_artifacts_llm_type_pk", "artifacts", ["llm_type", "pk"])
    op.drop_index("ix_prompts_state_priority", "prompts")
    op.drop_index("ix_prompts_finished_at", "prompts")
    op.create_index("ix_prompts_claim", "prompts", ["state", sa.text("priority DESC"), "pk"])
    op.create_index("ix_prompts_state_finished", "prompts", ["state", "finished_at", "pk"])
    op.create_index("ix_prompts_image_sha256", "prompts", ["image_sha256"])
    op.create_index("ix_prompts_audio_sha256", "prompts", ["audio_sha256"])


def downgrade() -> None:
    for name in ("ix_prompts_audio_sha256", "ix_prompts_image_sha256"):
        op.drop_index(name, "prompts")
    op.drop_index("ix_prompts_state_finished", "prompts")
    op.drop_index("ix_prompts_claim", "prompts")
    op.create_index("ix_prompts_finished_at", "prompts", ["finished_at"])
    op.create_index("ix_prompts_state_priority", "prompts", ["state", "priority", "pk"])
    op.drop_index("ix_artifacts_llm_type_pk", "artifacts")
    op.drop_index("ix_artifacts_name_pk", "artifacts")
    with op.batch_alter_table("prompts") as batch:
        batch.drop_column("lease_expires_at")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("owner")
    op.drop_index("ux_sessions_bundled_default", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("artifact_count")
