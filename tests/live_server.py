"""Real ``evospikenet serve`` processes on 127.0.0.1 loopback ports, for tests.

Import from here (``from live_server import LiveServer, TEST_KEY``), never from
``conftest``: a sub-folder's own ``conftest.py`` can shadow that module name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_KEY = "test-key"
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_postgres_database(base_url: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database on the server of ``base_url``; returns its URL and a dropper."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"evospikenet_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base_url).set(database=name).render_as_string(hide_password=False), drop


class LiveServer:
    """A real server process: ``base_url``, ``api_key``, ``data_dir``, ``process``, and
    ``stop()`` (SIGTERM), ``kill()`` (SIGKILL), ``restart()`` (same data, same port)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        api_key: str | None,
        env: dict[str, str],
        nodes: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.api_key = api_key
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self.nodes = nodes
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        self._cleanups: list[Callable[[], None]] = []
        database = os.environ.get("EVOSPIKENET_TEST_DATABASE_URL")
        if database and "DATABASE_URL" not in self.env:
            url, drop = _fresh_postgres_database(database)
            self.env["DATABASE_URL"] = url
            self._cleanups.append(drop)

    @property
    def headers(self) -> dict[str, str]:
        """The auth header for this server (empty when it runs open)."""
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
        env.pop("DATABASE_URL", None)  # the editable install puts the checkout on the path
        if self.api_key:
            env["EVOSPIKENET_API_KEYS"] = self.api_key
        # every server's simulation bridge listens on a port of its own
        env["EVOSPIKENET_SIM_ENDPOINT"] = f"tcp/127.0.0.1:{free_port()}"
        env.update(self.env)
        return env

    def start(self, timeout: float = START_TIMEOUT) -> LiveServer:
        """Start the process and wait until ``/api/health`` answers."""
        import httpx

        command = [
            sys.executable,
            "-m",
            "evospikenet",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if not self.nodes:
            command.append("--no-nodes")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, env=self._environment(), stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.read_log()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout} s:\n{self.read_log()[-4000:]}")

    def read_log(self) -> str:
        """The server's combined stdout/stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """Graceful stop (SIGTERM); SIGKILL if it does not exit in time. Returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, timeout: float = START_TIMEOUT) -> LiveServer:
        """Stop (if running) and start again on the same data and port."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop and release what the server used (its PostgreSQL database)."""
        self.stop()
        for cleanup in self._cleanups:
            cleanup()
        self._cleanups.clear()


MakeServer = Callable[..., LiveServer]
