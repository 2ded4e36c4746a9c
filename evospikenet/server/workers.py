"""``evospikenet serve --workers N``: N uvicorn worker processes on one listening socket.

Every worker builds its own app from the environment (``app`` is uvicorn's factory), so the
parent passes its settings on as ``EVOSPIKENET_*`` variables. PostgreSQL only: the workers
share the database like separate servers do (see ``evospikenet.server.replicas``). The
simulation (bridge, and local nodes unless ``--no-nodes``) runs in one worker, the one holding
``<data dir>/simulation.lock``; a worker that replaces a dead holder takes the lock over.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from evospikenet.server.settings import Settings
from evospikenet.server.startup import QuietStartup

log = logging.getLogger("evospikenet.server")

NO_NODES_VARIABLE = "EVOSPIKENET_SERVE_NO_NODES"
LOG_LEVEL_VARIABLE = "EVOSPIKENET_SERVE_LOG_LEVEL"
_simulation_lock: IO[bytes] | None = None


def worker_environment(settings: Settings, *, no_nodes: bool, log_level: str) -> dict[str, str]:
    """The variables that make a worker's ``Settings.from_env()`` equal ``settings`` where the
    command line set them."""
    return {
        "EVOSPIKENET_HOST": settings.host,
        "EVOSPIKENET_PORT": str(settings.port),
        "EVOSPIKENET_DATA_DIR": str(Path(settings.data_dir).resolve()),
        NO_NODES_VARIABLE: "true" if no_nodes else "false",
        LOG_LEVEL_VARIABLE: log_level,
    }


def _holds_simulation(data_dir: Path) -> bool:
    """True for the one worker that runs the simulation (see the module docstring)."""
    global _simulation_lock
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "simulation.lock", "a+b")  # noqa: SIM115 (held while we live)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _simulation_lock = handle
    return True


@contextlib.asynccontextmanager
async def answer_long_polls_at_exit(app: Any, state: Any) -> AsyncIterator[None]:
    """Plugin: SIGTERM/SIGINT first answer every waiting long-poll, then uvicorn's handler
    runs (what ``runner.run`` does for one process; uvicorn installed its handlers already)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_exit(sig: int, frame: Any) -> None:
        state.brain.begin_shutdown()
        handler = previous[signal.Signals(sig)]
        if callable(handler):
            handler(sig, frame)

    for sig in previous:
        signal.signal(sig, on_exit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def app() -> Any:
    """uvicorn's app factory in each worker."""
    from evospikenet.cli.serve import simulation_plugins
    from evospikenet.server.app import create_app
    from evospikenet.server.logging_setup import configure_logging
    from evospikenet.server.runner import GIL_SWITCH_SECONDS

    configure_logging(os.environ.get(LOG_LEVEL_VARIABLE, "info"))
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    settings = Settings.from_env()
    no_nodes = os.environ.get(NO_NODES_VARIABLE) == "true"
    plugins = [answer_long_polls_at_exit]
    if _holds_simulation(settings.data_dir):
        plugins += simulation_plugins(no_nodes)
    return QuietStartup(create_app(settings, plugins), log_errors=True)


def __getattr__(name: str) -> Any:
    if name == "HttpProtocol":  # uvicorn imports the protocol by name in each worker
        from evospikenet.server.runner import http_protocol

        return http_protocol(Settings.from_env().head_timeout_seconds)
    raise AttributeError(name)
