"""The schedule of ``poll_for_result``: long-polls bounded by the deadline and the server's
limit, and pauses only when the server cannot long-poll."""

from __future__ import annotations

import time
from collections.abc import Callable

from ._logging import logger
from ._models import PromptResult

__all__ = ["PollPlan", "check_poll_args", "report"]

# Against a server that answers at once and was given interval=0: do not spin.
_MIN_PAUSE = 0.05


def check_poll_args(timeout: object, interval: object) -> tuple[float, float]:
    """``timeout`` and ``interval`` as non-negative floats; else ValueError naming the field."""
    for field, value in (("timeout", timeout), ("interval", interval)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{field}: must be a number of seconds >= 0, got {value!r}")
    assert isinstance(timeout, int | float) and isinstance(interval, int | float)
    return float(timeout), float(interval)


class PollPlan:
    """One poll's deadline. Each request long-polls ``next_wait()`` seconds; a request that
    came back early without a final state means a server that cannot long-poll (the original),
    which is then polled every ``interval`` seconds."""

    def __init__(
        self,
        timeout: float,
        interval: float,
        max_wait: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.deadline = clock() + timeout
        self.interval = interval
        self.max_wait = max_wait

    def remaining(self) -> float:
        """Seconds left before the deadline (may be negative)."""
        return self.deadline - self._clock()

    def next_wait(self) -> float | None:
        """How long the next request may long-poll; None once the deadline has passed."""
        remaining = self.remaining()
        if remaining <= 0:
            return None
        return min(remaining, self.max_wait)

    def pause_after(self, started: float, wait: float) -> float | None:
        """Seconds to sleep before the next request (0: none); None when time is up."""
        answered_early = wait == 0 or self._clock() - started < wait / 2
        if not answered_early:
            return 0.0
        remaining = self.remaining()
        if remaining <= 0:
            return None
        return min(self.interval if self.interval > 0 else _MIN_PAUSE, remaining)


def report(prompt_id: str, result: PromptResult) -> PromptResult:
    """Log a failed prompt clearly; return the result unchanged."""
    if result.failed:
        logger.warning("prompt %s failed: %s", prompt_id, result.error or "no reason given")
    return result
