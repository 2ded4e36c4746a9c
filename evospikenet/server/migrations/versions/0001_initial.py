"""Initial schema: sessions, artifacts, prompts, nodes, idempotency keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("bundled_default", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("session_pk", PK, sa.ForeignKey("sessions.pk"), nullable=False),
        sa.Column("artifact_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("llm_type", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_artifacts_session_pk", "artifacts", ["session_pk", "pk"])
    op.create_index("ix_artifacts_type_pk", "artifacts", ["artifact_type", "pk"])
    op.create_index("ix_artifacts_sha256", "artifacts", ["sha256"])
    op.create_table(
        "prompts",
        sa.Column("pk", PK, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("image_sha256", sa.String(64), nullable=True),
        sa.Column("audio_sha256", sa.String(64), nullable=True),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_prompts_state_priority", "prompts", ["state", "priority", "pk"])
    op.create_index("ix_prompts_finished_at", "prompts", ["finished_at"])
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_heartbeat", TS, nullable=True),
        sa.Column("prompts_done", sa.Integer, nullable=False),
        sa.Column("spike_rate", sa.Float, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("headers_json", sa.Text, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("idempotency_keys", "nodes", "prompts", "artifacts", "sessions"):
        op.drop_table(table)
