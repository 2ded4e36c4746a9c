"""The blob store sends an upload's bytes on their way to disk while the rest still arrives
(``evospikenet._writeback``), so that the fsync of ``BlobWriter.commit`` finds little left to
write. Real files in a temp folder."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import pytest

from evospikenet import _writeback
from evospikenet.server.blobstore import BlobStore

MIB = 1024 * 1024
DATA = os.urandom(5 * MIB + 123)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The ranges sent to disk: (offset, count); also checks each was written already."""
    real = _writeback._START_WRITEBACK
    if real is None:
        pytest.skip("no sync_file_range here")
    ranges: list[tuple[int, int]] = []

    def watched(fd: int, offset: int, count: int) -> object:
        ranges.append((offset, count))
        return real(fd, offset, count)

    monkeypatch.setattr(_writeback, "WRITEBACK_EVERY", MIB)
    monkeypatch.setattr(_writeback, "_START_WRITEBACK", watched)
    return ranges


def test_an_upload_is_sent_to_disk_range_by_range_then_committed(
    tmp_path: Path, started: list[tuple[int, int]]
) -> None:
    store = BlobStore(tmp_path / "data")
    store.open()
    writer = store.writer()
    for offset in range(0, len(DATA), MIB):
        writer.write(DATA[offset : offset + MIB])
    digest = writer.commit(hashlib.sha256(DATA).hexdigest())
    assert store.path_for(digest).read_bytes() == DATA
    assert [offset for offset, _ in started[:1]] == [0] and len(started) == 5
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(started))


def test_a_discarded_upload_leaves_nothing(tmp_path: Path, started: list[tuple[int, int]]) -> None:
    store = BlobStore(tmp_path / "data")
    store.open()
    writer = store.writer()
    writer.write(DATA)
    writer.discard()
    assert started == [(0, len(DATA))]
    assert not writer.temp_path.exists() and not list(store.all_digests())
