"""Zero-copy downloads (``evospikenet.server.zerocopy``): the server's httptools protocol offers
ASGI's ``http.response.zerocopysend`` on plain connections and sends such a body with
``loop.sendfile``; artifact downloads use it. Real uvicorn servers in a thread of the test
process on loopback ports (so that ``loop.sendfile`` can be watched), real files, real sockets.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from evospikenet.server.app import create_app
from evospikenet.server.runner import http_protocol
from evospikenet.server.settings import Settings
from evospikenet.server.zerocopy import ZERO_COPY_SEND

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "simulation"))
from sim_tls import issue, make_ca

API_KEY = "zero-copy-key"
FILE_BYTES = os.urandom(3 * 1024 * 1024 + 17)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """``app`` served by uvicorn with the server's own protocol, in a thread."""

    def __init__(self, app: Any, **config: Any) -> None:
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                http=http_protocol(10.0),
                log_config=None,
                access_log=False,
                **config,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no server"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """Every ``loop.sendfile`` of the test's servers: (offset, count)."""
    calls: list[tuple[int, int | None]] = []
    real = asyncio.BaseEventLoop.sendfile

    async def watched(self: Any, transport: Any, file: Any, offset: int = 0, count: Any = None,
                      **kwargs: Any) -> int:  # fmt: skip
        calls.append((offset, count))
        return await real(self, transport, file, offset, count, **kwargs)

    monkeypatch.setattr(asyncio.BaseEventLoop, "sendfile", watched)
    return calls


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(FILE_BYTES)
    return path


def _file_app(path: Path) -> Any:
    """An ASGI app: ``/ext`` tells whether the extension is offered; ``/file?o&n`` sends
    ``n`` bytes from offset ``o`` with it (``&claim=K``: a Content-Length of K instead)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = dict(p.split("=") for p in scope["query_string"].decode().split("&") if p)
        if scope["path"] == "/ext":
            body = json.dumps(ZERO_COPY_SEND in scope.get("extensions", {})).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(len(body)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        offset, count = int(query["o"]), int(query["n"])
        claim = int(query.get("claim", count))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(claim).encode())]})  # fmt: skip
        with path.open("rb") as file:
            await send({"type": ZERO_COPY_SEND, "file": file, "offset": offset, "count": count})

    return app


def test_a_range_is_sent_whole_and_the_connection_is_kept(data_file, sendfile_calls):
    with Served(_file_app(data_file)) as served, httpx.Client() as client:
        base = f"http://127.0.0.1:{served.port}"
        assert client.get(f"{base}/ext").json() is True
        whole = client.get(f"{base}/file?o=0&n={len(FILE_BYTES)}")
        part = client.get(f"{base}/file?o=1000&n=70000")  # the same keep-alive connection
        empty = client.get(f"{base}/file?o=5&n=0")
    assert whole.content == FILE_BYTES
    assert part.content == FILE_BYTES[1000:71000]
    assert empty.status_code == 200 and empty.content == b""
    assert (0, len(FILE_BYTES)) in sendfile_calls and (1000, 70000) in sendfile_calls


def test_more_than_the_content_length_is_refused_and_a_short_file_closes(data_file):
    with Served(_file_app(data_file)) as served, httpx.Client() as client:
        base = f"http://127.0.0.1:{served.port}"
        with pytest.raises(httpx.RemoteProtocolError):  # headers out, then the error: closed
            client.get(f"{base}/file?o=0&n=100&claim=10")
        size = len(FILE_BYTES)
        with pytest.raises(httpx.RemoteProtocolError):  # the file ends 10 bytes early
            client.get(f"{base}/file?o={size - 90}&n=100")
        assert client.get(f"{base}/ext").json() is True  # the server goes on


def test_a_client_that_leaves_mid_file_does_not_stop_the_server(data_file):
    with Served(_file_app(data_file)) as served:
        with socket.create_connection(("127.0.0.1", served.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(f"GET /file?o=0&n={len(FILE_BYTES)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(0.3)  # the server's sendfile meets the closed socket
        assert httpx.get(f"http://127.0.0.1:{served.port}/ext").json() is True


def test_not_offered_over_tls(data_file, tmp_path):
    ca = make_ca(tmp_path, "ca")
    cert, key = issue(ca, tmp_path, "server", server=True)
    context = ssl.create_default_context(cafile=str(ca.pem))
    with Served(_file_app(data_file), ssl_certfile=str(cert), ssl_keyfile=str(key)) as served:
        answer = httpx.get(f"https://127.0.0.1:{served.port}/ext", verify=context)
    assert answer.json() is False


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    """The real EvoSpikeNet app, served with the server's protocol."""
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path / "data", port=port, api_keys=(API_KEY,), load_models=False
    )
    with Served(create_app(settings)) as served:
        yield f"http://127.0.0.1:{served.port}"


def test_artifact_downloads_use_sendfile(api, sendfile_calls):
    headers = {"X-API-Key": API_KEY}
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        session = client.post("/api/sessions", json={"description": "zero copy"}).json()
        uploaded = client.post(
            "/api/artifacts",
            data={"session_id": session["session_id"], "artifact_type": "model", "name": "m.bin"},
            files={"file": ("m.bin", FILE_BYTES, "application/octet-stream")},
        )
        assert uploaded.status_code == 201, uploaded.text
        url = f"/api/artifacts/{uploaded.json()['artifact_id']}/download"
        whole = client.get(url)
        ranged = client.get(url, headers={"Range": "bytes=100-199"})
    assert whole.status_code == 200 and whole.content == FILE_BYTES
    assert whole.headers["etag"] == f'"{hashlib.sha256(FILE_BYTES).hexdigest()}"'
    assert ranged.status_code == 206 and ranged.content == FILE_BYTES[100:200]
    assert sendfile_calls == [(0, len(FILE_BYTES)), (100, 100)]
