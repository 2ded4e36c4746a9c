"""Run the server under uvicorn with graceful shutdown (SIGTERM/SIGINT finish open requests).

Transport limits (see docs/server.md, "Hostile input"): at most ``MAX_CONNECTIONS`` connections
and requests at once (uvicorn answers 503 past it); a request head (request line and headers) of
at most 16 KiB (h11; more is a 400); a head must arrive within ``settings.head_timeout_seconds``
(10 s) of the connection opening or of the previous response, else the connection is closed
(slow-header clients cannot hold connections); idle keep-alive connections close after 5 s.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any

from evospikenet.server.app import Plugin, create_app
from evospikenet.server.settings import Settings
from evospikenet.server.startup import QuietStartup

log = logging.getLogger("evospikenet.server")

GRACEFUL_SHUTDOWN_SECONDS = 10
MAX_CONNECTIONS = 2048
KEEP_ALIVE_SECONDS = 5
MAX_HEAD_BYTES = 16 * 1024
GIL_SWITCH_SECONDS = 0.001


def head_timeout_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head does not arrive within
    ``seconds``."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeoutH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(seconds, self._head_late)

        def _head_late(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()  # no (complete) request head in time

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._arm_head_timer()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE and self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

    return HeadTimeoutH11Protocol


def _options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for one process or for workers (the transport limits above)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "server_header": False,
        "proxy_headers": False,
    }


def run(settings: Settings, plugins: Sequence[Plugin] = ()) -> None:
    """Serve until a signal asks to stop; raises ``SettingsError`` for unsafe settings and
    ``StartupError`` when a part cannot start as configured."""
    import uvicorn

    app = QuietStartup(create_app(settings, plugins))
    # Worker threads parse, decode and hash large bodies; the event loop should get the GIL
    # back within 1 ms of asking (the default 5 ms adds up over the hops of one request).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    config = uvicorn.Config(
        app, http=head_timeout_protocol(settings.head_timeout_seconds), **_options(settings)
    )
    log.info(
        "evospikenet API on http://%s:%d (data in %s)",
        settings.host,
        settings.port,
        settings.data_dir,
    )
    state = app.state.server

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            state.brain.begin_shutdown()  # long-polls answer now instead of being cut off
            super().handle_exit(sig, frame)

    try:
        Server(config).run()
    except SystemExit:  # uvicorn's exit on a failed start
        if app.error is not None:
            raise app.error from None
        raise


def run_workers(settings: Settings, workers: int, *, no_nodes: bool, log_level: str) -> None:
    """Serve with ``workers`` processes on one socket (``evospikenet.server.workers``);
    PostgreSQL only (the caller checks). A worker that dies is replaced."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from evospikenet.server.workers import worker_environment

    os.environ.update(worker_environment(settings, no_nodes=no_nodes, log_level=log_level))
    config = uvicorn.Config(
        "evospikenet.server.workers:app",
        factory=True,
        workers=workers,
        http="evospikenet.server.workers:HeadTimeoutProtocol",
        **_options(settings),
    )
    log.info(
        "evospikenet API on http://%s:%d with %d worker processes",
        settings.host,
        settings.port,
        workers,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
