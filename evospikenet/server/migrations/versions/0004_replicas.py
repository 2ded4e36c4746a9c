"""Replicas: change notices between processes and a shared rate-limit table.

- PostgreSQL only: triggers that ``NOTIFY`` in the changing transaction when a prompt's state
  changes (channel ``evospikenet_prompt``, payload the prompt id) and when a model artifact is
  added (``evospikenet_model``, payload the artifact id); see ``evospikenet.server.replicas``.
- ``rate_limits``: one token bucket per caller identity, shared by every process
  (``evospikenet.server.ratelimit.DatabaseRateLimiter``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (function, channel, trigger, table, event and condition): NOTIFY in the changing transaction
NOTICES = (
    (
        "evospikenet_prompt_changed",
        "evospikenet_prompt",
        "prompts_state_notify",
        "prompts",
        "AFTER UPDATE OF state",
        "OLD.state IS DISTINCT FROM NEW.state",
    ),
    (
        "evospikenet_model_added",
        "evospikenet_model",
        "artifacts_model_notify",
        "artifacts",
        "AFTER INSERT",
        "NEW.llm_type = 'SpikingEvoTextLM'",
    ),
)


def _pg_upgrade() -> list[str]:
    statements = []
    for function, channel, trigger, table, event, condition in NOTICES:
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$ BEGIN "
            f"PERFORM pg_notify('{channel}', NEW.id); RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        statements.append(
            f"CREATE TRIGGER {trigger} {event} ON {table} FOR EACH ROW "
            f"WHEN ({condition}) EXECUTE FUNCTION {function}()"
        )
    return statements


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("identity", sa.String(300), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_rate_limits_updated_at", "rate_limits", ["updated_at"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in _pg_upgrade():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function, _channel, trigger, table, _event, _condition in NOTICES:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index("ix_rate_limits_updated_at", "rate_limits")
    op.drop_table("rate_limits")
