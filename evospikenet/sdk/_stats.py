"""Counters and latency percentiles of one client's requests (``get_stats``/``reset_stats``)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

__all__ = ["RequestStats"]


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = fraction * (len(sorted_values) - 1)
    low = int(index)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (index - low)


class RequestStats:
    """Thread-safe tally of HTTP attempts; latencies of the last ``window`` attempts are kept."""

    def __init__(self, window: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._window = window
        self.reset()

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._requests = 0
            self._errors = 0
            self._retries = 0
            self._statuses: Counter[str] = Counter()
            self._latencies: deque[float] = deque(maxlen=self._window)

    def record_attempt(self, seconds: float, status: int | None) -> None:
        """One HTTP attempt finished (``status`` None: no answer)."""
        with self._lock:
            self._requests += 1
            self._latencies.append(seconds)
            self._statuses[str(status) if status is not None else "no_response"] += 1

    def record_retry(self) -> None:
        """An attempt is about to be repeated."""
        with self._lock:
            self._retries += 1

    def record_error(self) -> None:
        """A call ended in an error raised to the caller."""
        with self._lock:
            self._errors += 1

    def snapshot(self) -> dict[str, Any]:
        """Counts and latency figures (milliseconds) as a plain dict."""
        with self._lock:
            values = sorted(self._latencies)
            statuses = dict(self._statuses)
            requests, errors, retries = self._requests, self._errors, self._retries
        millis = [v * 1000.0 for v in values]
        return {
            "requests": requests,
            "errors": errors,
            "retries": retries,
            "status_codes": statuses,
            "latency_ms": {
                "count": len(millis),
                "mean": sum(millis) / len(millis) if millis else 0.0,
                "p50": _percentile(millis, 0.50),
                "p90": _percentile(millis, 0.90),
                "p99": _percentile(millis, 0.99),
                "max": millis[-1] if millis else 0.0,
            },
        }
