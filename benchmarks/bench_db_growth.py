"""The server's own queries at 1M artifacts and 100k prompts, before and after migrations
0003-0005.

Seeds a fresh database at schema 0002 with SQL (``--artifacts`` artifacts over ``--sessions``
sessions, ``--prompts`` prompts of which a tenth are queued, ``--keys`` idempotency keys of
which 1 in 100 is past the 24 h TTL), times each query the server runs
for a request (median of ``--repeat`` runs) with its plan, upgrades to the newest schema (timed:
the indexes and the counter backfill), and times the same requests again. Run:

    .venv/bin/python benchmarks/bench_db_growth.py                 # SQLite file in a temp dir
    bash scripts/with_postgres.sh .venv/bin/python benchmarks/bench_db_growth.py --postgres

Queries whose shape changed are timed as the 0002 code ran them (``before``) and as the
server runs them now (``after``, through ``Catalog``, ``PromptQueue`` and
``IdempotencyStore``). A request's time
includes its session (checkout, BEGIN, COMMIT): the ``SELECT 1`` row is that floor. Plans:
SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL ``EXPLAIN (ANALYZE, BUFFERS)`` (rows actually read,
and the executor's own time, shown in the last column). Prints a Markdown table and, with
``--json``, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Select, func, select, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from live_server import _fresh_postgres_database  # noqa: E402

from evospikenet.server.blobstore import BlobStore  # noqa: E402
from evospikenet.server.brain.notifier import PromptNotifier  # noqa: E402
from evospikenet.server.brain.queue import PromptQueue, latest_completed_query  # noqa: E402
from evospikenet.server.catalog import Catalog  # noqa: E402
from evospikenet.server.db import (  # noqa: E402
    MIGRATIONS_DIR,
    PURGE_PAGE,
    Database,
    run_migrations,
)
from evospikenet.server.idempotency import IdempotencyStore  # noqa: E402
from evospikenet.server.tables import (  # noqa: E402
    ArtifactRow,
    IdempotencyRow,
    PromptRow,
    SessionRow,
)

NAME = "file-12345.bin"  # 10 of the 1M artifacts
LLM = "SpikingEvoTextLM"  # 1 in 1,000 artifacts

_SQLITE_SEED = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
INSERT INTO {table} ({columns}) SELECT {values} FROM n
"""
_POSTGRES_SEED = (
    "INSERT INTO {table} ({columns}) SELECT {values} FROM generate_series(1, :count) AS n(i)"
)


def _seed(db: Database, table: str, count: int, columns: dict[str, str]) -> None:
    sql = _POSTGRES_SEED if db.dialect == "postgresql" else _SQLITE_SEED
    statement = sql.format(
        table=table, columns=", ".join(columns), values=", ".join(columns.values())
    )
    with db.engine.begin() as connection:
        connection.execute(text(statement), {"count": count})


def seed(db: Database, sessions: int, artifacts: int, prompts: int, keys: int) -> float:
    """Fill the 0002 schema; returns the seconds it took."""
    started = time.perf_counter()
    pg = db.dialect == "postgresql"
    hexed = "lpad(to_hex({}), 64, '0')" if pg else "printf('%064x', {})"
    now = "now()" if pg else "'2026-01-01 00:00:00.000000'"
    ago = (
        "now() - make_interval(secs => {})"
        if pg
        else "datetime('2026-01-01', '-' || ({}) || ' seconds')"
    )
    false = "false" if pg else "0"
    _seed(db, "sessions", sessions, {
        "id": "'ses_' || i", "description": "'bench'", "bundled_default": false, "created_at": now,
    })  # fmt: skip
    _seed(db, "artifacts", artifacts, {
        "id": "'art_' || i",
        "session_pk": f"(i % {sessions}) + 1",
        "artifact_type": "CASE i % 4 WHEN 0 THEN 'model' WHEN 1 THEN 'config' "
        "WHEN 2 THEN 'tokenizer' ELSE 'dataset' END",
        "name": "'file-' || (i % 100000) || '.bin'",
        "llm_type": f"CASE WHEN i % 1000 = 0 THEN '{LLM}' ELSE NULL END",
        "size": "i",
        "sha256": hexed.format("i"),
        "content_type": "'application/octet-stream'",
        "created_at": now,
    })  # fmt: skip
    _seed(db, "prompts", prompts, {
        "id": "'prm_' || i",
        "text": "'p'",
        "image_sha256": f"CASE WHEN i % 100 = 0 THEN {hexed.format('i + 5000000')} ELSE NULL END",
        "priority": "(i * 7) % 10",
        "state": "CASE WHEN i % 10 = 0 THEN 'queued' ELSE 'completed' END",
        "response": "CASE WHEN i % 10 = 0 THEN NULL ELSE 'answer' END",
        "attempts": "CASE WHEN i % 10 = 0 THEN 0 ELSE 1 END",
        "created_at": now,
        "finished_at": f"CASE WHEN i % 10 = 0 THEN NULL ELSE {ago.format(f'{prompts} - i')} END",
    })  # fmt: skip
    age = "CASE WHEN i % 100 = 0 THEN 90000 + i ELSE i % 80000 END"  # seconds; TTL 86,400
    _seed(db, "idempotency_keys", keys, {
        "scope": "'key:' || (i % 50)",
        "key": "'k-' || i",
        "method": "'POST'",
        "path": "'/api/sessions'",
        "request_sha256": hexed.format("i"),
        "state": "'done'",
        "status_code": "201",
        "headers_json": "'[]'",
        "body": "NULL",
        "created_at": (
            f"now() - make_interval(secs => {age})"
            if pg
            else f"strftime('%Y-%m-%d %H:%M:%f000', 'now', '-' || ({age}) || ' seconds')"
        ),
    })  # fmt: skip
    if pg:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def timed(call: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls (after one warm-up call)."""
    call()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def plan(db: Database, statement: Select[Any]) -> str:
    """The query plan of ``statement`` (literal parameters)."""
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        if db.dialect == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    with db.engine.connect() as connection:
        rows = connection.execute(text(prefix + sql)).all()
    return "\n".join(str(row[-1]) for row in rows)


def run_statement(db: Database, statement: Select[Any]) -> Callable[[], Any]:
    def run() -> Any:
        with db.session() as session:
            return session.execute(statement).all()

    return run


# --- the statements the server runs (0002 shapes where they changed) ----------------------


def artifacts_filtered(**where: Any) -> Select[Any]:
    """``Catalog.list_artifacts`` (unchanged by 0003): newest 50 matching, with the session id."""
    query = (
        select(ArtifactRow.pk, ArtifactRow.id, SessionRow.id)
        .join(SessionRow, SessionRow.pk == ArtifactRow.session_pk)
        .order_by(ArtifactRow.pk.desc())
        .limit(51)
    )
    for column, value in where.items():
        query = query.where(getattr(ArtifactRow, column) == value)
    return query


def session_count_0002(session_id: str) -> Select[Any]:
    """0002's ``get_session``: the session, then ``count(*)`` of its artifacts."""
    pk = select(SessionRow.pk).where(SessionRow.id == session_id).scalar_subquery()
    return select(func.count(ArtifactRow.pk)).where(ArtifactRow.session_pk == pk)


def session_page_counts_0002() -> Select[Any]:
    """0002's ``list_sessions``: the grouped count over the page's 50 sessions."""
    page = select(SessionRow.pk).order_by(SessionRow.pk.desc()).limit(50).scalar_subquery()
    return (
        select(ArtifactRow.session_pk, func.count(ArtifactRow.pk))
        .where(ArtifactRow.session_pk.in_(page))
        .group_by(ArtifactRow.session_pk)
    )


def claim_select() -> Select[Any]:
    """The claim query (``PromptQueue.claim_next``'s SELECT)."""
    return (
        select(PromptRow.pk)
        .where(PromptRow.state == "queued")
        .order_by(PromptRow.priority.desc(), PromptRow.pk.asc())
        .limit(1)
    )


def latest_0002() -> Select[Any]:
    """0002's latest-result query: the state a bound parameter."""
    return (
        select(PromptRow.pk, PromptRow.id)
        .where(PromptRow.state == "completed")
        .order_by(PromptRow.finished_at.desc(), PromptRow.pk.desc())
        .limit(1)
    )


def latest_after(db: Database) -> Select[Any]:
    """``PromptQueue.latest_completed``'s statement (the state a literal, the partial index)."""
    return latest_completed_query(db.dialect).with_only_columns(PromptRow.pk, PromptRow.id)


def idempotency_purge_page(db: Database, *, after: bool) -> Select[Any]:
    """One page of the idempotency purge: 0002 compared ``created_at`` only (in one DELETE of
    every expired key); now ``IdempotencyStore.expired`` (the TTL, live leases spared), a page
    at a time."""
    if after:
        where = IdempotencyStore(db, 24 * 3600).expired()
    else:
        where = (IdempotencyRow.created_at < db.now(-24 * 3600),)
    return select(IdempotencyRow.scope, IdempotencyRow.key).where(*where).limit(PURGE_PAGE)


def referenced_digests_0002(db: Database) -> Callable[[], int]:
    """0002's orphan sweep: every referenced digest into one Python set."""

    def run() -> int:
        with db.session() as session:
            digests = set(session.scalars(select(ArtifactRow.sha256).distinct()))
            for image, audio in session.execute(
                select(PromptRow.image_sha256, PromptRow.audio_sha256)
            ):
                digests.update(d for d in (image, audio) if d)
        return len(digests)

    return run


def measure(db: Database, repeat: int, *, after: bool, data: Path) -> dict[str, dict[str, Any]]:
    """Each request's time (ms) and plan."""
    results: dict[str, dict[str, Any]] = {}

    def record(name: str, call: Callable[[], Any], statement: Select[Any] | None) -> None:
        results[name] = {"ms": round(timed(call, repeat), 2)}
        if statement is not None:
            results[name]["plan"] = plan(db, statement)
            executed = re.search(r"Execution Time: ([0-9.]+) ms", results[name]["plan"])
            if executed:
                results[name]["plan_ms"] = float(executed.group(1))

    record("baseline: SELECT 1 in a session", run_statement(db, select(1)), None)
    catalog = Catalog(db)
    by_name, by_llm = artifacts_filtered(name=NAME), artifacts_filtered(llm_type=LLM)
    record(
        "list_artifacts name=",
        lambda: catalog.list_artifacts(limit=50, cursor=None, name=NAME),
        by_name,
    )
    record(
        "list_artifacts llm_type=",
        lambda: catalog.list_artifacts(limit=50, cursor=None, llm_type=LLM),
        by_llm,
    )
    if after:
        record(
            "get_session",
            lambda: catalog.get_session("ses_7"),
            select(SessionRow).where(SessionRow.id == "ses_7"),
        )
        record("list_sessions (50)", lambda: catalog.list_sessions(50, None), None)
    else:
        record(
            "get_session",
            run_statement(db, session_count_0002("ses_7")),
            session_count_0002("ses_7"),
        )
        record(
            "list_sessions (50)",
            run_statement(db, session_page_counts_0002()),
            session_page_counts_0002(),
        )
    record("claim query", run_statement(db, claim_select()), claim_select())
    latest = latest_after(db) if after else latest_0002()
    record("latest result", run_statement(db, latest), latest)
    purge_page = idempotency_purge_page(db, after=after)
    record("idempotency purge: one page", run_statement(db, purge_page), purge_page)
    if after:
        blobs = BlobStore(data)
        queue = PromptQueue(db, blobs, PromptNotifier())
        record("claim_next (claims one)", lambda: queue.claim_next("bench-node"), None)
        candidates = [f"{i:064x}" for i in range(1, 1001)]
        record("orphan sweep: 1,000 candidates", lambda: catalog.referenced_among(candidates), None)
    else:
        record("orphan sweep: every digest", referenced_digests_0002(db), None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="use EVOSPIKENET_TEST_DATABASE_URL")
    parser.add_argument("--artifacts", type=int, default=1_000_000)
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--keys", type=int, default=100_000, help="idempotency keys")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    drop: Callable[[], None] | None = None
    if args.postgres:
        url, drop = _fresh_postgres_database(os.environ["EVOSPIKENET_TEST_DATABASE_URL"])
    else:
        url = f"sqlite:///{folder / 'growth.db'}"
    db = Database(url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        seconds = seed(db, args.sessions, args.artifacts, args.prompts, args.keys)
        before = measure(db, args.repeat, after=False, data=folder)
        started = time.perf_counter()
        run_migrations(db.engine)
        migrate = time.perf_counter() - started
        if db.dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("ANALYZE"))
        after = measure(db, args.repeat, after=True, data=folder)
    finally:
        db.dispose()
        if drop is not None:
            drop()
    report = {
        "database": db.dialect,
        "artifacts": args.artifacts,
        "prompts": args.prompts,
        "sessions": args.sessions,
        "idempotency_keys": args.keys,
        "seed_seconds": round(seconds, 1),
        "migrate_to_head_seconds": round(migrate, 1),
        "before": before,
        "after": after,
    }
    print(
        f"{db.dialect}: {args.artifacts:,} artifacts, {args.prompts:,} prompts, "
        f"{args.keys:,} idempotency keys; "
        f"seed {seconds:.1f} s, upgrade to head {migrate:.1f} s\n"
    )
    print("| request | before (0002) ms | after ms | plan: before → after ms |")
    print("| --- | ---: | ---: | ---: |")
    for name in dict.fromkeys([*before, *after]):
        b, a = before.get(name, {}), after.get(name, {})
        planned = f"{b['plan_ms']} → {a['plan_ms']}" if "plan_ms" in b and "plan_ms" in a else ""
        print(f"| {name} | {b.get('ms', '–')} | {a.get('ms', '–')} | {planned} |")
    for label, results in (("before", before), ("after", after)):
        for name, result in results.items():
            if "plan" in result:
                print(f"\n{label} · {name}:\n    " + result["plan"].replace("\n", "\n    "))
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
