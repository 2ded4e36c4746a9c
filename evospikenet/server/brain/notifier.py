"""Wakes long-polling readers when a prompt changes state, from any thread, without polling."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict


class PromptNotifier:
    """``notify(prompt_id)`` may be called from any thread; ``wait`` is awaited on the loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (done at start-up)."""
        self._loop = loop

    def subscribe(self, prompt_id: str) -> asyncio.Event:
        """An event set at the next change of ``prompt_id``; pass it to ``unsubscribe`` after."""
        event = asyncio.Event()
        with self._lock:
            self._waiters[prompt_id].add(event)
        return event

    def unsubscribe(self, prompt_id: str, event: asyncio.Event) -> None:
        """Forget a subscription."""
        with self._lock:
            waiters = self._waiters.get(prompt_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[prompt_id]

    def notify_all(self) -> None:
        """Wake every waiting reader (at shutdown)."""
        with self._lock:
            prompt_ids = list(self._waiters)
        for prompt_id in prompt_ids:
            self.notify(prompt_id)

    def notify(self, prompt_id: str) -> None:
        """Wake every reader waiting on ``prompt_id``."""
        with self._lock:
            events = list(self._waiters.get(prompt_id, ()))
        if not events or self._loop is None or self._loop.is_closed():
            return
        for event in events:
            self._loop.call_soon_threadsafe(event.set)
