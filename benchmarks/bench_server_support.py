"""Shared by the server benchmarks: start ``evospikenet serve`` on a free loopback port and
read the process's memory figures from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-key"


@dataclass
class BenchServer:
    """A running server: its URL, key header, data folder and process."""

    base_url: str
    headers: dict[str, str]
    data_dir: Path
    process: subprocess.Popen[bytes]

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak so far) of the server process, in KiB."""
        figures: dict[str, int] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                figures[name] = int(value.split()[0])
        return figures

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (Linux: write 5 to /proc/PID/clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def bench_server(**env: str) -> Iterator[BenchServer]:
    """Start a server with its own temp data folder; stop it (SIGTERM) afterwards."""
    with tempfile.TemporaryDirectory(prefix="evospikenet-bench-") as tmp:
        port = _free_port()
        data_dir = Path(tmp) / "data"
        environment = {
            **os.environ,
            "EVOSPIKENET_API_KEYS": KEY,
            "EVOSPIKENET_ACCESS_LOG": "false",
            "EVOSPIKENET_SIM_ENDPOINT": f"tcp/127.0.0.1:{_free_port()}",
            **env,
        }
        log = (Path(tmp) / "server.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evospikenet",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--no-nodes",
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((Path(tmp) / "server.log").read_text()[-3000:])
                time.sleep(0.1)
            yield BenchServer(base_url, {"X-API-Key": KEY}, data_dir, process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
