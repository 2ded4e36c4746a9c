"""The sync client reads a plain download body from the socket into reused buffers, the async
client from httpcore's network stream in large reads, and both flush the temp file to disk while
they download (real servers on loopback, real files)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from faulty_server import Action, FaultyServer, Request

from evospikenet import _writeback
from evospikenet.sdk import (
    AsyncEvoSpikeNetAPIClient,
    EvoSpikeNetAPIClient,
    Timeout,
    _artifacts,
)

PAYLOAD = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(200_000))  # 6.4 MB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def whole(body: bytes = PAYLOAD) -> Action:
    return Action(200, body, {"ETag": f'"{SHA}"', "Content-Type": "application/octet-stream"})


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes taken by each direct socket read (``Sink.receive``) of the test."""
    counts: list[int] = []
    real = _artifacts.Sink.receive

    def spy(self: _artifacts.Sink, *args: Any) -> int:
        counts.append(real(self, *args))
        return counts[-1]

    monkeypatch.setattr(_artifacts.Sink, "receive", spy)
    return counts


def test_a_plain_body_is_read_from_the_socket_into_reused_buffers(
    tmp_path: Path, received: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_artifacts, "POOL_BUFFERS", 2)  # 6 pieces through 2 buffers
    with FaultyServer() as server:
        server.script(whole())
        client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)
        target = client.download_artifact("art_1", tmp_path / "big.bin")
    assert target.read_bytes() == PAYLOAD
    assert len(received) == 1 and 0 < received[0] < len(PAYLOAD)  # the rest came from httpx
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_get_artifact_reads_directly_too(received: list[int]) -> None:
    with FaultyServer() as server:
        server.script(whole())
        client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)
        assert client.get_artifact("art_1") == PAYLOAD
    assert len(received) == 1


def test_a_small_body_buffered_whole_by_httpx_is_taken_from_it(
    tmp_path: Path, received: list[int]
) -> None:
    small = b"tiny artifact"
    action = Action(200, small, {"ETag": f'"{hashlib.sha256(small).hexdigest()}"'})
    with FaultyServer() as server:
        server.script(action)
        client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)
        assert client.download_artifact("art_1", tmp_path / "s").read_bytes() == small
    assert received == []


@pytest.mark.skipif(_writeback._START_WRITEBACK is None, reason="no sync_file_range here")
def test_the_temp_file_is_sent_to_disk_range_by_range_while_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_writeback, "WRITEBACK_EVERY", 1024 * 1024)
    started: list[tuple[int, int]] = []
    real = _writeback._START_WRITEBACK
    assert real is not None

    def watched(fd: int, offset: int, count: int) -> object:
        assert os.fstat(fd).st_size >= offset + count  # only bytes already written
        started.append((offset, count))
        return real(fd, offset, count)

    monkeypatch.setattr(_writeback, "_START_WRITEBACK", watched)
    with FaultyServer() as server:
        server.script(whole())
        client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)
        assert client.download_artifact("art_1", tmp_path / "f").read_bytes() == PAYLOAD
    assert started and started[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(started))
    assert all(n >= 1024 * 1024 for _, n in started)


def test_without_sync_file_range_the_temp_file_is_synced_in_a_thread_while_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_writeback, "WRITEBACK_EVERY", 1024 * 1024)
    monkeypatch.setattr(_writeback, "_START_WRITEBACK", None)
    synced: list[int] = []
    real = getattr(os, "fdatasync", os.fsync)

    def counting(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real(fd)

    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", counting)
    with FaultyServer() as server:
        server.script(whole())
        client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)
        assert client.download_artifact("art_1", tmp_path / "f").read_bytes() == PAYLOAD
    assert synced and all(size > 0 for size in synced)
    assert len(synced) <= len(PAYLOAD) // (1024 * 1024)


# --- the async client: the rest of a plain body from httpcore's network stream -------------


@pytest.fixture
def async_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each piece the async client hands to its sink."""
    sizes: list[int] = []
    real = _artifacts._take_async

    async def spy(sink: _artifacts.Sink, chunk: bytes, bar: Any) -> None:
        sizes.append(len(chunk))
        await real(sink, chunk, bar)

    monkeypatch.setattr(_artifacts, "_take_async", spy)
    return sizes


def _async_download(server: FaultyServer, target: Path, **options: Any) -> Path:
    async def scenario() -> Path:
        async with AsyncEvoSpikeNetAPIClient(
            base_url=server.base_url, progress=False, **options
        ) as client:
            return await client.download_artifact("art_1", target)

    return asyncio.run(scenario())


def test_the_async_client_reads_past_httpx_from_the_network_stream(
    tmp_path: Path, async_chunks: list[int]
) -> None:
    with FaultyServer() as server:
        server.script(whole())
        target = _async_download(server, tmp_path / "big.bin")
    assert target.read_bytes() == PAYLOAD
    assert sum(async_chunks) == len(PAYLOAD)
    assert async_chunks[0] <= 64 * 1024 < max(async_chunks)  # httpx's buffer, then large reads
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_an_async_direct_read_that_stalls_times_out_and_resumes(
    tmp_path: Path, async_chunks: list[int]
) -> None:
    def ranged(request: Request) -> Action:
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        total = len(PAYLOAD)
        headers = {"ETag": f'"{SHA}"', "Content-Range": f"bytes {start}-{total - 1}/{total}"}
        return Action(206, PAYLOAD[start:], headers)

    with FaultyServer(handler=ranged) as server:
        stalling = whole()
        stalling.stall_after, stalling.stall_for = 2_000_000, 5
        server.script(stalling)
        timeout = Timeout(connect=1, read=0.4, write=1, pool=1)
        target = _async_download(server, tmp_path / "s.bin", transfer_timeout=timeout)
        ranges = [request.headers.get("range") for request in server.requests]
    assert target.read_bytes() == PAYLOAD
    assert ranges == [None, "bytes=2000000-"]  # timed out in the direct reads, then resumed
    assert sum(async_chunks) == len(PAYLOAD) and max(async_chunks) > 64 * 1024


def test_try_flush_hands_over_only_while_the_workers_have_room() -> None:
    release = threading.Event()

    class SlowSink(_artifacts.BufferSink):
        def _write(self, chunks: Any) -> None:
            release.wait(10)
            super()._write(chunks)

    sink = SlowSink()
    piece = b"x" * _artifacts.CHUNK
    handed = 0
    while sink.add(piece) and sink.try_flush():  # the writer is stuck: its queue fills up
        handed += 1
        assert handed <= _artifacts.QUEUE_DEPTH + 1
    assert handed >= _artifacts.QUEUE_DEPTH  # then try_flush refuses instead of blocking
    release.set()
    sink.finish()
    assert sink.buffer.getvalue() == piece * (handed + 1)
    assert sink.digest.hexdigest() == hashlib.sha256(piece * (handed + 1)).hexdigest()
