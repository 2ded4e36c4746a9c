"""Run the server under uvicorn with graceful shutdown (SIGTERM/SIGINT finish open requests)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import FrameType

from evospikenet.server.app import Plugin, create_app
from evospikenet.server.settings import Settings

log = logging.getLogger("evospikenet.server")

GRACEFUL_SHUTDOWN_SECONDS = 10


def run(settings: Settings, plugins: Sequence[Plugin] = ()) -> None:
    """Serve until a signal asks to stop; raises ``SettingsError`` for unsafe settings."""
    import uvicorn

    app = create_app(settings, plugins)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        proxy_headers=False,
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

    Server(config).run()
