"""Run the server under uvicorn with graceful shutdown (SIGTERM/SIGINT finish open requests).

Transport limits (see docs/server.md, "Hostile input"): at most ``MAX_CONNECTIONS`` connections
and requests at once (uvicorn answers 503 past it); a request head (request line and headers) of
at most 16 KiB (counted by ``http_protocol``, uvicorn's httptools protocol: more is a 400); a
head must arrive within ``settings.head_timeout_seconds`` (10 s) of the connection opening or of
the previous response, else the connection is closed (slow-header clients cannot hold
connections); idle keep-alive connections close after 5 s.
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
HEAD_TOO_LARGE = f"Request head (request line and headers) larger than {MAX_HEAD_BYTES} bytes."
GIL_SWITCH_SECONDS = 0.001


def http_protocol(head_timeout_seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol (llhttp parses in C, where h11 copied every byte in Python)
    with limits on each request head, which llhttp does not bound itself: at most
    ``MAX_HEAD_BYTES`` (else 400 and the connection closed), complete within
    ``head_timeout_seconds`` of the connection opening or of the head's first byte after the
    previous request (else the connection is closed; until that byte the keep-alive timeout
    applies)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from evospikenet.server.zerocopy import offer_zero_copy

    class LimitedHttpToolsProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _head_open = True  # no complete head yet for the request being received
        _heads_done = 0
        _head_bytes = 0  # bytes received that were all head (a partial head: llhttp buffers it)
        _head_size = 0  # the current head as parsed, rebuilt from the parser's callbacks
        _head_too_large = False

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(head_timeout_seconds, self._head_late)

        def _disarm_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            self._head_timer = None
            if self._head_open and not self.transport.is_closing():
                self.transport.close()  # no (complete) request head in time

        def data_received(self, data: bytes) -> None:
            head_open, heads_done = self._head_open, self._heads_done
            if head_open:
                self._arm_head_timer()
            super().data_received(data)
            if head_open and self._heads_done == heads_done and not self.transport.is_closing():
                self._head_bytes += len(data)  # every byte of it belongs to the open head
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._refuse_head()

        def _refuse_head(self) -> None:
            self._head_too_large = True
            self.logger.warning(HEAD_TOO_LARGE)
            self.send_400_response(HEAD_TOO_LARGE)

        def send_400_response(self, msg: str) -> None:
            super().send_400_response(HEAD_TOO_LARGE if self._head_too_large else msg)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_size = len(b"\r\n")  # the blank line that ends the head

        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            self._head_size += len(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            super().on_header(name, value)
            self._head_size += len(name) + len(b": ") + len(value) + len(b"\r\n")

        def on_headers_complete(self) -> None:
            self._disarm_head_timer()
            self._head_open, self._heads_done, self._head_bytes = False, self._heads_done + 1, 0
            method = self.parser.get_method()
            if self._head_size + len(method) + len(b"  HTTP/1.1\r\n") > MAX_HEAD_BYTES:
                self._head_too_large = True
                raise ValueError(HEAD_TOO_LARGE)  # httptools raises it on: uvicorn answers 400
            existing = self.cycle
            super().on_headers_complete()
            if self.cycle is not existing:  # a new request (not an upgrade)
                offer_zero_copy(self.cycle, self.loop)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._head_open = True

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_timer()
            super().connection_lost(exc)

    return LimitedHttpToolsProtocol


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
        app, http=http_protocol(settings.head_timeout_seconds), **_options(settings)
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
        http="evospikenet.server.workers:HttpProtocol",
        **_options(settings),
    )
    log.info(
        "evospikenet API on http://%s:%d with %d worker processes",
        settings.host,
        settings.port,
        workers,
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()
