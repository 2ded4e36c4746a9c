"""Uploads of files on disk leave with ``sendfile`` (``evospikenet/sdk/_sendfile.py``): against
the real server (bytes and sha256 intact, sync and async, a file object read from its position)
and against raw sockets that misbehave the ways a server can while a body is being sent: it
answers early without reading, closes mid-body, or stops reading."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faulty_server import FaultyServer, json_reply
from inprocess_server import InProcessServer

import evospikenet.sdk._sendfile as sendfile_module
from evospikenet.sdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncEvoSpikeNetAPIClient,
    AuthenticationError,
    EvoSpikeNetAPIClient,
    PayloadTooLargeError,
)
from evospikenet.sdk._config import Timeout

MIB = 1024 * 1024


@pytest.fixture
def sendfile_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes sent by each real ``os.sendfile`` call of the SDK's upload path."""
    calls: list[int] = []
    real = os.sendfile

    def watched(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
        sent = real(out_fd, in_fd, offset, count)
        calls.append(sent)
        return sent

    monkeypatch.setattr(sendfile_module.os, "sendfile", watched)
    return calls


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with InProcessServer(tmp_path_factory.mktemp("server")) as live:
        yield live


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(24 * MIB + 13))
    return path


def _session(client: EvoSpikeNetAPIClient) -> str:
    return client.create_log_session("sendfile uploads").session_id


def test_a_file_on_disk_leaves_with_sendfile_and_arrives_intact(
    server: InProcessServer, big_file: Path, tmp_path: Path, sendfile_calls: list[int]
) -> None:
    client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    artifact = client.upload_artifact(_session(client), "model", "weights.bin", big_file)
    assert sum(sendfile_calls) == big_file.stat().st_size
    data = big_file.read_bytes()
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert artifact.size == len(data)
    client.download_artifact(artifact.artifact_id, tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data


def test_a_file_object_is_sent_from_its_position(
    server: InProcessServer, big_file: Path, sendfile_calls: list[int]
) -> None:
    client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    with big_file.open("rb") as handle:
        handle.seek(1000)
        artifact = client.upload_artifact(_session(client), "model", "tail.bin", handle)
    tail = big_file.read_bytes()[1000:]
    assert sum(sendfile_calls) == len(tail)
    assert (artifact.size, artifact.sha256) == (len(tail), hashlib.sha256(tail).hexdigest())


def test_bytes_in_memory_take_the_ordinary_path(
    server: InProcessServer, sendfile_calls: list[int]
) -> None:
    client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    data = os.urandom(3 * MIB)
    artifact = client.upload_artifact(_session(client), "model", "mem.bin", data)
    assert sendfile_calls == []
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()


def test_the_async_client_sends_with_sendfile_off_the_event_loop(
    server: InProcessServer, big_file: Path, sendfile_calls: list[int]
) -> None:
    loop_threads: set[int] = set()

    async def upload() -> Any:
        loop_threads.add(threading.get_ident())
        async with AsyncEvoSpikeNetAPIClient(
            base_url=server.base_url, api_key=server.api_key
        ) as client:
            session = await client.create_log_session("async sendfile")
            return await client.upload_artifact(
                session.session_id, "model", "weights.bin", big_file
            )

    real = sendfile_module.os.sendfile
    threads: set[int] = set()

    def where(*args: Any) -> int:
        threads.add(threading.get_ident())
        return int(real(*args))

    sendfile_module.os.sendfile = where
    try:
        artifact = asyncio.run(upload())
    finally:
        sendfile_module.os.sendfile = real
    assert threads and not threads & loop_threads
    assert sum(sendfile_calls) == big_file.stat().st_size
    assert artifact.sha256 == hashlib.sha256(big_file.read_bytes()).hexdigest()


def test_an_early_refusal_is_reported_as_the_servers_answer(
    server: InProcessServer, big_file: Path
) -> None:
    client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    session = _session(client)
    wrong_key = EvoSpikeNetAPIClient(base_url=server.base_url, api_key="not-the-key")
    with pytest.raises(AuthenticationError):
        wrong_key.upload_artifact(session, "model", "weights.bin", big_file)


class RawServer:
    """One behaviour for every connection, on a raw socket: ``serve(conn)`` runs per
    connection in a thread; ``connections`` counts them."""

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self.closed_by_client = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            self._serve(conn)


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            break
        data += piece
    return data


def _problem(status: int, reason: str) -> bytes:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": reason,
            "status": status,
            "code": "ART_003",
            "detail": "file: larger than this server accepts",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/problem+json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def test_an_answer_sent_without_reading_the_body_is_heard(big_file: Path) -> None:
    hold = threading.Event()

    def refuse_and_hold(conn: socket.socket) -> None:
        _read_head(conn)
        conn.sendall(_problem(413, "Content Too Large"))
        hold.wait(30)  # never reads the body, never closes

    with RawServer(refuse_and_hold) as raw:
        client = EvoSpikeNetAPIClient(base_url=raw.base_url, api_key="k", max_retries=0)
        started = time.monotonic()
        try:
            with pytest.raises(PayloadTooLargeError):
                client.upload_artifact("ses_1", "model", "weights.bin", big_file)
        finally:
            hold.set()
    assert time.monotonic() - started < 10  # not the 60 s write timeout


def test_a_connection_closed_mid_body_is_retried_then_reported(big_file: Path) -> None:
    def read_some_then_close(conn: socket.socket) -> None:
        received = len(_read_head(conn))
        while received < 2 * MIB and (piece := conn.recv(65536)):
            received += len(piece)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")

    with RawServer(read_some_then_close) as raw:
        client = EvoSpikeNetAPIClient(base_url=raw.base_url, api_key="k", max_retries=2)
        client._engine.sleep = lambda seconds: None  # type: ignore[method-assign]  # no backoff
        with pytest.raises(APIConnectionError):
            client.upload_artifact("ses_1", "model", "weights.bin", big_file)
    assert raw.connections == 3


def test_a_server_that_stops_reading_times_out(big_file: Path) -> None:
    hold = threading.Event()

    def stop_reading(conn: socket.socket) -> None:
        _read_head(conn)
        hold.wait(30)

    with RawServer(stop_reading) as raw:
        client = EvoSpikeNetAPIClient(
            base_url=raw.base_url,
            api_key="k",
            max_retries=0,
            transfer_timeout=Timeout(connect=5, read=5, write=0.5, pool=5),
        )
        try:
            with pytest.raises(APITimeoutError):
                client.upload_artifact("ses_1", "model", "weights.bin", big_file)
        finally:
            hold.set()


@pytest.mark.parametrize(
    "timeout", [Timeout(None, None, None, None), Timeout()], ids=["no-timeout", "timeouts"]
)
def test_cancelling_an_async_upload_stops_its_send_while_it_is_blocked(
    big_file: Path, timeout: Timeout, monkeypatch: pytest.MonkeyPatch
) -> None:
    hold = threading.Event()
    sent_off = threading.Event()
    real_send_upload = sendfile_module.send_upload

    def watched(*args: Any) -> Any:
        try:
            return real_send_upload(*args)
        finally:
            sent_off.set()  # the worker thread let go of the connection

    monkeypatch.setattr(sendfile_module, "send_upload", watched)

    def never_read(conn: socket.socket) -> None:
        _read_head(conn)
        hold.wait(30)  # never reads: the client's send stays blocked

    async def upload_then_cancel(base_url: str) -> bool:
        async with AsyncEvoSpikeNetAPIClient(
            base_url=base_url, api_key="k", transfer_timeout=timeout
        ) as client:
            task = asyncio.create_task(
                client.upload_artifact("ses_1", "model", "weights.bin", big_file)
            )
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            stopped = await asyncio.to_thread(sent_off.wait, 5)
            hold.set()  # let a send that did not stop fail, so the test can end
            return stopped

    with RawServer(never_read) as raw:
        assert asyncio.run(upload_then_cancel(raw.base_url)), "the cancelled send went on"


def test_a_proxied_upload_goes_through_the_proxy_not_sendfile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sendfile_calls: list[int]
) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(os.urandom(64 * 1024))
    digest = hashlib.sha256(small.read_bytes()).hexdigest()
    artifact = {
        "artifact_id": "art_1",
        "session_id": "ses_1",
        "artifact_type": "model",
        "name": "small.bin",
        "llm_type": None,
        "size": 64 * 1024,
        "sha256": digest,
        "content_type": "application/octet-stream",
        "created_at": "2026-12-03T00:00:00Z",
    }
    with FaultyServer(lambda request: json_reply(201, artifact)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        target = "http://api.evospikenet.invalid"
        with EvoSpikeNetAPIClient(base_url=target, api_key="k", max_retries=0) as client:
            assert client.upload_artifact("ses_1", "model", "small.bin", small).sha256 == digest
        (seen,) = proxy.requests
    assert seen.path == f"{target}/api/artifacts"  # absolute form: sent via the proxy
    assert digest.encode() in seen.body and small.read_bytes() in seen.body
    assert sendfile_calls == []
