"""Throttling of failed authentication, per client address.

Every request refused for a wrong or repeated key takes a token from its
address's bucket (``burst`` tokens, refilled at ``per_minute``). With the bucket empty, every
request from that address that needs a key is answered 429 *before its key is looked at*, so a
key guessed while throttled is not confirmed either. A valid key never costs a token. Buckets
live in this process's memory (each API process counts on its own) and at most ``max_tracked``
addresses are tracked, the fullest buckets being dropped first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["FailedAuthThrottle"]


class FailedAuthThrottle:
    """``blocked(address)`` → seconds to wait (0 = go on); ``failed(address)`` records one."""

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
        if tokens >= 1.0:
            return 0.0
        return (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0

    def failed(self, address: str) -> None:
        """Count one refused key from ``address``."""
        with self._lock:
            now = self.clock()
            self._buckets[address] = (max(0.0, self._tokens(address, now) - 1.0), now)
            if len(self._buckets) > self.max_tracked:
                self._forget_fullest(now)

    def _forget_fullest(self, now: float) -> None:
        ranked = sorted(self._buckets, key=lambda a: self._tokens(a, now), reverse=True)
        for address in ranked[: len(ranked) - self.max_tracked // 2]:
            del self._buckets[address]
