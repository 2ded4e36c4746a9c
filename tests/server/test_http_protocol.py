"""The server's HTTP protocol: uvicorn's httptools (llhttp, in C), in one process and in workers,
with the request-head limits that llhttp does not enforce itself (``runner.http_protocol``): a
head over 16 KiB is a 400, whether it arrives at once or in pieces, and a head that does not
arrive in time closes the connection. Against a real ``evospikenet serve`` over loopback."""

from __future__ import annotations

import json
import select
import socket
import time
import uuid

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from evospikenet.server.runner import HEAD_TOO_LARGE, MAX_HEAD_BYTES, http_protocol

HEAD_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    from live_server import TEST_KEY, LiveServer

    server = LiveServer(
        tmp_path_factory.mktemp("protocol") / "data",
        api_key=TEST_KEY,
        env={
            "EVOSPIKENET_LOAD_MODELS": "false",
            "EVOSPIKENET_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
        },
    )
    server.start()
    yield server
    server.close()


def _connect(live) -> socket.socket:
    return socket.create_connection(("127.0.0.1", live.port), timeout=10)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    try:
        while piece := sock.recv(65536):
            answer += piece
    except ConnectionResetError:  # closed with some of our bytes unread: what came is complete
        pass
    return answer


def _one_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response's head and Content-Length body (the connection stays open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def _get(filler: int) -> bytes:
    """A GET request head with ``filler`` bytes in one header value."""
    return b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * filler + b"\r\n\r\n"


def _head_of(size: int) -> bytes:
    head = _get(size - len(_get(0)))
    assert len(head) == size
    return head


def test_one_process_and_workers_serve_httptools():
    assert issubclass(http_protocol(HEAD_TIMEOUT), HttpToolsProtocol)
    # run_workers names the protocol for uvicorn to import in each worker
    config = uvicorn.Config(app=None, http="evospikenet.server.workers:HttpProtocol")
    config.load()
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)


def test_a_head_at_the_limit_is_served(live):
    sock = _connect(live)
    try:
        sock.sendall(_head_of(MAX_HEAD_BYTES))
        assert _one_response(sock)[0].startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("size", "pieces"),
    [(17 * 1024, 1), (17 * 1024, 17), (MAX_HEAD_BYTES + 1, 1)],
    ids=["17-KiB-at-once", "17-KiB-in-pieces", "one-byte-over"],
)
def test_a_head_over_the_limit_is_400_and_closed(live, size, pieces):
    head = _head_of(size)
    sock = _connect(live)
    try:
        step = -(-len(head) // pieces)
        for start in range(0, len(head), step):
            sock.sendall(head[start : start + step])
            time.sleep(0.01 if pieces > 1 else 0)
        answer = _answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert answer.endswith(HEAD_TOO_LARGE.encode())


def test_a_head_that_never_ends_is_refused_before_it_is_complete(live):
    sock = _connect(live)
    try:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Filler: ")
        sent = 0
        while sent < 4 * MAX_HEAD_BYTES and not select.select([sock], [], [], 0.005)[0]:
            sock.sendall(b"a" * 1024)  # one header value, 1 KiB at a time, until an answer
            sent += 1024
        answer = _answer(sock)
    finally:
        sock.close()
    assert sent < 4 * MAX_HEAD_BYTES
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert answer.endswith(HEAD_TOO_LARGE.encode())


def test_a_body_does_not_count_as_head(live):
    """A 256 KiB upload sent with its head in one write is stored, and the same connection
    then serves another request."""
    with httpx.Client(base_url=live.base_url, headers=live.headers) as client:
        session_id = client.post("/api/sessions", json={"description": "protocol"}).json()[
            "session_id"
        ]
    boundary = uuid.uuid4().hex
    fields = {"session_id": session_id, "artifact_type": "dataset", "name": "big.bin"}
    form = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    form += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    form += b"\xab" * (256 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    upload = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: x\r\nX-API-Key: {live.api_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(form)}\r\n\r\n"
    ).encode()
    sock = _connect(live)
    try:
        sock.sendall(upload + form)
        head, body = _one_response(sock)
        assert head.startswith(b"HTTP/1.1 201"), (head, body)
        assert json.loads(body)["size"] == 256 * 1024
        sock.sendall(_get(0))
        assert _one_response(sock)[0].startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


@pytest.mark.parametrize("after_a_response", [False, True], ids=["new", "keep-alive"])
def test_a_slow_head_is_closed_in_time(live, after_a_response):
    sock = _connect(live)
    try:
        if after_a_response:
            sock.sendall(_get(0))
            assert _one_response(sock)[0].startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.2)
        closed = False
        while not closed and time.monotonic() - started < 8:
            try:
                sock.sendall(b"X-Slow: 1\r\n")  # a header line every 0.2 s: never complete
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    # closed by the head timeout, not by the 5 s keep-alive timeout
    assert closed and HEAD_TIMEOUT - 0.1 < elapsed < HEAD_TIMEOUT + 2, elapsed
