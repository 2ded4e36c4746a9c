"""Fair turns between callers for the generation queue.

Requests wait in arrival order, but the next batch starts with the oldest request of the
caller (API key) served longest ago, so one key's long queue of generations cannot hold
everyone else's: another key's request waits for at most the batch already running.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evospikenet.server.caller import ANONYMOUS

__all__ = ["FairTurns"]


class FairTurns:
    """Round robin over callers; ``pick`` names the pending request to run next."""

    def __init__(self, max_tracked: int = 10_000) -> None:
        self._turn = 0
        self._last: dict[str, int] = {}
        self.max_tracked = max_tracked

    def pick(self, pending: Sequence[Any]) -> int:
        """The index in ``pending`` (arrival order; items have ``caller``) to run next."""

        def rank(index: int) -> tuple[int, int]:
            caller = getattr(pending[index], "caller", ANONYMOUS)
            return self._last.get(caller, -1), index

        best = min(range(len(pending)), key=rank)
        self._turn += 1
        self._last[getattr(pending[best], "caller", ANONYMOUS)] = self._turn
        if len(self._last) > self.max_tracked:  # forget the callers served longest ago
            keep = sorted(self._last.items(), key=lambda item: item[1])[-self.max_tracked // 2 :]
            self._last = dict(keep)
        return best
