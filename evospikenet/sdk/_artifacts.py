"""Artifact file handling: what to upload (hashed while it is sent), zipping folders, and
downloads that either land whole and verified at the destination or not at all.

Downloads never destroy user data: temp files live beside the destination under hidden names,
are locked while in use (``flock``) and are swept by the next download to the same place once
their owner is gone (e.g. SIGKILLed); extraction refuses a destination folder that is not empty
and stops at :class:`ExtractLimits` (zip bombs), leaving nothing partial behind.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import io
import os
import queue
import re
import shutil
import socket
import ssl
import stat
import tempfile
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpcore
import httpx

from .._writeback import Writeback
from ._errors import ArtifactIntegrityError
from ._progress import Progress

try:
    import fcntl
except ImportError:  # pragma: no cover (Windows: an open file cannot be removed there)
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DIGEST_SEGMENT",
    "FILE_SEGMENT",
    "AsyncUploadStream",
    "BufferSink",
    "ExtractLimits",
    "FileSink",
    "Sink",
    "UploadBody",
    "UploadSource",
    "UploadStream",
    "extract_zip",
    "parse_content_range_start",
    "parse_etag",
    "prepare_upload",
    "receive_body",
    "receive_body_async",
    "zip_directory",
]

CHUNK = 1024 * 1024
#: Chunks a download's hashing or writing thread may lag behind the network (memory bound).
QUEUE_DEPTH = 8
#: Reused :data:`CHUNK` buffers a download body is received into (see :meth:`Sink.receive`).
POOL_BUFFERS = QUEUE_DEPTH
_RESET = object()
_STOP = object()
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

FileInput = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

#: A leftover younger than this is never swept (its owner may be about to lock it).
STALE_GRACE_SECONDS = 2.0
ENV_EXTRACT_MAX_BYTES = "EVOSPIKENET_EXTRACT_MAX_BYTES"
ENV_EXTRACT_MAX_FILES = "EVOSPIKENET_EXTRACT_MAX_FILES"
ENV_EXTRACT_MAX_RATIO = "EVOSPIKENET_EXTRACT_MAX_RATIO"


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds on what ``download_artifact(..., extract=True)`` writes.

    ``max_bytes``: total uncompressed bytes; ``max_files``: number of members; ``max_ratio``:
    uncompressed size over the archive's size (archives under 1 MiB uncompressed are exempt).
    Each can be set with ``$EVOSPIKENET_EXTRACT_MAX_BYTES``, ``..._MAX_FILES`` and
    ``..._MAX_RATIO``.
    """

    max_bytes: int = 4 * 1024**3
    max_files: int = 10_000
    max_ratio: float = 100.0

    @classmethod
    def from_env(cls) -> ExtractLimits:
        """The defaults, overridden by the environment variables."""
        default = cls()
        return cls(
            max_bytes=int(os.environ.get(ENV_EXTRACT_MAX_BYTES, default.max_bytes)),
            max_files=int(os.environ.get(ENV_EXTRACT_MAX_FILES, default.max_files)),
            max_ratio=float(os.environ.get(ENV_EXTRACT_MAX_RATIO, default.max_ratio)),
        )


def _try_lock(fd: int) -> bool:
    """Take an exclusive advisory lock on ``fd`` without waiting; False when someone holds it."""
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def sweep_leftovers(folder: Path, pattern: str) -> list[Path]:
    """Remove this module's temp files/folders in ``folder`` matching ``pattern`` whose owner is
    gone: not locked and older than :data:`STALE_GRACE_SECONDS`. Returns what was removed."""
    removed: list[Path] = []
    now = time.time()
    for name in glob.glob(pattern, root_dir=folder, include_hidden=True):
        path = folder / name
        try:
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or now - info.st_mtime < STALE_GRACE_SECONDS:
                continue
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            try:
                if not _try_lock(fd):
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(path)
                else:
                    path.unlink()
            finally:
                os.close(fd)
        except OSError:
            continue
        removed.append(path)
    return removed


class _Held:
    """An exclusive lock on a temp file or folder for as long as this process uses it."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        _try_lock(self.fd)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass
class UploadSource:
    """A file ready to upload: a seekable binary stream, its byte range and name."""

    stream: IO[bytes]
    start: int
    size: int
    filename: str
    _cleanup: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Close what this source opened itself (never the caller's file)."""
        for item in self._cleanup:
            item.close()
        self._cleanup.clear()


class UploadBody:
    """A read-only window ``[start, start+size)`` over a stream, reporting progress.

    httpx seeks file bodies to 0 before sending them; here 0 is ``start``, so every (re)try
    sends exactly the bytes that were hashed.
    """

    def __init__(self, source: UploadSource, progress: Progress | None = None) -> None:
        self._source = source
        self._pos = 0
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all remaining when negative)."""
        remaining = self._source.size - self._pos
        if remaining <= 0:
            return b""
        n = remaining if n is None or n < 0 else min(n, remaining)
        self._source.stream.seek(self._source.start + self._pos)
        data = self._source.stream.read(n)
        self._pos += len(data)
        if self._progress is not None:
            self._progress.update(len(data))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move within the window."""
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._source.size}[whence]
        self._pos = max(0, base + offset)
        if self._pos == 0 and self._progress is not None:
            self._progress.reset(self._source.size)
        return self._pos

    def tell(self) -> int:
        """The position within the window."""
        return self._pos


#: The ``sha256`` value an :class:`UploadStream` replaces with the file's digest.
DIGEST_PLACEHOLDER = "0" * 64
#: The segments of :attr:`UploadStream.segments` that stand for the file's bytes and its digest.
FILE_SEGMENT = "file"
DIGEST_SEGMENT = "sha256"
MultipartParts = Sequence[tuple[str, tuple[str | None, Any, str]]]


def _param(value: str) -> str:
    """A quoted-string's content in a part's ``Content-Disposition`` (as browsers and httpx)."""
    escaped = value.replace("\\", "\\\\").replace('"', "%22")
    return escaped.replace("\r", "%0D").replace("\n", "%0A")


class UploadStream:
    """A multipart body sent in one pass, with 1 MiB reads: the parts in the order given,
    the ``file`` part's bytes hashed by a worker thread while they are sent, and the
    ``sha256`` part (after the file) carrying that digest, which the server checks before it
    stores anything. Its length is known beforehand (``Content-Length``); each iteration (a
    retry) sends identical bytes."""

    def __init__(
        self,
        parts: MultipartParts,
        source: UploadSource,
        progress: Progress | None,
        boundary: str,
    ) -> None:
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.source = source
        self.progress = progress
        #: Set when an async caller is cancelled: a send in a worker thread stops soon after.
        self.cancelled = threading.Event()
        self._body = UploadBody(source, progress)
        self._segments: list[bytes | str] = []
        head = bytearray()
        for name, (filename, value, media_type) in parts:
            disposition = f'form-data; name="{_param(name)}"'
            if filename is not None:
                disposition += f'; filename="{_param(filename)}"'
            head += (
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                f"Content-Type: {media_type}\r\n\r\n"
            ).encode()
            if name in (FILE_SEGMENT, DIGEST_SEGMENT):
                self._segments += [bytes(head), name]
                head = bytearray(b"\r\n")
            else:
                head += value + b"\r\n"
        head += f"--{boundary}--\r\n".encode()
        self._segments.append(bytes(head))
        self.length = sum(
            len(segment)
            if isinstance(segment, bytes)
            else (source.size if segment == FILE_SEGMENT else len(DIGEST_PLACEHOLDER))
            for segment in self._segments
        )

    @property
    def segments(self) -> tuple[bytes | str, ...]:
        """The body in order: literal bytes, :data:`FILE_SEGMENT` (the source's bytes) and
        :data:`DIGEST_SEGMENT` (their sha256 in hex)."""
        return tuple(self._segments)

    def __iter__(self) -> Iterator[bytes]:
        return self.pieces()

    def pieces(self) -> Generator[bytes]:
        """The body, piece by piece."""
        digest = hashlib.sha256()
        for segment in self._segments:
            if isinstance(segment, bytes):
                yield segment
            elif segment == FILE_SEGMENT:
                yield from self._file_pieces(digest)
            else:
                yield digest.hexdigest().encode()

    def _file_pieces(self, digest: Any) -> Generator[bytes]:
        self._body.seek(0)
        hasher = _Stage("evospikenet-sha256", digest.update, _nothing)
        try:
            while piece := self._body.read(CHUNK):
                hasher.put(piece)
                yield piece
        finally:
            hasher.stop()
        if hasher.error is not None:
            raise hasher.error


class AsyncUploadStream(UploadStream):
    """:class:`UploadStream` for the async client: each piece is read (and queued for hashing)
    in a worker thread, never on the event loop."""

    __iter__ = None  # type: ignore[assignment]  # httpx must see an async body only

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pieces = self.pieces()
        try:
            while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
                yield piece
        finally:
            await asyncio.to_thread(pieces.close)


def _nothing() -> None:
    return None


def _size_from(stream: IO[bytes], start: int) -> int:
    end = stream.seek(0, os.SEEK_END)
    stream.seek(start)
    return max(0, end - start)


def zip_directory(folder: Path, out: IO[bytes]) -> None:
    """Write ``folder``'s regular files (symlinks skipped) into a zip, deterministically:
    sorted entries, fixed timestamps, names relative to the folder."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for filename in sorted(files):
                path = Path(root) / filename
                if path.is_symlink() or not path.is_file():
                    continue
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with path.open("rb") as src, archive.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)


def _name_of(file: Any, fallback: str) -> str:
    name = getattr(file, "name", None)
    if isinstance(name, str) and name and not name.startswith("<"):
        return os.path.basename(name) or fallback
    return fallback


def prepare_upload(file: FileInput, name: str) -> UploadSource:
    """Turn any accepted ``file`` argument into an :class:`UploadSource` (never read whole: its
    sha256 is computed while it is sent, see :class:`UploadStream`).

    Accepts a path to a file, a path to a folder (zipped into a temp file), bytes, or a binary
    file object (read from its current position; a non-seekable one is spooled first).
    Raises ValueError naming ``file`` for anything else.
    """
    if isinstance(file, str | os.PathLike):
        path = Path(os.fspath(file)).expanduser()
        if path.is_dir():
            spool = tempfile.TemporaryFile(prefix="evospikenet-upload-", suffix=".zip")  # noqa: SIM115 (closed by UploadSource.close)
            try:
                zip_directory(path, spool)
                size = _size_from(spool, 0)
            except BaseException:
                spool.close()
                raise
            zip_name = name if name.endswith(".zip") else f"{path.name or 'folder'}.zip"
            return UploadSource(spool, 0, size, zip_name, [spool])
        if not path.is_file():
            raise ValueError(f"file: no such file or folder: {str(path)!r}")
        handle = path.open("rb")
        return UploadSource(handle, 0, _size_from(handle, 0), path.name, [handle])
    if isinstance(file, bytes | bytearray | memoryview):
        buffer = io.BytesIO(bytes(file))
        return UploadSource(buffer, 0, len(buffer.getbuffer()), name, [buffer])
    if not callable(getattr(file, "read", None)):
        raise ValueError(
            "file: expected a binary file object (e.g. io.BytesIO), bytes, or a path; "
            f"got {type(file).__name__}"
        )
    if isinstance(file, io.TextIOBase) or "b" not in getattr(file, "mode", "b"):
        raise ValueError("file: open the file in binary mode ('rb'), not text mode")
    filename = _name_of(file, name)
    seekable = getattr(file, "seekable", None)
    if callable(seekable) and seekable():
        start = file.tell()
        return UploadSource(file, start, _size_from(file, start), filename)
    spooled = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by UploadSource.close)
        max_size=8 * CHUNK, prefix="evospikenet-upload-"
    )
    size = 0
    while chunk := file.read(CHUNK):
        if not isinstance(chunk, bytes):
            spooled.close()
            raise ValueError("file: the file object returned text; open it in binary mode")
        spooled.write(chunk)
        size += len(chunk)
    spooled.seek(0)
    stream: IO[bytes] = spooled
    return UploadSource(stream, 0, size, filename, [spooled])


def parse_etag(value: str | None) -> str | None:
    """The lowercase sha256 in an ETag such as ``"<hex>"`` (weak tags ignored), or None."""
    if not value or value.startswith("W/"):
        return None
    tag = value.strip().strip('"').lower()
    return tag if _SHA256_HEX.match(tag) else None


def parse_content_range_start(value: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``, or None."""
    match = re.match(r"^bytes (\d+)-\d+/(\d+|\*)$", (value or "").strip())
    return int(match.group(1)) if match else None


class _Stage:
    """One worker thread applying ``work`` to each queued chunk in order (``_RESET`` calls
    ``reset`` instead), at most :data:`QUEUE_DEPTH` chunks behind; its first error is kept
    and later chunks are dropped."""

    def __init__(self, name: str, work: Callable[[Any], object], reset: Callable[[], object]):
        self._work = work
        self._reset = reset
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: object) -> None:
        self._queue.put(item)

    def full(self) -> bool:
        """True while a :meth:`put` would wait."""
        return self._queue.full()

    def stop(self) -> None:
        """Wait until every queued chunk is done, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            try:
                if self.error is not None:
                    continue
                if item is _RESET:
                    self._reset()
                else:
                    self._work(item)
            except BaseException as exc:  # raised by Sink.finish in the caller
                self.error = exc
            finally:
                if isinstance(item, _Loan):
                    item.give_back()


class _Loan(list[memoryview]):
    """One pooled buffer's received bytes, shared by the stages; the buffer goes back to the
    pool when the last stage is done with it."""

    def __init__(
        self, view: memoryview, buffer: bytearray, pool: queue.Queue[bytearray], users: int
    ):
        super().__init__([view])
        self._buffer = buffer
        self._pool = pool
        self._users = users
        self._lock = threading.Lock()

    def give_back(self) -> None:
        with self._lock:
            self._users -= 1
            last = self._users == 0
        if last:
            self.clear()
            self._pool.put(self._buffer)


class Sink:
    """Where downloaded bytes go, hashed and counted as they arrive.

    :meth:`add` gathers network reads, uncopied, into batches of :data:`CHUNK` bytes;
    :meth:`flush` only queues a batch: one worker thread hashes it and another stores it
    (hashlib and file writes release the GIL), while the caller reads the next from the network.
    At most :data:`QUEUE_DEPTH` batches wait in each queue, so memory stays bounded.
    :meth:`finish` waits for both and raises what they raised; the async client calls it,
    :meth:`verify` and ``commit`` in a worker thread, never on its loop.
    """

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.etag: str | None = None
        self.expected_size: int | None = None
        self._stages: list[_Stage] = []
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._pool: queue.Queue[bytearray] | None = None

    def add(self, chunk: bytes) -> bool:
        """Take bytes as they arrive (counted at once); True when a whole :data:`CHUNK` waits
        for :meth:`flush`. Bytes not flushed yet stay here across a resumed attempt."""
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        self.size += len(chunk)
        return self._pending_size >= CHUNK

    def flush(self) -> None:
        """Hand the waiting bytes to the workers (blocks while they are :data:`QUEUE_DEPTH`
        chunks behind); raise a worker's error."""
        self._raise_stage_error()
        if not self._pending:
            return
        data, self._pending, self._pending_size = self._pending, [], 0
        self._submit(data)

    def try_flush(self) -> bool:
        """:meth:`flush` when it cannot block (every worker has room for one more batch; only
        the caller adds to their queues), else False and nothing is handed over."""
        if any(stage.full() for stage in self._stages):
            return False
        self.flush()
        return True

    def _workers(self) -> list[_Stage]:
        """The hashing and storing threads (started on first use)."""
        if not self._stages:
            self._stages = [
                _Stage("evospikenet-sha256", self._hash, self._new_digest),
                _Stage("evospikenet-write", self._write, self._truncate),
            ]
        return self._stages

    def _submit(self, data: list[bytes] | _Loan) -> None:
        for stage in self._workers():
            stage.put(data)

    def receive(self, recv_into: Callable[[memoryview], int], size: int, progress: Progress) -> int:
        """Take ``size`` more bytes from ``recv_into`` (``socket.recv_into``: bytes read, 0 at
        the end), read straight into :data:`POOL_BUFFERS` reused :data:`CHUNK` buffers that
        the workers hash and store: no copy and no allocation per read. Returns the bytes
        taken, fewer than ``size`` when the stream ended early; what was read before an
        error is kept (a resumed attempt continues after it)."""
        self.flush()
        if self._pool is None:
            self._pool = queue.Queue()
            for _ in range(POOL_BUFFERS):
                self._pool.put(bytearray(CHUNK))
        taken = 0
        while taken < size:
            self._raise_stage_error()
            buffer = self._pool.get()
            view = memoryview(buffer)[: min(CHUNK, size - taken)]
            filled = 0
            try:
                while filled < len(view) and (n := recv_into(view[filled:])):
                    filled += n
            finally:
                self.size += filled
                taken += filled
                progress.update(filled)
                if filled:
                    loan = _Loan(view[:filled], buffer, self._pool, len(self._workers()))
                    self._submit(loan)
                else:
                    self._pool.put(buffer)
            if filled < len(view):
                break
        return taken

    def write(self, chunk: bytes) -> None:
        """Append bytes (:meth:`add` then :meth:`flush`)."""
        self.add(chunk)
        self.flush()

    def reset(self) -> None:
        """Forget what was written (the server sent the whole file again)."""
        self.size = 0
        self._pending, self._pending_size = [], 0
        if self._stages:
            for stage in self._stages:
                stage.put(_RESET)
        else:
            self._new_digest()
            self._truncate()

    def finish(self) -> None:
        """Wait until every byte taken is hashed and stored; raise a worker's error."""
        self.flush()
        self.close()
        self._raise_stage_error()

    def close(self) -> None:
        """Stop the workers once they are done (their errors are kept for :meth:`finish`)."""
        for stage in self._stages:
            stage.stop()

    def verify(self, what: str) -> str:
        """Check length and sha256 against what the server announced; the sha256 on success."""
        self.finish()
        actual = self.digest.hexdigest()
        if self.expected_size is not None and self.size != self.expected_size:
            raise ArtifactIntegrityError(
                f"{what}: received {self.size} bytes, the server announced {self.expected_size}"
            )
        if self.etag is not None and actual != self.etag:
            raise ArtifactIntegrityError(
                f"{what}: sha256 of the received bytes is {actual}, the server's is {self.etag}"
            )
        return actual

    def _raise_stage_error(self) -> None:
        for stage in self._stages:
            if stage.error is not None:
                raise stage.error

    def _hash(self, chunks: list[bytes] | _Loan) -> None:
        for chunk in chunks:
            self.digest.update(chunk)

    def _new_digest(self) -> None:
        self.digest = hashlib.sha256()

    def _write(self, chunks: list[bytes] | _Loan) -> None:
        raise NotImplementedError

    def _truncate(self) -> None:
        raise NotImplementedError


class BufferSink(Sink):
    """Collects the bytes in memory (``get_artifact``)."""

    def __init__(self) -> None:
        super().__init__()
        self.buffer = io.BytesIO()

    def _write(self, chunks: list[bytes] | _Loan) -> None:
        self.buffer.writelines(chunks)

    def _truncate(self) -> None:
        self.buffer = io.BytesIO()


class FileSink(Sink):
    """Writes into a hidden temp file beside ``destination``; :meth:`commit` renames it into
    place atomically, leaving the context any other way removes it."""

    def __init__(self, destination: Path) -> None:
        super().__init__()
        self.destination = destination
        parent = destination.parent
        if not parent.is_dir():
            raise ValueError(f"destination_path: folder does not exist: {str(parent)!r}")
        if destination.is_dir():
            raise ValueError(f"destination_path: is a folder: {str(destination)!r}")
        prefix = f".{destination.name}."
        sweep_leftovers(parent, f"{glob.escape(prefix)}*.part")
        fd, temp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=parent)
        _try_lock(fd)
        self.temp_path = Path(temp)
        self._file: IO[bytes] = os.fdopen(fd, "wb")
        self._committed = False
        self._writeback = Writeback(fd)

    def _write(self, chunks: list[bytes] | _Loan) -> None:
        self._file.writelines(chunks)
        self._writeback.advance(self._file.tell())

    def _truncate(self) -> None:
        self._file.seek(0)
        self._file.truncate()
        self._writeback.rewind()

    def commit(self) -> Path:
        """Flush, fsync and rename the temp file to the destination."""
        self.finish()
        self._file.flush()
        self._writeback.stop()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.temp_path, self.destination)
        self._committed = True
        return self.destination

    def __enter__(self) -> FileSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.close()
            self._writeback.stop()
            self._file.close()
            self.temp_path.unlink(missing_ok=True)


def _check_destination(destination: Path) -> None:
    if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
        raise ValueError(f"destination_path: exists and is not a folder: {str(destination)!r}")
    if destination.is_dir() and any(destination.iterdir()):
        raise ValueError(
            f"destination_path: the folder is not empty: {str(destination)!r}; extracting never "
            "replaces or merges into existing files, so choose a new or empty folder"
        )


def _check_sizes(zf: zipfile.ZipFile, archive_size: int, limits: ExtractLimits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_files:
        raise ValueError(
            f"extract: {len(infos)} members, more than the limit of {limits.max_files}"
        )
    declared = sum(info.file_size for info in infos)
    _check_total(declared, archive_size, limits)


def _check_total(total: int, archive_size: int, limits: ExtractLimits) -> None:
    if total > limits.max_bytes:
        raise ValueError(
            f"extract: more than {limits.max_bytes} bytes uncompressed "
            f"(raise ${ENV_EXTRACT_MAX_BYTES} to allow it)"
        )
    if total > 1024 * 1024 and total > limits.max_ratio * max(archive_size, 1):
        raise ValueError(
            f"extract: expands more than {limits.max_ratio:g} times "
            f"({archive_size} bytes to at least {total}); refused as a zip bomb "
            f"(raise ${ENV_EXTRACT_MAX_RATIO} to allow it)"
        )


def extract_zip(archive: Path, destination: Path, limits: ExtractLimits | None = None) -> Path:
    """Extract ``archive`` into the folder ``destination``, which must be new or empty.

    A destination folder with anything in it is refused (ValueError): nothing there is ever
    replaced or deleted. Members are extracted into a locked temp folder beside the destination,
    which is renamed into place only when everything was written. Absolute names, ``..``
    components and non-regular members are refused, as is anything over ``limits`` (default
    :meth:`ExtractLimits.from_env`), counted on the bytes actually written; nothing partial
    is left behind.
    """
    limits = limits or ExtractLimits.from_env()
    parent = destination.parent
    _check_destination(destination)
    if not zipfile.is_zipfile(archive):
        raise ValueError("extract: the artifact is not a zip archive; download it without extract")
    prefix = f".{destination.name}."
    sweep_leftovers(parent, f"{glob.escape(prefix)}*.extract")
    staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=".extract", dir=parent))
    held = _Held(staging)
    try:
        archive_size = archive.stat().st_size
        written = 0
        with zipfile.ZipFile(archive) as zf:
            _check_sizes(zf, archive_size, limits)
            for info in zf.infolist():
                member = Path(info.filename)
                if member.is_absolute() or ".." in member.parts or info.filename.startswith("/"):
                    raise ValueError(f"archive member has an unsafe name: {info.filename!r}")
                mode = (info.external_attr >> 16) & 0o170000
                if mode and mode not in (0o100000, 0o040000):
                    raise ValueError(f"archive member is not a regular file: {info.filename!r}")
                target = staging / member
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("xb") as dst:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        _check_total(written, archive_size, limits)
                        dst.write(chunk)
        _check_destination(destination)
        if destination.is_dir():
            destination.rmdir()  # empty (checked above); fails if something appeared since
        os.replace(staging, destination)
        return destination
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        held.release()


@contextmanager
def temporary_download(directory: Path) -> Iterator[Path]:
    """A temp file path in ``directory``, locked while in use and removed afterwards; the
    leftovers of a killed earlier run (and their ``.part`` files) are swept first."""
    sweep_leftovers(directory, "..evospikenet-*.zip.*.part")
    sweep_leftovers(directory, ".evospikenet-*.zip")
    fd, name = tempfile.mkstemp(prefix=".evospikenet-", suffix=".zip", dir=directory)
    _try_lock(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
        os.close(fd)


def begin_body(sink: Sink, response: Any, resuming: bool, bar: Progress) -> None:
    """Prepare ``sink`` for a download body: append to it when the server resumed exactly
    where it stopped (206 for the same ETag), else start over with the announced size/sha256."""
    etag = parse_etag(response.headers.get("etag"))
    length = response.headers.get("content-length")
    size = int(length) if length is not None and length.isdigit() else None
    if (
        resuming
        and response.status_code == 206
        and etag == sink.etag
        and parse_content_range_start(response.headers.get("content-range")) == sink.size
    ):
        return
    if response.status_code != 200:
        raise ArtifactIntegrityError(
            f"the server answered {response.status_code} to a download without a usable range"
        )
    sink.reset()
    sink.etag = etag
    sink.expected_size = size
    bar.reset(size)


async def receive_body_async(response: httpx.Response, sink: Sink, bar: Progress) -> None:
    """The async client's download body; the sink's workers hash and store it, never the loop
    (see :func:`_take_async`).

    As in :func:`receive_body`, once httpx has handed over what it had buffered, the rest of a
    plain HTTP/1.1 ``Content-Length`` body is read from the connection's network stream
    (httpcore's ``network_stream``: plain or TLS) in reads of up to :data:`CHUNK` bytes, not
    through h11, httpcore and httpx 64 KiB at a time; that connection is then closed, not
    reused. Anything else goes through httpx."""
    stream = response.extensions.get("network_stream") if _plain_http11_body(response) else None
    if stream is None or not callable(getattr(stream, "read", None)):
        async for chunk in response.aiter_bytes():
            await _take_async(sink, chunk, bar)
        return
    expected = int(response.headers["content-length"])
    chunks = response.aiter_raw()  # kept, and left open: closing it closes the connection
    async for chunk in chunks:
        await _take_async(sink, chunk, bar)
        if response.num_bytes_downloaded < expected:
            break  # httpx's buffer is empty now: the rest is still in the stream
    else:
        return  # all of it was buffered (a small file): the connection stays reusable
    received = response.num_bytes_downloaded
    timeout = response.request.extensions.get("timeout", {}).get("read")
    while received < expected:
        try:
            data = await stream.read(min(CHUNK, expected - received), timeout=timeout)
        except httpcore.TimeoutException as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=response.request) from exc
        except httpcore.NetworkError as exc:
            raise httpx.ReadError(str(exc), request=response.request) from exc
        if not data:
            break
        received += len(data)
        await _take_async(sink, data, bar)
    if received < expected:
        raise _short_body(response, received, expected)


async def _take_async(sink: Sink, chunk: bytes, bar: Progress) -> None:
    """Give ``chunk`` to ``sink``; a batch goes to its workers at once when they have room,
    else from a worker thread (which waits for them), never blocking the loop."""
    if sink.add(chunk) and not sink.try_flush():
        await asyncio.to_thread(sink.flush)
    bar.update(len(chunk))


def _short_body(response: httpx.Response, received: int, expected: int) -> httpx.HTTPError:
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body "
        f"(received {received} bytes, expected {expected})",
        request=response.request,
    )


def receive_body(response: httpx.Response, sink: Sink, bar: Progress) -> None:
    """The sync client's download body. httpx reads 64 KiB at a time and passes each read
    through three layers of Python (h11, httpcore, httpx), copying it twice: at 1 GiB that
    costs about a core-second, more than hashing it. So once httpx has handed over what it
    had buffered, the rest of a plain ``Content-Length`` body is read from the connection's
    socket straight into the sink's buffers (:meth:`Sink.receive`); httpx then closes that
    connection instead of reusing it. Anything else (chunked or encoded bodies, HTTP/2,
    TLS inside a proxy tunnel, a transport of your own without a socket) goes through httpx.
    """
    sock = _plain_body_socket(response)
    if sock is None:
        for chunk in response.iter_bytes():
            if sink.add(chunk):
                sink.flush()
            bar.update(len(chunk))
        return
    expected = int(response.headers["content-length"])
    chunks = response.iter_raw()  # left open (closing it closes the connection)
    for chunk in chunks:
        sink.add(chunk)
        bar.update(len(chunk))
        if response.num_bytes_downloaded < expected:
            break  # httpx's buffer is empty now: the rest is still on the socket
    else:
        return  # all of it was buffered (a small file): the connection stays reusable
    received = response.num_bytes_downloaded
    timeout = response.request.extensions.get("timeout", {}).get("read")
    sock.settimeout(timeout)
    try:
        received += sink.receive(sock.recv_into, expected - received, bar)
    except TimeoutError as exc:  # socket.timeout
        raise httpx.ReadTimeout(str(exc) or "timed out", request=response.request) from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc), request=response.request) from exc
    if received < expected:
        raise _short_body(response, received, expected)


def _plain_http11_body(response: httpx.Response) -> bool:
    """HTTP/1.1 with a ``Content-Length`` and no transfer or content coding: the body is the
    next ``Content-Length`` bytes of the connection."""
    headers = response.headers
    return (
        response.http_version == "HTTP/1.1"
        and headers.get("content-length", "").isdigit()
        and "transfer-encoding" not in headers
        and headers.get("content-encoding", "identity").strip().lower() == "identity"
    )


def _plain_body_socket(response: httpx.Response) -> socket.socket | None:
    """The socket a body can be read from directly: HTTP/1.1, a ``Content-Length``, no
    transfer or content coding, and a socket that yields the body's bytes (plain or TLS)."""
    if not _plain_http11_body(response):
        return None
    stream = response.extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    if get_extra_info is None:
        return None
    sock = get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        return None
    if get_extra_info("ssl_object") is not None and not isinstance(sock, ssl.SSLSocket):
        return None  # TLS in a TLS tunnel: the socket carries the outer layer
    return sock
