"""Wires ``remote_log`` (the SSH reader) to the operator's nodes file and to HTTP errors."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from evospikenet.server.errors import ApiError
from evospikenet.server.state import ServerState

log = logging.getLogger("evospikenet.server.remote_log")

NOT_CONFIGURED = (
    "remote_log is not configured on this server: the operator must list the hosts it may read "
    "(host, port, user, key_file, known_hosts, allowed_log_dirs) in a nodes file and start the "
    "server with EVOSPIKENET_NODES_FILE=/path/to/nodes.yaml."
)


class NodesFile:
    """The nodes file, re-read when it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[float, int] | None = None
        self._hosts: list[Any] = []

    def hosts(self) -> list[Any]:
        """The configured hosts; raises ``ValueError`` for an invalid file."""
        from evospikenet.server.remote_log import load_nodes_file

        stat = self.path.stat()
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._hosts = load_nodes_file(self.path)
                self._stamp = stamp
            return list(self._hosts)


async def remote_log_answer(state: ServerState, body: dict[str, Any]) -> dict[str, Any]:
    """Read the log over SSH and shape the answer; 403 ``SSH_001`` / 502 ``SSH_002``."""
    from evospikenet.server.remote_log import (
        RemoteLogForbidden,
        RemoteLogUnavailable,
        read_remote_log,
    )

    nodes: NodesFile | None = state.extras.get("nodes_file")
    if nodes is None:
        raise ApiError(403, "SSH_001", NOT_CONFIGURED, kind="remote-log-forbidden")
    try:
        hosts = nodes.hosts()
    except (OSError, ValueError) as exc:
        # the path and the parse error (which quotes the file) are for the operator's log only
        log.error("remote_log: the nodes file cannot be used: %s", exc)
        raise ApiError(
            503,
            "SYS_002",
            "remote_log is unavailable: the server's nodes file cannot be used; the operator "
            "will find why in the server log.",
            kind="unavailable",
            headers={"Retry-After": "30"},
        ) from None
    try:
        content = await read_remote_log(
            hosts,
            user=body["user"],
            ip=body["ip"],
            key_path=body["key_path"],
            log_file_path=body["log_file_path"],
            lines=int(body["lines"]),
        )
    except RemoteLogForbidden as exc:
        raise ApiError(403, "SSH_001", str(exc), kind="remote-log-forbidden") from None
    except RemoteLogUnavailable as exc:
        raise ApiError(502, "SSH_002", str(exc), kind="remote-log-unavailable") from None
    return {
        "log_content": content,
        "lines": len(content.splitlines()),
        "host": body["ip"],
    }
