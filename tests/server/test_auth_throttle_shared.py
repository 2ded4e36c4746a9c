"""The failed-key throttle holds per address across every process on one PostgreSQL database,
not once per replica (issue 15); on SQLite (one process) it stays in memory. Run the PostgreSQL
tests with ``scripts/with_postgres.sh``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import TEST_KEY, _fresh_postgres_database
from sqlalchemy import text

from evospikenet.server.auth_throttle import (
    DatabaseFailedAuthThrottle,
    FailedAuthThrottle,
    make_auth_throttle,
)
from evospikenet.server.db import Database
from evospikenet.server.ratelimit import DatabaseRateLimiter

ON_POSTGRES = bool(os.environ.get("EVOSPIKENET_TEST_DATABASE_URL"))
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs EVOSPIKENET_TEST_DATABASE_URL")
QUIET = {"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_ACCESS_LOG": "false"}


@pytest.fixture
def two_processes() -> Iterator[tuple[Database, Database]]:
    """Two engines on one fresh PostgreSQL database: what two replicas hold."""
    url, drop = _fresh_postgres_database(os.environ["EVOSPIKENET_TEST_DATABASE_URL"])
    first, second = Database(url), Database(url)
    first.migrate()
    try:
        yield first, second
    finally:
        first.dispose()
        second.dispose()
        drop()


def test_on_sqlite_the_throttle_is_this_processs(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'one.db'}")
    throttle = make_auth_throttle(database, 60, 2)
    assert isinstance(throttle, FailedAuthThrottle) and not throttle.shared
    now = [0.0]
    memory = FailedAuthThrottle(per_minute=60, burst=2, clock=lambda: now[0])
    memory.failed("a")
    memory.failed("b")
    memory.failed("b")
    assert memory.prune() == 0  # nothing has refilled yet
    now[0] = 1.0  # "a" is full again, "b" has one token of two
    assert memory.prune() == 1 and set(memory._buckets) == {"b"}
    assert memory.blocked("b") == 0


@postgres_only
def test_refused_keys_count_across_processes(two_processes: tuple[Database, Database]) -> None:
    first, second = two_processes
    a = make_auth_throttle(first, 60, 4)
    b = make_auth_throttle(second, 60, 4)
    assert isinstance(a, DatabaseFailedAuthThrottle) and a.shared
    for throttle in (a, b, a, b):  # four guesses spread over two replicas
        assert throttle.blocked("198.51.100.7") == 0
        throttle.failed("198.51.100.7")
    for throttle in (a, b):  # the fifth is refused by either, as one process would
        assert 0 < throttle.blocked("198.51.100.7") <= 1.0
    assert a.blocked("198.51.100.8") == 0 == b.blocked("198.51.100.8")  # another address
    time.sleep(1.1)  # 60 a minute: one token back
    assert b.blocked("198.51.100.7") == 0
    b.failed("198.51.100.7")
    assert a.blocked("198.51.100.7") > 0


@postgres_only
def test_each_prune_keeps_the_others_rows(two_processes: tuple[Database, Database]) -> None:
    database = two_processes[0]
    throttle = DatabaseFailedAuthThrottle(database, per_minute=6000, burst=1)  # full in 10 ms
    limiter = DatabaseRateLimiter(database, per_minute=6000, burst=1)
    throttle.failed("192.0.2.1")
    limiter.acquire("key:abc")
    time.sleep(0.1)
    slow = DatabaseFailedAuthThrottle(database, per_minute=1, burst=50)
    slow.failed("192.0.2.2")  # refills in 50 minutes: a per-key prune must not reset it
    assert limiter.prune() == 1  # the key's bucket only
    assert throttle.prune() == 1  # 192.0.2.1's, not 192.0.2.2's
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT identity FROM rate_limits")).scalars().all()
    assert rows == ["refused:192.0.2.2"]


@postgres_only
def test_two_servers_share_one_bound_per_address(make_server) -> None:  # type: ignore[no-untyped-def]
    limits = {"EVOSPIKENET_AUTH_FAILURE_BURST": "4", "EVOSPIKENET_AUTH_FAILURES_PER_MINUTE": "1"}
    a = make_server(**QUIET, **limits)
    b = make_server(DATABASE_URL=a.env["DATABASE_URL"], **QUIET, **limits)

    def status(server, key: str) -> int:  # type: ignore[no-untyped-def]
        url = f"{server.base_url}/api/info"
        return httpx.get(url, headers={"X-API-Key": key}, timeout=10).status_code

    assert [status(s, f"guess-{i}") for i, s in enumerate((a, b, a, b))] == [401] * 4
    # per process, each would allow 4; together they have had 4: the right key is not confirmed
    assert [status(a, TEST_KEY), status(b, TEST_KEY), status(b, "guess-5")] == [429] * 3
