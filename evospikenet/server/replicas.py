"""Several server processes on one database: who may share it, and how they hear each other.

- **SQLite serves one process.** ``claim_database`` takes an exclusive ``flock`` on
  ``<database>.server.lock`` (released when the process ends, however it ends); a second
  process, or a second ``--workers`` worker, on the same file stops with a ``StartupError``
  that says to use PostgreSQL instead. In-process long-poll wake-ups are enough then.
- **PostgreSQL serves many.** Triggers (migration 0004) send ``NOTIFY`` in the transaction that
  changes a prompt's state (channel ``evospikenet_prompt``, payload the prompt id) or adds a
  model artifact (``evospikenet_model``); PostgreSQL delivers them when that transaction
  commits. ``ChangeListener`` keeps one connection per process in ``LISTEN`` on both channels
  (psycopg 3's async connection, on the event loop, no polling) and wakes the process's
  long-polls or asks its model manager to look for a newer model. After a lost connection it
  reconnects and wakes every waiting long-poll once (they re-read the database), since
  notices sent meanwhile are gone. A model check also runs every ``MODEL_CHECK_SECONDS``,
  the bound when notices are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import make_url

from evospikenet.server.startup import StartupError

log = logging.getLogger("evospikenet.server.replicas")

PROMPT_CHANNEL = "evospikenet_prompt"
MODEL_CHANNEL = "evospikenet_model"
MODEL_CHECK_SECONDS = 30.0
RECONNECT_SECONDS = 1.0
LOCK_KEY = "sqlite_process_lock"

USE_POSTGRES = (
    "SQLite serves one server process; to run several processes or --workers N, set "
    "DATABASE_URL to a PostgreSQL database (postgresql+psycopg://USER@HOST/DB) that every "
    "process shares"
)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite ``url`` (None for other databases and in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def claim_sqlite(path: Path) -> IO[bytes]:
    """Hold ``<path>.server.lock`` exclusively for as long as the returned file stays open;
    ``StartupError`` when another live process holds it."""
    handle = open(f"{path}.server.lock", "a+b")  # noqa: SIM115 (held until release)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().decode(errors="replace").strip() or "unknown"
        handle.close()
        raise StartupError(
            f"another server process (pid {holder}) already uses the SQLite database "
            f"{path}. {USE_POSTGRES}"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()).encode())
    handle.flush()
    return handle


def claim_database(state: Any) -> None:
    """At start-up: on SQLite, make sure no other live process uses the file (see the module
    docstring); a no-op on PostgreSQL."""
    path = sqlite_path(state.db.url)
    if path is not None and LOCK_KEY not in state.extras:
        state.extras[LOCK_KEY] = claim_sqlite(path)


def release_database(state: Any) -> None:
    """Give up what ``claim_database`` holds."""
    handle = state.extras.pop(LOCK_KEY, None)
    if handle is not None:
        handle.close()


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeListener:
    """``LISTEN`` on one connection; ``handlers`` map a channel to a callable of the payload,
    ``on_gap`` runs after every (re)connect, when notices may have been missed."""

    def __init__(
        self,
        url: str,
        handlers: dict[str, Callable[[str], None]],
        on_gap: Callable[[], None],
    ) -> None:
        self.url = libpq_url(url)
        self.handlers = handlers
        self.on_gap = on_gap
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 10.0) -> None:
        """Start listening; waits until the first ``LISTEN`` is in place (or ``timeout``)."""
        self._task = asyncio.create_task(self._run(), name="pg-listen")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout)

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import psycopg

        warned = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True
                ) as connection:
                    for channel in self.handlers:
                        await connection.execute(f'LISTEN "{channel}"')
                    self.connected.set()
                    if warned:
                        log.info("listening for changes of other processes again")
                    warned = False
                    self.on_gap()
                    async for notice in connection.notifies():
                        handler = self.handlers.get(notice.channel)
                        if handler is not None:
                            handler(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.connected.clear()
                if not warned:
                    log.warning(
                        "cannot listen for changes of other processes (%s); retrying every "
                        "%.0f s, long-polls fall back to re-reading every 5 s",
                        exc.__class__.__name__,
                        RECONNECT_SECONDS,
                    )
                    warned = True
            await asyncio.sleep(RECONNECT_SECONDS)


async def _check_models(models: Any) -> None:
    while True:
        await asyncio.sleep(MODEL_CHECK_SECONDS)
        models.request_reload()


@contextlib.asynccontextmanager
async def share_changes(state: Any) -> AsyncIterator[None]:
    """While the server runs: on PostgreSQL, hear prompt and model changes made by other
    processes; at the end, release the database claim."""
    try:
        if state.db.engine.dialect.name != "postgresql":
            yield
            return
        notifier = state.brain.notifier
        handlers: dict[str, Callable[[str], None]] = {PROMPT_CHANNEL: notifier.notify}
        models = state.models
        checker: asyncio.Task[None] | None = None
        if models.enabled and models.models_available():
            handlers[MODEL_CHANNEL] = lambda _artifact_id: models.request_reload()
            checker = asyncio.create_task(_check_models(models), name="model-check")
        listener = ChangeListener(state.db.url, handlers, on_gap=notifier.notify_all)
        await listener.start()
        try:
            yield
        finally:
            if checker is not None:
                checker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checker
            await listener.stop()
    finally:
        release_database(state)
