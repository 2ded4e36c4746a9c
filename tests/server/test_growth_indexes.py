"""Migration 0005's indexes: they survive a downgrade and upgrade, and the server's own queries
can use them (the latest result through the partial index ``ix_prompts_completed``, the purges
through ``ix_prompts_<state>`` and ``ix_idempotency_keys_created_at``). Real SQLite files, and
a real PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL`` (sequential scans switched off there,
so the plan shows which indexes the planner may use at all, whatever the table's size)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Select, inspect, select, text
from test_concurrency import _queue, database_url, databases  # noqa: F401

from evospikenet.server import auth_throttle, ratelimit
from evospikenet.server.brain.queue import in_final_state, latest_completed_query
from evospikenet.server.db import MIGRATIONS_DIR, Database
from evospikenet.server.idempotency import IdempotencyStore
from evospikenet.server.tables import IdempotencyRow, PromptRow

NEW_INDEXES = {
    "idempotency_keys": {"ix_idempotency_keys_created_at"},
    "prompts": {"ix_prompts_completed", "ix_prompts_failed"},
}


def _indexes(database: Database, table: str) -> set[str]:
    return {str(index["name"]) for index in inspect(database.engine).get_indexes(table)}


def _plan(database: Database, statement: Select[object]) -> str:
    sql = str(statement.compile(database.engine, compile_kwargs={"literal_binds": True}))
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            rows = connection.execute(text("EXPLAIN " + sql)).all()
        else:
            rows = connection.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_0005_downgrades_and_upgrades_again(database_url: str) -> None:  # noqa: F811
    database = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        for table, names in NEW_INDEXES.items():
            assert names <= _indexes(database, table)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        for table, names in NEW_INDEXES.items():
            assert not names & _indexes(database, table)
        assert "ix_prompts_state_finished" in _indexes(database, "prompts")
        database.migrate()
        for table, names in NEW_INDEXES.items():
            assert names <= _indexes(database, table)
        assert "ix_prompts_state_finished" not in _indexes(database, "prompts")
    finally:
        database.dispose()


def test_the_server_queries_use_the_partial_and_purge_indexes(
    databases: Callable[[], Database],  # noqa: F811
    tmp_path: Path,
) -> None:
    database = databases()
    latest = latest_completed_query(database.dialect).with_only_columns(PromptRow.pk)
    assert "ix_prompts_completed" in _plan(database, latest)
    for state in ("completed", "failed"):
        page = (
            select(PromptRow.pk)
            .where(in_final_state(state, database.dialect), PromptRow.finished_at < database.now())
            .limit(1000)
        )
        assert f"ix_prompts_{state}" in _plan(database, page)
    expired = IdempotencyStore(database, 3600).expired()
    page = select(IdempotencyRow.scope, IdempotencyRow.key).where(*expired).limit(1000)
    assert "ix_idempotency_keys_created_at" in _plan(database, page)
    # and the queue still answers through them
    queue = _queue(database, tmp_path)
    prompt_id = queue.submit(text="p", image=None, audio=None, priority=1, session_id=None)
    assert queue.claim_next("coordinator-0") is not None
    assert queue.complete(prompt_id["prompt_id"], "answer", attempt=1)
    assert queue.latest_completed()["prompt_id"] == prompt_id["prompt_id"]


def test_the_rate_limit_prunes_can_use_their_index(
    databases: Callable[[], Database],  # noqa: F811
) -> None:
    """PostgreSQL only (the tables of buckets): the cut-off is ``statement_timestamp()``, which
    an index scan can compare with (``clock_timestamp()`` is volatile and forced a scan)."""
    database = databases()
    if database.dialect != "postgresql":
        pytest.skip("the rate-limit tables are PostgreSQL's")
    for statement, params in (
        (ratelimit._PRUNE, {"full": 60.0}),
        (auth_throttle._PRUNE, {"full": 60.0, "prefix": "x%"}),
    ):
        with database.engine.begin() as connection:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            rows = connection.execute(text(f"EXPLAIN {statement.text}"), params).all()
        assert "ix_rate_limits_updated_at" in "\n".join(str(row[0]) for row in rows)
