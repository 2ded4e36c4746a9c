"""When to retry a request and how long to wait first: exponential backoff, jitter, a cap,
and the server's ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked to wait (``Retry-After`` as seconds or an HTTP date), or None."""
    value = None
    for name, item in headers.items():
        if name.lower() == "retry-after":
            value = item.strip()
            break
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass
class RetryPolicy:
    """Retry transport errors, 408, 429 and 5xx (and 409 ``IDEM_002``, decided by the
    engine), at most ``max_retries`` times.

    Only requests that are safe (GET/HEAD/OPTIONS) or carry an ``Idempotency-Key`` are retried,
    so the server never applies a change twice. The n-th retry waits a random time in
    ``[0, min(backoff_max, backoff_initial * 2**n)]`` ("full jitter") unless the server sent
    ``Retry-After``, which wins (bounded by ``retry_after_max``).
    """

    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def may_retry(self, method: str, has_idempotency_key: bool) -> bool:
        """Whether a request of this kind may be sent again at all."""
        return method.upper() in SAFE_METHODS or has_idempotency_key

    def should_retry_status(self, status_code: int, headers: Mapping[str, str]) -> bool:
        """Whether an answer with this status is worth another attempt."""
        for name, value in headers.items():
            if name.lower() == "x-should-retry":
                return value.strip().lower() == "true"
        return status_code in RETRYABLE_STATUSES

    def delay(self, retry_index: int, retry_after: float | None = None) -> float | None:
        """Seconds to sleep before retry number ``retry_index`` (0 for the first retry).

        None when the server asked for a longer pause than ``retry_after_max``: give up then.
        """
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_max else None
        ceiling = min(self.backoff_max, self.backoff_initial * (2.0**retry_index))
        return self.rng.uniform(0.0, ceiling)
