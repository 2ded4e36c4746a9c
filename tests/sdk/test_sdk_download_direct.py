"""The sync client reads a plain download body from the socket into reused buffers, and flushes
the temp file to disk while it downloads (real servers on loopback, real files)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from faulty_server import Action, FaultyServer

from evospikenet.sdk import EvoSpikeNetAPIClient, _artifacts

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


def test_the_temp_file_is_flushed_to_disk_while_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_artifacts, "SYNC_EVERY", 1024 * 1024)
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
