"""An in-memory token bucket per client identity."""

from __future__ import annotations

import math
import threading
import time


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


def retry_after_header(seconds: float) -> str:
    """Whole seconds for ``Retry-After``, at least 1."""
    return str(max(1, math.ceil(seconds)))
