"""The real EvoSpikeNet server, run by uvicorn in a thread of the test process on 127.0.0.1.

For tests that must act as the simulation (complete or fail a prompt through the server's
own queue) while a client long-polls over a real socket.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from evospikenet.server.app import create_app
from evospikenet.server.settings import Settings

API_KEY = "inprocess-key"


class InProcessServer:
    """``base_url``, ``api_key``, ``queue`` (the server's prompt queue); a context manager."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_key = API_KEY
        config = Settings(
            data_dir=data_dir,
            port=port,
            api_keys=(API_KEY,),
            load_models=False,
            access_log=False,
            **settings,
        )
        self.app = create_app(config)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def queue(self) -> Any:
        """The server's prompt queue (``complete``, ``fail``, ``claim_next``)."""
        return self.app.state.server.brain.queue

    def __enter__(self) -> InProcessServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("in-process server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
