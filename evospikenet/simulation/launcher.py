"""Local nodes for the embedded default: one node of each role as child processes.

``launch_local_nodes(...)`` starts ``evospikenet node`` for the coordinator (rank 0), language
(1), vision (2) and auditory (3), restarts one that exits unexpectedly (at most every 5 s), and
``LocalNodes.stop()`` stops them all (SIGTERM, then SIGKILL after a grace period). On Linux the
children also get SIGTERM if the server process dies without stopping them.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("evospikenet.simulation.launcher")

LOCAL_ROLES = ("coordinator", "language", "vision", "auditory")
RESTART_BACKOFF_SECONDS = 5.0
STOP_GRACE_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the spawning thread dies.

    Linux ties this to the *thread* that forked, so every spawn happens on the supervisor
    thread, which lives exactly as long as the nodes should.
    """
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalNodes:
    """The child node processes; ``stop()`` ends them. Use as a context manager if you like."""

    def __init__(
        self,
        endpoint: str,
        api_url: str | None,
        log_dir: Path,
        api_key: str | None,
        *,
        sim_key: bytes | None = None,
        zenoh_config: Path | None = None,
        extra_args: Sequence[str] = (),
        roles: Sequence[str] = LOCAL_ROLES,
    ) -> None:
        self.endpoint = endpoint
        self.zenoh_config = zenoh_config
        self.api_url = api_url
        self.log_dir = Path(log_dir)
        self.extra_args = list(extra_args)
        self.roles = list(roles)
        self._env = dict(os.environ)
        for name in (
            "EVOSPIKENET_API_KEY",
            "EVOSPIKENET_SIM_KEY",
            "EVOSPIKENET_API_KEYS",
            "EVOSPIKENET_ZENOH_CONFIG",  # given on the command line (a path, not a secret)
        ):
            self._env.pop(name, None)
        if api_key:
            self._env["EVOSPIKENET_API_KEY"] = api_key
        if sim_key:
            self._env["EVOSPIKENET_SIM_KEY"] = sim_key.decode("utf-8")
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self._started_at: dict[int, float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    def command(self, role: str, rank: int) -> list[str]:
        """The command line of the node of ``role`` at ``rank``."""
        args = [sys.executable, "-m", "evospikenet", "node", "--role", role, "--rank", str(rank)]
        args += ["--connect", self.endpoint, "--log-dir", str(self.log_dir), "--quiet"]
        args += ["--cache-dir", str(self.log_dir.parent / "node-cache")]
        if self.api_url:
            args += ["--api-url", self.api_url]
        if self.zenoh_config:
            args += ["--zenoh-config", str(self.zenoh_config)]
        return args + self.extra_args

    def _spawn(self, rank: int) -> None:
        role = self.roles[rank]
        console = self.log_dir / f"console_rank_{rank}.txt"
        with open(console, "ab") as out:
            process = subprocess.Popen(
                self.command(role, rank),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.processes[rank] = process
        self._started_at[rank] = time.monotonic()
        log.info("started local %s node (rank %d, pid %d)", role, rank, process.pid)

    def start(self) -> LocalNodes:
        """Start every node and the supervisor."""
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        with self._lock:
            for rank in range(len(self.roles)):
                self._spawn(rank)
        self._supervisor = threading.Thread(target=self._supervise, name="local-nodes", daemon=True)
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                for rank, process in list(self.processes.items()):
                    code = process.poll()
                    waited = time.monotonic() - self._started_at[rank]
                    if code is not None and waited >= RESTART_BACKOFF_SECONDS:
                        log.warning(
                            "local %s node (rank %d) exited with %s; restarting",
                            self.roles[rank], rank, code,
                        )  # fmt: skip
                        self._spawn(rank)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every node, wait up to ``grace`` seconds, SIGKILL what is left."""
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        with self._lock:
            for process in self.processes.values():
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + grace
            for process in self.processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        log.info("local simulation nodes stopped")

    def __enter__(self) -> LocalNodes:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def launch_local_nodes(
    endpoint: str,
    api_url: str | None,
    log_dir: Path,
    api_key: str | None,
    *,
    sim_key: bytes | None = None,
    zenoh_config: Path | None = None,
    extra_args: Sequence[str] = (),
) -> LocalNodes:
    """Start one node of each role on this machine, connected to ``endpoint`` (with
    ``zenoh_config``'s TLS settings); the language node takes its model from ``api_url`` (with
    ``api_key``). Returns the running nodes."""
    return LocalNodes(
        endpoint,
        api_url,
        log_dir,
        api_key,
        sim_key=sim_key,
        zenoh_config=zenoh_config,
        extra_args=extra_args,
    ).start()
