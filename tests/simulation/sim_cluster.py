"""Helpers to run real node processes on loopback and wait for things to happen."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_endpoint() -> str:
    """A fresh Zenoh endpoint on 127.0.0.1."""
    return f"tcp/127.0.0.1:{free_port()}"


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """The first truthy value of ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class NodeProcess:
    """One ``evospikenet node`` child process; its console output goes to a file."""

    def __init__(
        self,
        role: str,
        rank: int,
        endpoint: str,
        log_dir: Path,
        *extra: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.role, self.rank, self.log_dir = role, rank, log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.console = log_dir / f"console_{role}_{rank}.txt"
        args = [
            sys.executable, "-m", "evospikenet", "node", "--role", role, "--rank", str(rank),
            "--connect", endpoint, "--log-dir", str(log_dir), "--quiet", *extra,
        ]  # fmt: skip
        child_env = {**os.environ, **(env or {})}
        with open(self.console, "ab") as out:
            self.popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=child_env)

    @property
    def node_id(self) -> str:
        return f"node-{self.role}-{self.rank}"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"sim_rank_{self.rank}.log"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: the node gets no chance to say goodbye."""
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait; SIGKILL if it hangs."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        return int(self.popen.returncode)

    def output(self) -> str:
        text = self.console.read_text(errors="replace") if self.console.exists() else ""
        if self.log_file.exists():
            text += self.log_file.read_text(errors="replace")
        return text
