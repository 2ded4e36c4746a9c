"""Token buckets per client identity: in memory (one process) or in the database (shared).

``RateLimiter`` keeps the buckets in the process (SQLite: one process serves the database).
``DatabaseRateLimiter`` keeps them in the ``rate_limits`` table so that every process sharing
a PostgreSQL database enforces one limit per key: one statement per request,
``INSERT … ON CONFLICT DO UPDATE … RETURNING``, refills the bucket by the time since its last
update (the database's clock), takes a token if there is one, and says whether it did, atomically
(the row lock serialises concurrent requests for one key, from any process).

Both forget buckets that have refilled (``prune``, run by the periodic purge): a full bucket is
what a missing one means, so pruning never changes an answer and the table stays small.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

from sqlalchemy import text

from evospikenet.server.db import Database


class Limiter(Protocol):
    """What the auth dependencies call."""

    def acquire(self, identity: str) -> float: ...
    def prune(self) -> int: ...


class RateLimiter:
    """``per_minute`` tokens a minute, at most ``burst`` saved up, per identity."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, identity: str) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(identity, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[identity] = (tokens - 1.0, now)
                return 0.0
            self._buckets[identity] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def prune(self) -> int:
        """Forget the buckets that have refilled; returns how many."""
        now = time.monotonic()
        with self._lock:
            full = [
                identity
                for identity, (tokens, stamp) in self._buckets.items()
                if tokens + (now - stamp) * self.rate >= self.capacity
            ]
            for identity in full:
                del self._buckets[identity]
        return len(full)


FAILED_AUTH_PREFIX = "refused:"
"""How the failed-key throttle (``auth_throttle``) names its rows in ``rate_limits``."""

REFILLED = (
    "LEAST(:capacity, b.tokens + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * :rate)"
)
"""A row ``b``'s tokens refilled by the time since its last update, by the database's clock
(parameters ``:capacity`` and ``:rate`` per second); shared with ``auth_throttle``."""

_TAKE = text(
    f"""
    INSERT INTO rate_limits AS b (identity, tokens, updated_at, granted)
    VALUES (:identity, :capacity - 1, clock_timestamp(), true)
    ON CONFLICT (identity) DO UPDATE SET
        tokens = {REFILLED} - CASE WHEN {REFILLED} >= 1 THEN 1 ELSE 0 END,
        granted = {REFILLED} >= 1,
        updated_at = clock_timestamp()
    RETURNING granted, tokens
    """
)


_PRUNE = text(  # statement_timestamp(), not the volatile clock_timestamp(): the index applies
    "DELETE FROM rate_limits"
    " WHERE updated_at < statement_timestamp() - make_interval(secs => :full)"
    f" AND identity NOT LIKE '{FAILED_AUTH_PREFIX}%'"  # the failed-key throttle prunes its own
)


class DatabaseRateLimiter:
    """The same buckets as ``RateLimiter``, kept in PostgreSQL's ``rate_limits`` table."""

    def __init__(self, database: Database, per_minute: float, burst: int) -> None:
        self.database = database
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))

    def acquire(self, identity: str) -> float:
        """Take one token; returns 0 when allowed, else the seconds until one is available.
        Blocking (one database round trip): call it from a worker thread."""
        params = {"identity": identity, "capacity": self.capacity, "rate": self.rate}
        with self.database.engine.begin() as connection:
            granted, tokens = connection.execute(_TAKE, params).one()
        return 0.0 if granted else (1.0 - float(tokens)) / self.rate

    def prune(self) -> int:
        """Delete the rows of buckets that have refilled (untouched for as long as an empty
        bucket takes to fill, by the database's clock); returns how many."""
        with self.database.engine.begin() as connection:
            result = connection.execute(_PRUNE, {"full": self.capacity / self.rate})
        return int(result.rowcount or 0)


def make_rate_limiter(
    database: Database, per_minute: float, burst: int
) -> RateLimiter | DatabaseRateLimiter:
    """The database's buckets on PostgreSQL (shared by every process), else in memory."""
    if database.engine.dialect.name == "postgresql":
        return DatabaseRateLimiter(database, per_minute, burst)
    return RateLimiter(per_minute, burst)


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After``, at least 1."""
    return str(max(1, math.ceil(seconds)))
