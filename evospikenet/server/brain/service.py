"""The brain's parts together, plus the janitor that requeues work of dead nodes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import TERMINAL, PromptQueue
from evospikenet.server.db import Database
from evospikenet.server.settings import Settings

log = logging.getLogger("evospikenet.server.brain")

JANITOR_INTERVAL = 1.0
PURGE_LOCK = "periodic-purge"
STALE_GRACE_FACTOR = 3.0
"""The lock (PostgreSQL advisory lock, SQLite file lock) held by the one process purging."""


class BrainService:
    """Queue, nodes and notifier of one server; ``wait_for_result`` long-polls."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        blobs: BlobStore,
        *,
        purge_also: Callable[[], None] | None = None,
        every_pass: Callable[[], object] | None = None,
    ) -> None:
        self.settings = settings
        self.notifier = PromptNotifier()
        self.queue = PromptQueue(
            database, blobs, self.notifier, max_attempts=settings.max_prompt_attempts
        )
        self.nodes = NodeRegistry(
            database,
            offline_after=settings.node_offline_seconds,
            retention=settings.node_retention_seconds,
        )
        self._janitor: asyncio.Task[None] | None = None
        self._purge: asyncio.Task[None] | None = None
        self._purge_also = purge_also
        self._every_pass = every_pass
        self.closing = False
        self.long_polls = 0

    def begin_shutdown(self) -> None:
        """Answer every long-poll now with the current state (thread-safe)."""
        self.closing = True
        self.notifier.notify_all()

    async def start(self) -> None:
        """Bind the notifier to the running loop and start the janitor."""
        self.notifier.bind(asyncio.get_running_loop())
        self._janitor = asyncio.create_task(self._janitor_loop(), name="brain-janitor")

    async def stop(self) -> None:
        """Stop the janitor (a purge pass running in a worker thread finishes on its own)."""
        for task in (self._janitor, self._purge):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def janitor_pass(self, *, purge: bool, stale: bool = True) -> None:
        """Run ``every_pass`` (e.g. renewing leases); requeue attempts whose lease ran out and,
        with ``stale``, prompts of offline nodes; with ``purge``, also ``purge_pass``."""
        if self._every_pass is not None:
            self._every_pass()
        if stale:
            requeued = self.queue.requeue_stale(self.nodes.live_ids())
            if requeued:
                log.warning("requeued %d prompt(s) of offline nodes: %s", len(requeued), requeued)
        expired = self.queue.requeue_expired()
        if expired:
            log.warning("requeued %d prompt(s) whose claimer is gone: %s", len(expired), expired)
        if purge:
            self.purge_pass()

    def purge_pass(self) -> bool:
        """Delete results past retention and run ``purge_also`` (e.g. expired idempotency
        keys, the orphan sweep), all in pages and by the database's clock. One process at a
        time runs it (``PURGE_LOCK`` across every process on the database): the others skip
        the pass and return False."""
        with self.queue.database.try_lock(PURGE_LOCK) as mine:
            if not mine:
                return False
            self.queue.purge_expired(self.settings.result_retention_seconds)
            if self._purge_also is not None:
                self._purge_also()
        return True

    async def _purge_in_background(self) -> None:
        try:
            await run_in_threadpool(self.purge_pass)
        except Exception:
            log.exception("brain purge pass failed")

    async def _janitor_loop(self) -> None:
        """Every second a short pass (leases, requeues); every ``purge_interval_seconds`` a
        purge pass beside it, so a long sweep never delays the lease renewals.

        Nodes are judged offline only ``STALE_GRACE_FACTOR`` × ``node_offline_seconds`` after
        the start: after an outage the registry's heartbeats are as old as the outage (the
        nodes lived on, nobody listened), and the nodes need that long to reconnect and be
        heard again. Attempts whose lease ran out are requeued from the first pass."""
        last_purge = -float("inf")
        started = time.monotonic()
        grace = STALE_GRACE_FACTOR * self.settings.node_offline_seconds
        while True:
            now = time.monotonic()
            due = now - last_purge >= self.settings.purge_interval_seconds
            if due and (self._purge is None or self._purge.done()):
                last_purge = now
                self._purge = asyncio.create_task(self._purge_in_background(), name="brain-purge")
            try:
                await run_in_threadpool(
                    self.janitor_pass, purge=False, stale=now - started >= grace
                )
            except Exception:
                log.exception("brain janitor pass failed")
            await asyncio.sleep(JANITOR_INTERVAL)

    async def wait_for_result(self, prompt_id: str, wait: float) -> dict[str, Any] | None:
        """The prompt's result; waits up to ``wait`` s for a terminal state, woken by the
        notifier (re-reading the database at most every 5 s for changes made elsewhere).

        At most ``settings.max_long_polls`` wait at once; past that, a read answers at once
        with the current state (as ``wait=0`` would), so waiting readers cannot pile up."""
        if wait <= 0 or self.long_polls >= self.settings.max_long_polls:
            return await self._wait(prompt_id, 0.0)
        self.long_polls += 1
        try:
            return await self._wait(prompt_id, wait)
        finally:
            self.long_polls -= 1

    async def _wait(self, prompt_id: str, wait: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + wait
        while True:
            event = self.notifier.subscribe(prompt_id)
            try:
                result = await run_in_threadpool(self.queue.get, prompt_id)
                remaining = deadline - time.monotonic()
                if result is None or result["state"] in TERMINAL or remaining <= 0 or self.closing:
                    return result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout=min(remaining, 5.0))
            finally:
                self.notifier.unsubscribe(prompt_id, event)
