"""An upload over a raw socket whose end is held back, so a test can act while it is open."""

from __future__ import annotations

import os
import socket
from typing import Any

MIB = 1024 * 1024


def slow_upload(
    live: Any,
    session_id: str,
    *,
    name: str = "slow.bin",
    size: int = 3 * MIB,
    held_back: int = MIB,
    idempotency_key: str | None = None,
) -> tuple[socket.socket, bytes]:
    """Send all but the last ``held_back`` bytes of a ``size``-byte upload to ``live``;
    returns the socket and the rest (send it with ``finish_upload``)."""
    boundary = "slowuploadboundary"
    fields = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n{value}\r\n'
        for field, value in (
            ("session_id", session_id),
            ("artifact_type", "dataset"),
            ("name", name),
        )
    )
    head_fields = (
        f'{fields}--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    data = os.urandom(size)
    tail = f"\r\n--{boundary}--\r\n".encode()
    key = f"Idempotency-Key: {idempotency_key}\r\n" if idempotency_key else ""
    head = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: x\r\nX-API-Key: {live.api_key}\r\n{key}"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head_fields) + len(data) + len(tail)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=60)
    sock.sendall(head + head_fields + data[: size - held_back])
    return sock, data[size - held_back :] + tail


def finish_upload(sock: socket.socket, rest: bytes) -> bytes:
    """Send the rest and return the head of the answer (the socket is closed)."""
    try:
        sock.sendall(rest)
        answer = sock.recv(65536)
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        return answer
    finally:
        sock.close()
