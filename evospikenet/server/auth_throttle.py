"""Throttling of failed authentication, per client address.

Every request refused for a wrong or repeated key takes a token from its
address's bucket (``burst`` tokens, refilled at ``per_minute``). With the bucket empty, every
request from that address that needs a key is answered 429 *before its key is looked at*, so a
key guessed while throttled is not confirmed either. A valid key never costs a token.

``FailedAuthThrottle`` keeps the buckets in this process's memory (SQLite: one process serves
the database); at most ``max_tracked`` addresses are tracked, the fullest buckets being dropped
first. ``DatabaseFailedAuthThrottle`` keeps them in PostgreSQL's ``rate_limits`` table (rows
``refused:<address>``), so the bound holds per address across every process on the database,
not once per replica. ``make_auth_throttle`` picks the one that fits the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text

from evospikenet.server.db import Database
from evospikenet.server.ratelimit import FAILED_AUTH_PREFIX, REFILLED

__all__ = [
    "AuthThrottle",
    "DatabaseFailedAuthThrottle",
    "FailedAuthThrottle",
    "make_auth_throttle",
]


class AuthThrottle(Protocol):
    """What authentication and the periodic purge call."""

    shared: bool
    """True when ``blocked``/``failed`` ask the database (call them off the event loop)."""

    def blocked(self, address: str) -> float: ...
    def failed(self, address: str) -> None: ...
    def prune(self) -> int: ...


class FailedAuthThrottle:
    """``blocked(address)`` → seconds to wait (0 = go on); ``failed(address)`` records one."""

    shared = False

    def __init__(
        self,
        per_minute: float = 20.0,
        burst: int = 50,
        *,
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_tracked = max_tracked
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def _tokens(self, address: str, now: float) -> float:
        tokens, at = self._buckets.get(address, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def blocked(self, address: str) -> float:
        """Seconds until ``address`` may try a key again; 0 when it may now."""
        with self._lock:
            tokens = self._tokens(address, self.clock())
        return _wait(tokens, self.rate)

    def failed(self, address: str) -> None:
        """Count one refused key from ``address``."""
        with self._lock:
            now = self.clock()
            self._buckets[address] = (max(0.0, self._tokens(address, now) - 1.0), now)
            if len(self._buckets) > self.max_tracked:
                self._forget_fullest(now)

    def prune(self) -> int:
        """Forget the buckets that have refilled (a missing bucket means a full one)."""
        with self._lock:
            now = self.clock()
            full = [a for a in self._buckets if self._tokens(a, now) >= self.burst]
            for address in full:
                del self._buckets[address]
        return len(full)

    def _forget_fullest(self, now: float) -> None:
        ranked = sorted(self._buckets, key=lambda a: self._tokens(a, now), reverse=True)
        for address in ranked[: len(ranked) - self.max_tracked // 2]:
            del self._buckets[address]


def _wait(tokens: float, rate: float) -> float:
    """Seconds until a bucket holding ``tokens`` has one (0 when it has)."""
    if tokens >= 1.0:
        return 0.0
    return (1.0 - tokens) / rate if rate > 0 else 3600.0


_TOKENS = text(f"SELECT {REFILLED} FROM rate_limits AS b WHERE b.identity = :identity")
_FAIL = text(
    f"""
    INSERT INTO rate_limits AS b (identity, tokens, updated_at, granted)
    VALUES (:identity, GREATEST(0, :capacity - 1), clock_timestamp(), false)
    ON CONFLICT (identity) DO UPDATE SET
        tokens = GREATEST(0, {REFILLED} - 1), updated_at = clock_timestamp(), granted = false
    """
)
_PRUNE = text(
    "DELETE FROM rate_limits WHERE identity LIKE :prefix "
    "AND updated_at < statement_timestamp() - make_interval(secs => :full)"
)


class DatabaseFailedAuthThrottle:
    """The buckets of ``FailedAuthThrottle`` in PostgreSQL, shared by every process. Each call
    is one statement on the row's primary key (blocking: call it from a worker thread)."""

    shared = True

    def __init__(self, database: Database, per_minute: float = 20.0, burst: int = 50) -> None:
        self.database = database
        self.rate = per_minute / 60.0
        self.burst = float(burst)

    def _params(self, address: str) -> dict[str, object]:
        return {"identity": FAILED_AUTH_PREFIX + address, "capacity": self.burst, "rate": self.rate}

    def blocked(self, address: str) -> float:
        """Seconds until ``address`` may try a key again; 0 when it may now."""
        with self.database.engine.connect() as connection:
            tokens = connection.execute(_TOKENS, self._params(address)).scalar()
        return 0.0 if tokens is None else _wait(float(tokens), self.rate)

    def failed(self, address: str) -> None:
        """Count one refused key from ``address`` (atomic under the row's lock)."""
        with self.database.engine.begin() as connection:
            connection.execute(_FAIL, self._params(address))

    def prune(self) -> int:
        """Delete the buckets that have refilled (untouched for as long as an empty one takes
        to fill); returns how many."""
        if self.rate <= 0:
            return 0  # nothing refills: every bucket is kept
        full = self.burst / self.rate
        with self.database.engine.begin() as connection:
            result = connection.execute(_PRUNE, {"prefix": FAILED_AUTH_PREFIX + "%", "full": full})
        return int(result.rowcount or 0)


def make_auth_throttle(database: Database, per_minute: float, burst: int) -> AuthThrottle:
    """The database's buckets on PostgreSQL (one bound across replicas), else in memory."""
    if database.engine.dialect.name == "postgresql":
        return DatabaseFailedAuthThrottle(database, per_minute, burst)
    return FailedAuthThrottle(per_minute, burst)
