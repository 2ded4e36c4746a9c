"""Start-up failures the operator can fix, reported as one line instead of a traceback.

A part of the server that cannot start as configured (a taken endpoint, SQLite shared by two
processes, ...) raises ``StartupError`` with a message that says what is wrong and how to fix
it. ``QuietStartup`` wraps the ASGI app so that uvicorn does not log that error's traceback;
the runner raises it again once uvicorn has stopped, and ``evospikenet serve`` prints it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("evospikenet.server")


class StartupError(RuntimeError):
    """The server cannot start as configured; the message says why and what to change."""


class QuietStartup:
    """ASGI wrapper: a ``StartupError`` in the lifespan ends start-up without a traceback and
    is kept in ``error`` (and logged as one line with ``log_errors``, for worker processes,
    whose parent cannot print it)."""

    def __init__(self, app: ASGIApp, *, log_errors: bool = False) -> None:
        self.app = app
        self.log_errors = log_errors
        self.error: StartupError | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # ``state``, ``openapi``, ... of the wrapped app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def quiet_send(message: Message) -> None:
            # Starlette sends "startup.failed" from inside its ``except`` block: the error
            # being handled is the one that stopped the start
            error = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(error, StartupError):
                self.error = error
                if self.log_errors:
                    log.error("cannot start: %s", error)
                message = {"type": message["type"], "message": ""}
            await send(message)

        await self.app(scope, receive, quiet_send)
