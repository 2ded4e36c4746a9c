"""Content-addressed blob store: ``<root>/blobs/ab/cd/<sha256>``, written through ``<root>/tmp``.

Bytes land in a temp file while they are hashed; only a finished, verified file is moved into
place (atomically, by rename). No client string ever becomes a path: names come from digests.

A committed blob is *pinned* until its row is written (``release``) or the request fails
(``abandon``, which deletes it unless a row or another pin needs it). The collector
(``remove_unreferenced``, periodically) deletes only provably abandoned files: blobs older than
the grace period, unpinned and referenced by no row; temp files of processes that are gone.

Several processes may share the folder. Each names its temp files ``upload-<token>-…`` and
``model-<token>-…`` and holds ``leases/<token>.lock`` locked (``flock``) while it lives; the
kernel releases the lock when the process ends, however it ends. A temp file is abandoned when
its owner's lease can be locked by someone else (the owner is gone), or, with no lease at all
(an older version's file), when it is older than the grace period. A start never touches the
files of a live process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from evospikenet._writeback import Writeback

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
TEMP_PREFIX = "upload-"
SWEEP_PAGE = 1000
"""Blob digests checked against the rows per query batch by the collector."""
_TEMP_OWNER = re.compile(r"^(?:upload|model)-([0-9a-f]{16})-")


def _owner_gone(lease: Path) -> IO[bytes] | None:
    """The lease file, locked, when its process is gone (the caller closes it); else None."""
    try:
        handle = lease.open("rb")
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None  # its process holds it: alive
    return handle


class BlobTooLarge(Exception):
    """More bytes arrived than the writer allows."""


class DigestMismatch(Exception):
    """The bytes' sha256 is not the one the client announced."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"sha256 mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


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
        fd, name = tempfile.mkstemp(prefix=store.temp_prefix(TEMP_PREFIX), dir=store.tmp_dir)
        self._file = os.fdopen(fd, "wb")
        self.temp_path = Path(name)
        store.open_temps.add(self.temp_path)
        self._hash = hashlib.sha256()
        self.size = 0
        self._closed = False
        self._writeback = Writeback(fd)

    def write(self, data: bytes) -> None:
        """Append ``data``; raises ``BlobTooLarge`` past the limit."""
        self.size += len(data)
        if self._max_bytes is not None and self.size > self._max_bytes:
            raise BlobTooLarge(f"more than {self._max_bytes} bytes")
        self._hash.update(data)
        self._file.write(data)
        self._writeback.advance(self.size)

    def commit(self, expected_sha256: str | None = None) -> str:
        """Flush, fsync, verify and move the bytes into the store; returns the sha256, pinned
        until ``BlobStore.release`` or ``BlobStore.abandon``."""
        digest = self._hash.hexdigest()
        self._file.flush()
        self._writeback.stop()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        if expected_sha256 is not None and expected_sha256 != digest:
            self.discard()
            raise DigestMismatch(expected_sha256, digest)
        final = self._store.path_for(digest)
        with self._store.lock:
            self._store.pins[digest] += 1
            if final.exists():
                os.utime(final)  # fresh again: the collector's grace period starts over
                self.temp_path.unlink(missing_ok=True)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.temp_path, final)
        self._store.open_temps.discard(self.temp_path)
        _fsync_dir(final.parent)
        return digest

    def discard(self) -> None:
        """Throw the bytes away (idempotent)."""
        if not self._closed:
            self._writeback.stop()
            self._file.close()
            self._closed = True
        self.temp_path.unlink(missing_ok=True)
        self._store.open_temps.discard(self.temp_path)


class BlobStore:
    """The blob folder under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blob_dir = root / "blobs"
        self.tmp_dir = root / "tmp"
        self.lease_dir = root / "leases"
        self.token = uuid.uuid4().hex[:16]
        self.lock = threading.Lock()
        self.pins: Counter[str] = Counter()
        self.open_temps: set[Path] = set()
        self._lease: IO[bytes] | None = None

    def temp_prefix(self, kind: str) -> str:
        """``<kind><token>-``: the start of this process's temp names (``kind`` ends in -)."""
        return f"{kind}{self.token}-"

    def open(self) -> None:
        """Create the folders, take this process's lease, and delete temp files of processes
        that are gone (never those of a live one)."""
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.lease_dir.mkdir(parents=True, exist_ok=True)
        if self._lease is None:
            # locked before it appears under its name: no one can take it for a dead one's
            fd, name = tempfile.mkstemp(prefix=".lease-", dir=self.lease_dir)
            self._lease = os.fdopen(fd, "ab")
            fcntl.flock(self._lease, fcntl.LOCK_EX)
            os.replace(name, self.lease_dir / f"{self.token}.lock")

    def close(self) -> None:
        """Give the lease up (this process's temp files then count as abandoned)."""
        if self._lease is not None:
            (self.lease_dir / f"{self.token}.lock").unlink(missing_ok=True)
            self._lease.close()
            self._lease = None

    def remove_abandoned_temps(self, grace_seconds: float) -> int:
        """Delete temp files whose owner is gone (its lease lockable), with no lease and
        older than the grace period, or this process's own ``upload-*`` files older than the
        grace period that no writer holds open; returns how many."""
        cutoff = time.time() - grace_seconds
        gone: dict[str, IO[bytes]] = {}
        for lease in self.lease_dir.glob("*.lock"):
            if lease.stem != self.token and (handle := _owner_gone(lease)) is not None:
                gone[lease.stem] = handle
        live = {lease.stem for lease in self.lease_dir.glob("*.lock")} - set(gone)
        removed = 0
        try:
            for entry in list(self.tmp_dir.iterdir()):
                match = _TEMP_OWNER.match(entry.name)
                owner = match.group(1) if match else None
                if owner == self.token:
                    abandoned = (
                        entry.name.startswith(TEMP_PREFIX)
                        and entry not in self.open_temps
                        and self._older(entry, cutoff)
                    )
                elif owner in gone:
                    abandoned = True
                else:
                    abandoned = owner not in live and self._older(entry, cutoff)
                if abandoned:
                    _remove(entry)
                    removed += 1
        finally:
            for token, handle in gone.items():
                (self.lease_dir / f"{token}.lock").unlink(missing_ok=True)
                handle.close()
        return removed

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this digest lives (the digest is checked, never trusted)."""
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.blob_dir / sha256[:2] / sha256[2:4] / sha256

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        """A new temp-file writer."""
        return BlobWriter(self, max_bytes)

    def release(self, sha256: str) -> None:
        """Unpin a committed blob once its row is written."""
        with self.lock:
            self.pins[sha256] -= 1
            if self.pins[sha256] <= 0:
                del self.pins[sha256]

    def abandon(self, sha256: str, referenced: Callable[[str], bool]) -> bool:
        """Unpin a blob whose request failed after ``commit``, and delete it unless another
        request pins it or ``referenced(sha256)`` says a row needs it. True when deleted."""
        with self.lock:
            self.pins[sha256] -= 1
            if self.pins[sha256] > 0:
                return False
            del self.pins[sha256]
            if referenced(sha256):
                return False
            self.path_for(sha256).unlink(missing_ok=True)
            return True

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; returns its sha256 (pinned, see ``commit``)."""
        writer = self.writer()
        try:
            writer.write(data)
            return writer.commit()
        except BaseException:
            writer.discard()
            raise

    def put_file(self, source: Path) -> str:
        """Copy the file at ``source`` into the store; returns its sha256 (pinned)."""
        writer = self.writer()
        try:
            with source.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    writer.write(chunk)
            return writer.commit()
        except BaseException:
            writer.discard()
            raise

    def open_local(self, sha256: str) -> IO[bytes] | None:
        """The blob's file, open for reading (for ``sendfile``); None where it is not local."""
        return self.path_for(sha256).open("rb")

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

    def remove_unreferenced(
        self, referenced: Callable[[list[str]], set[str]], *, grace_seconds: float
    ) -> int:
        """Delete provably abandoned files; returns how many.

        Blobs: older than the grace period, not pinned, and not among ``referenced(page)``
        (asked after the page of candidates was listed, so a row written meanwhile protects its
        blob; asked only about candidates, ``SWEEP_PAGE`` at a time, never for every digest).
        A blob is moved into place before its row commits; a crash between the two leaves such
        a blob. Temp files: see ``remove_abandoned_temps``.
        """
        cutoff = time.time() - grace_seconds
        removed = 0
        page: list[str] = []
        for digest in self.all_digests():
            if self._older(self.path_for(digest), cutoff):
                page.append(digest)
            if len(page) >= SWEEP_PAGE:
                removed += self._remove_page(page, referenced, cutoff)
                page = []
        if page:
            removed += self._remove_page(page, referenced, cutoff)
        return removed + self.remove_abandoned_temps(grace_seconds)

    def _remove_page(
        self, page: list[str], referenced: Callable[[list[str]], set[str]], cutoff: float
    ) -> int:
        needed = referenced(page)
        removed = 0
        for digest in page:
            if digest in needed:
                continue
            path = self.path_for(digest)
            with self.lock:
                if self.pins[digest] == 0 and self._older(path, cutoff):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    @staticmethod
    def _older(path: Path, cutoff: float) -> bool:
        try:
            return path.stat().st_mtime <= cutoff
        except FileNotFoundError:
            return False

    def check(self) -> None:
        """Raise if the store cannot be written: a folder missing or not writable, a read-only
        or full file system. Metadata only: a probe file's create and unlink would queue behind
        the journal commits of large uploads' fsyncs (hundreds of ms under load)."""
        for folder in (self.blob_dir, self.tmp_dir):
            if not folder.is_dir():
                raise OSError(f"{folder} is not a folder")
            if not os.access(folder, os.W_OK | os.X_OK):
                raise OSError(f"{folder} is not writable")
        if os.statvfs(self.tmp_dir).f_bavail == 0:
            raise OSError(f"no free space for {self.tmp_dir}")
