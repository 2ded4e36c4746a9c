"""Shared parts of the ``bench_sdk_*`` scripts: a real server on a loopback port, and figures.

Not a benchmark itself (running it only says so).
"""

from __future__ import annotations

import os
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

REPO = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1), linear interpolation."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def python_env() -> dict[str, str]:
    """The environment for child Python processes of this checkout (the editable install puts
    it on their path)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}


@dataclass
class Server:
    """A running ``evospikenet serve``."""

    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


@contextmanager
def serve(**env: str) -> Iterator[Server]:
    """Run ``evospikenet serve`` (key ``bench-key``, no local nodes, no models) in a temp dir."""
    with tempfile.TemporaryDirectory(prefix="evospikenet-bench-") as tmp:
        port = free_port()
        data_dir = Path(tmp) / "data"
        child_env = python_env()
        child_env.update(
            EVOSPIKENET_API_KEYS=API_KEY,
            EVOSPIKENET_LOAD_MODELS="false",
            EVOSPIKENET_ACCESS_LOG="false",
            **env,
        )
        log = (Path(tmp) / "server.log").open("wb")
        command = [sys.executable, "-m", "evospikenet", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--data-dir", str(data_dir), "--no-nodes"]
        process = subprocess.Popen(
            command,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((Path(tmp) / "server.log").read_text()[-3000:])
                try:
                    if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield Server(base_url, data_dir, process)
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


if __name__ == "__main__":
    print("helper module of the bench_sdk_* scripts; run those instead")
