"""A real, misbehaving HTTP/1.1 server on 127.0.0.1 for the SDK's fault tests.

Each request is answered by the next scripted :class:`Action` (or by a handler function):
a normal reply, a dropped connection, a body cut short, a stall mid-body. Every connection is
closed after one exchange, so each retry is a fresh request on a fresh connection.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Action:
    """How to answer one request.

    ``cut_after``: send only this many body bytes, then close (a truncated body).
    ``stall_after``/``stall_for``: after that many body bytes, sleep before sending the rest.
    ``drop``: close the connection without answering.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    cut_after: int | None = None
    stall_after: int | None = None
    stall_for: float = 0.0
    delay: float = 0.0


def json_reply(status: int, data: Any, **headers: str) -> Action:
    """A JSON answer."""
    return Action(
        status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers}
    )


def problem(status: int, code: str, detail: str, **headers: str) -> Action:
    """A problem+json answer as the EvoSpikeNet server sends them."""
    body = {
        "type": "about:blank",
        "title": "Problem",
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": "req-test",
    }
    return Action(
        status,
        json.dumps(body).encode(),
        {"Content-Type": "application/problem+json", "X-Request-ID": "req-test", **headers},
    )


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 206: "Partial Content"}


class FaultyServer:
    """Serve scripted actions on 127.0.0.1; use as a context manager."""

    def __init__(self, handler: Callable[[Request], Action] | None = None) -> None:
        self._script: list[Action] = []
        self._handler = handler
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def script(self, *actions: Action) -> FaultyServer:
        """Answer the next requests with these actions, in order."""
        with self._lock:
            self._script.extend(actions)
        return self

    def __enter__(self) -> FaultyServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._acceptor.join(timeout=5)
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept_loop(self) -> None:
        self._sock.settimeout(0.05)
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next_action(self, request: Request) -> Action:
        with self._lock:
            self.requests.append(request)
            if self._script:
                return self._script.pop(0)
        if self._handler is not None:
            return self._handler(request)
        return problem(500, "SYS_001", "faulty server: no action scripted")

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                request = _read_request(conn)
            except (OSError, ValueError):
                return
            if request is None:
                return
            action = self._next_action(request)
            if action.delay:
                time.sleep(action.delay)
            if action.drop:
                return
            try:
                self._send(conn, action)
            except OSError:
                return

    def _send(self, conn: socket.socket, action: Action) -> None:
        headers = {"Content-Length": str(len(action.body)), "Connection": "close"}
        headers.update(action.headers)
        reason = _REASONS.get(action.status, "Status")
        head = f"HTTP/1.1 {action.status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        conn.sendall(head.encode("latin-1") + b"\r\n")
        body = action.body
        if action.cut_after is not None:
            conn.sendall(body[: action.cut_after])
            return
        if action.stall_after is not None:
            conn.sendall(body[: action.stall_after])
            if self._stopped.wait(action.stall_for):
                return
            conn.sendall(body[action.stall_after :])
            return
        conn.sendall(body)


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = conn.recv(min(1 << 20, length - len(body)))
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, bytes(body))


class DroppingProxy:
    """Forwards each request to a real server on 127.0.0.1, but drops the connection to the
    client instead of answering for the first ``drop`` requests: the server did the work, the
    client never heard. The test for idempotent retries."""

    def __init__(self, target_base_url: str, drop: int = 1) -> None:
        host_port = target_base_url.removeprefix("http://")
        host, _, port = host_port.partition(":")
        self._target = (host, int(port))
        self._drop = drop
        self._lock = threading.Lock()
        self.forwarded: list[Request] = []
        self._inner = FaultyServer(handler=self._forward)

    @property
    def base_url(self) -> str:
        return self._inner.base_url

    def __enter__(self) -> DroppingProxy:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)

    def _forward(self, request: Request) -> Action:
        headers = {k: v for k, v in request.headers.items() if k not in ("connection", "host")}
        headers["host"] = f"{self._target[0]}:{self._target[1]}"
        headers["connection"] = "close"
        head = f"{request.method} {request.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        with socket.create_connection(self._target, timeout=30) as upstream:
            upstream.sendall(head.encode("latin-1") + b"\r\n" + request.body)
            raw = bytearray()
            while chunk := upstream.recv(65536):
                raw += chunk
        self.forwarded.append(request)
        with self._lock:
            if self._drop > 0:
                self._drop -= 1
                return Action(drop=True)
        head_bytes, _, body = bytes(raw).partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        reply_headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                reply_headers[name.strip()] = value.strip()
        if any(line.lower().startswith("transfer-encoding: chunked") for line in lines):
            body = _dechunk(body)
        return Action(status, body, reply_headers)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
