"""Content-addressed blob store: ``<root>/blobs/ab/cd/<sha256>``, written through ``<root>/tmp``.

Bytes land in a temp file while they are hashed; only a finished, verified file is moved into
place (atomically, by rename). No client string ever becomes a path: names come from digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


class BlobTooLarge(Exception):
    """More bytes arrived than the writer allows."""


class DigestMismatch(Exception):
    """The bytes' sha256 is not the one the client announced."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"sha256 mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class BlobWriter:
    """Receives bytes into a temp file while hashing them; ``commit`` moves them into place."""

    def __init__(self, store: BlobStore, max_bytes: int | None) -> None:
        self._store = store
        self._max_bytes = max_bytes
        fd, name = tempfile.mkstemp(prefix="upload-", dir=store.tmp_dir)
        self._file = os.fdopen(fd, "wb")
        self.temp_path = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        """Append ``data``; raises ``BlobTooLarge`` past the limit."""
        self.size += len(data)
        if self._max_bytes is not None and self.size > self._max_bytes:
            raise BlobTooLarge(f"more than {self._max_bytes} bytes")
        self._hash.update(data)
        self._file.write(data)

    def commit(self, expected_sha256: str | None = None) -> str:
        """Flush, fsync, verify and move the bytes into the store; returns the sha256."""
        digest = self._hash.hexdigest()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        if expected_sha256 is not None and expected_sha256 != digest:
            self.discard()
            raise DigestMismatch(expected_sha256, digest)
        final = self._store.path_for(digest)
        if final.exists():
            self.temp_path.unlink(missing_ok=True)
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.temp_path, final)
            _fsync_dir(final.parent)
        return digest

    def discard(self) -> None:
        """Throw the bytes away (idempotent)."""
        if not self._closed:
            self._file.close()
            self._closed = True
        self.temp_path.unlink(missing_ok=True)


class BlobStore:
    """The blob folder under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs"
        self.tmp_dir = root / "tmp"

    def open(self) -> None:
        """Create the folders and delete temp files left by an interrupted run."""
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.clean_temp()

    def clean_temp(self) -> int:
        """Remove every leftover temp file; returns how many."""
        removed = 0
        for entry in self.tmp_dir.iterdir():
            if entry.is_file() or entry.is_symlink():
                entry.unlink(missing_ok=True)
                removed += 1
            elif entry.is_dir():
                for child in entry.iterdir():
                    child.unlink(missing_ok=True)
                entry.rmdir()
                removed += 1
        return removed

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this digest lives (the digest is checked, never trusted)."""
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.blob_dir / sha256[:2] / sha256[2:4] / sha256

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        """A new temp-file writer."""
        return BlobWriter(self, max_bytes)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its sha256."""
        writer = self.writer()
        try:
            writer.write(data)
            return writer.commit()
        except BaseException:
            writer.discard()
            raise

    def put_file(self, source: Path) -> str:
        """Copy the file at ``source`` into the store; returns its sha256."""
        writer = self.writer()
        try:
            with source.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    writer.write(chunk)
            return writer.commit()
        except BaseException:
            writer.discard()
            raise

    def read_range(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        """Yield the bytes ``start..end`` (inclusive) of a blob in chunks."""
        with self.path_for(sha256).open("rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def all_digests(self) -> Iterable[str]:
        """Every stored digest."""
        for path in self.blob_dir.glob("*/*/*"):
            if _SHA256.match(path.name):
                yield path.name

    def remove_unreferenced(self, referenced: set[str], *, grace_seconds: float) -> int:
        """Delete blobs that no row references and that are older than the grace period.

        A blob is moved into place before its row commits; a crash between the two leaves an
        unreferenced blob, collected here at the next start.
        """
        removed = 0
        cutoff = time.time() - grace_seconds
        for digest in list(self.all_digests()):
            if digest in referenced:
                continue
            path = self.path_for(digest)
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def check(self) -> None:
        """Raise if the store cannot be written."""
        probe = self.tmp_dir / f".probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
