"""Blobs in S3-compatible object storage (``EVOSPIKENET_BLOB_URL=s3://bucket/prefix``).

``S3BlobStore`` is the local ``BlobStore`` with an object store behind it. The local folder
stays the temp area (uploads are received and hashed there, as before) and becomes a bounded
cache; the bucket is the record that every process and host shares:

- Uploads stream into the bucket while they arrive: each full ``PART_BYTES`` part of the temp
  file goes up (``UPLOAD_THREADS`` at a time) as a part of a multipart upload to a fresh key
  ``<prefix>/uploads/<token>-<uuid>`` (the digest is not known yet). ``commit`` verifies the
  sha256, completes that upload, then names it: an empty object at the content-addressed key
  ``<prefix>/ab/cd/<sha256>`` whose metadata ``location`` is the upload's key. Both happen
  before ``commit`` returns, so the row (committed after it) never names bytes the bucket
  lacks, and no byte is copied after the last one arrived. Files under one part go up with one
  ``PUT`` at the content-addressed key itself (no ``location``: the object is the bytes).
  Readers ask the content-addressed key once per blob and process (remembered: both objects are
  never changed or deleted). A failed or refused upload aborts its multipart upload; a killed
  one leaves an unfinished multipart upload, which S3 never shows as an object (a bucket
  lifecycle rule ``AbortIncompleteMultipartUpload`` removes its parts). Two processes that
  upload the same new bytes at once both complete; the last name wins and the other upload
  stays as an object that nothing names, like one whose process was killed between completing
  and naming it (harmless; collect offline with the rest, below).
- Reads: a blob missing from the cache is fetched whole for the callers that need a file
  (prompt media, model files: ``path_for``); downloads stream ``Range`` requests from the
  bucket without filling the cache.
- The cache holds at most ``cache_bytes`` (``EVOSPIKENET_S3_CACHE_BYTES``): the
  least-recently-used files go first (a file's mtime is its last use), never one that a
  request of this process is reading or has pinned, nor one used in the last
  ``CACHE_RECENT_SECONDS`` (by any process sharing the folder: ``path_for`` hands out paths
  that are opened right after). It is trimmed after every ``cache_bytes / 8`` added by this
  process and by the periodic collector, so it may exceed the bound by that much per process,
  plus the files in use.
- Deletion only ever touches the cache: another process may be about to commit a row naming
  the same bytes, so unreferenced objects stay in the bucket (collect them offline).

Library: boto3 (AWS's own SDK, the most widely used S3 client, S3-compatible servers test
against it; multipart uploads, ranged GETs, presigning and the standard
credential chain are built in). obstore is faster but younger and its API still changes
between minor versions; minio is MinIO's client, smaller, with fewer users outside MinIO. The
endpoint and credentials come from the standard variables: ``AWS_ENDPOINT_URL`` (e.g.
``http://127.0.0.1:9000`` for a local S3-compatible server), ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

from evospikenet.server.blobstore import CHUNK, BlobStore, BlobWriter

log = logging.getLogger("evospikenet.server")

PART_BYTES = 16 * 1024 * 1024
"""Bytes per part of a streamed upload (S3: at least 5 MiB, at most 10,000 parts)."""
UPLOAD_THREADS = 2
"""Parts in flight at once per process (each holds one part in memory while it is sent)."""
UPLOADS = "uploads"
CACHE_RECENT_SECONDS = 60.0
BUCKET_CHECK_SECONDS = 5.0
CONTENT_TYPE = "application/octet-stream"
KNOWN_LOCATIONS = 65_536
"""Blob locations a process remembers (~200 bytes each); the least recently used is forgotten."""


class S3BlobWriter(BlobWriter):
    """A writer that sends each full part to the bucket as it arrives (see the module)."""

    _store: S3BlobStore

    def __init__(self, store: S3BlobStore, max_bytes: int | None) -> None:
        super().__init__(store, max_bytes)
        self._reader: int | None = os.open(self.temp_path, os.O_RDONLY)  # survives the rename
        self._upload_key = ""
        self._upload_id: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._sent = 0

    def write(self, data: bytes) -> None:
        """Append ``data``; every full part goes to the bucket in the background."""
        super().write(data)
        if self.size - self._sent >= PART_BYTES:
            self._file.flush()
            while self.size - self._sent >= PART_BYTES:
                self._send_part(PART_BYTES)

    def _send_part(self, length: int) -> None:
        store = self._store
        for sent in self._parts:  # a failed part fails the upload now, not after the last byte
            if sent.done() and (error := sent.exception()) is not None:
                raise error
        if self._upload_id is None:
            self._upload_key = store.upload_key()
            self._upload_id = store.client.create_multipart_upload(
                Bucket=store.bucket, Key=self._upload_key, ContentType=CONTENT_TYPE
            )["UploadId"]
        assert self._reader is not None
        args = (self._upload_key, self._upload_id, len(self._parts) + 1, self._reader, self._sent)
        self._parts.append(store.executor().submit(store.upload_part, *args, length))
        self._sent += length

    def commit(self, expected_sha256: str | None = None) -> str:
        """Verify, move into the cache, finish the upload into place; returns the sha256
        (pinned, as locally)."""
        with self._store.local_only():
            digest = super().commit(expected_sha256)  # a mismatch discards (and aborts)
        try:
            if self._upload_id is None:
                self._store.upload(digest)
            else:
                self._finish(digest)
        except BaseException:
            self._abort()
            self._store.abandon(digest, lambda _digest: False)  # the cache copy only
            raise
        finally:
            self._close_reader()
        self._store.added(self.size)
        return digest

    def _finish(self, digest: str) -> None:
        store = self._store
        if store.exists(digest):  # the same bytes are there already
            self._abort()
            return
        if self.size > self._sent:
            self._send_part(self.size - self._sent)
        parts = [part.result() for part in self._parts]
        store.client.complete_multipart_upload(
            Bucket=store.bucket,
            Key=self._upload_key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": parts},
        )
        self._upload_id = None
        store.name(digest, self._upload_key)

    def _abort(self) -> None:
        """Stop the parts not yet sent and abort the multipart upload (best effort: what
        remains is what a lifecycle rule removes)."""
        for part in self._parts:
            part.cancel()
        wait_all(self._parts)
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            try:
                self._store.client.abort_multipart_upload(
                    Bucket=self._store.bucket, Key=self._upload_key, UploadId=upload_id
                )
            except Exception:
                log.warning("could not abort the multipart upload of %s", self._upload_key)

    def _close_reader(self) -> None:
        if self._reader is not None:
            os.close(self._reader)
            self._reader = None

    def discard(self) -> None:
        """Throw the bytes away, here and in the bucket (idempotent)."""
        super().discard()
        self._abort()
        self._close_reader()


def parse_blob_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes) of ``s3://bucket/prefix``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"EVOSPIKENET_BLOB_URL must look like s3://bucket/prefix, got {url!r}")
    return parsed.netloc, parsed.path.strip("/")


def _touch(path: Path) -> bool:
    """Mark the file used now (its mtime is its recency); False when it is not there."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


class S3BlobStore(BlobStore):
    """The local store as temp area and bounded cache, the bucket as the record (see the
    module)."""

    def __init__(
        self, root: Path, url: str, client: Any | None = None, cache_bytes: int = 10 * 1024**3
    ) -> None:
        super().__init__(root)
        self.bucket, self.prefix = parse_blob_url(url)
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self.cache_bytes = cache_bytes
        self.readers: Counter[str] = Counter()
        self._locations: OrderedDict[str, str] = OrderedDict()
        self._added = 0
        self._local = threading.local()
        self._executor: ThreadPoolExecutor | None = None
        self._bucket_ok_at = -BUCKET_CHECK_SECONDS

    def key(self, sha256: str) -> str:
        """The object key of a digest."""
        relative = super().path_for(sha256).relative_to(self.blob_dir).as_posix()
        return self._prefixed(relative)

    def _prefixed(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def upload_key(self) -> str:
        """A fresh key for an upload whose digest is not known yet."""
        return self._prefixed(f"{UPLOADS}/{self.token}-{uuid.uuid4().hex}")

    def name(self, sha256: str, location: str) -> None:
        """Make the content-addressed key of ``sha256`` name the object at ``location``."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self.key(sha256),
            Body=b"",
            ContentType=CONTENT_TYPE,
            Metadata={"sha256": sha256, "location": location},
        )
        self._remember(sha256, location)

    def _remember(self, sha256: str, location: str) -> None:
        """Keep ``sha256``'s location, forgetting the least recently used past
        :data:`KNOWN_LOCATIONS` (a forgotten one is asked of the bucket again)."""
        with self.lock:
            self._locations[sha256] = location
            self._locations.move_to_end(sha256)
            while len(self._locations) > KNOWN_LOCATIONS:
                self._locations.popitem(last=False)

    def location(self, sha256: str) -> str:
        """The key that holds the blob's bytes (asked of the bucket once per blob and process,
        while it stays among the :data:`KNOWN_LOCATIONS` most recently used)."""
        with self.lock:
            known = self._locations.get(sha256)
            if known is not None:
                self._locations.move_to_end(sha256)
        if known is None:
            key = self.key(sha256)
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            known = str(head.get("Metadata", {}).get("location") or key)
            self._remember(sha256, known)
        return known

    def executor(self) -> ThreadPoolExecutor:
        """The threads that send parts (started on first use)."""
        with self.lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(UPLOAD_THREADS, "s3-part")
            return self._executor

    @contextlib.contextmanager
    def local_only(self) -> Iterator[None]:
        """Within: ``path_for`` names the cache file without fetching it."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        """A new writer that streams to the bucket."""
        return S3BlobWriter(self, max_bytes)

    def close(self) -> None:
        """As locally; also stops the part threads."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        super().close()

    def exists(self, sha256: str) -> bool:
        """Whether the bucket holds the blob."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def upload_part(
        self, key: str, upload_id: str, number: int, fd: int, offset: int, length: int
    ) -> dict[str, Any]:
        """Send ``length`` bytes of the file ``fd`` from ``offset`` as part ``number``."""
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise OSError(f"part {number} of {key}: read {len(data)} of {length} bytes")
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def upload(self, sha256: str) -> None:
        """Put the cached blob (under one part) into the bucket unless it is there already."""
        if self.exists(sha256):
            return
        with self.local_only():
            source = self.path_for(sha256)
        with source.open("rb") as body:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha256),
                Body=body,
                ContentType=CONTENT_TYPE,
                Metadata={"sha256": sha256},
            )

    def path_for(self, sha256: str) -> Path:
        """The cache file of the blob, marked used; fetched from the bucket first when missing
        (unless within ``local_only``)."""
        path = super().path_for(sha256)
        if getattr(self._local, "depth", 0) or _touch(path):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=self.temp_prefix("model-"), dir=self.tmp_dir)
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self.location(sha256), name)
            os.replace(name, path)
        except Exception:
            Path(name).unlink(missing_ok=True)  # not in the bucket either: the caller finds none
            return path
        self.added(path.stat().st_size)
        return path

    def open_local(self, sha256: str) -> IO[bytes] | None:
        """None: a download streams through :meth:`read_range` (which counts the cache file's
        readers, or reads a range from the bucket)."""
        return None

    def read_range(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start..end`` (inclusive): from the cache, else a ranged GET."""
        with self.local_only():
            cached = self.path_for(sha256)
        with self.lock:
            self.readers[sha256] += 1  # not evicted by this process while read
        try:
            if _touch(cached):  # nor by another for CACHE_RECENT_SECONDS, until it is open
                yield from super().read_range(sha256, start, end)
                return
        finally:
            with self.lock:
                self.readers[sha256] -= 1
                if self.readers[sha256] <= 0:
                    del self.readers[sha256]
        answer = self.client.get_object(
            Bucket=self.bucket, Key=self.location(sha256), Range=f"bytes={start}-{end}"
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def added(self, size: int) -> None:
        """Count ``size`` bytes added to the cache; trim it after every eighth of the bound."""
        with self.lock:
            self._added += size
            due = self._added >= max(1, self.cache_bytes // 8)
        if due:
            self.trim_cache()

    def trim_cache(self) -> int:
        """Evict least-recently-used cache files until the cache fits ``cache_bytes``, never
        one read or pinned here or used in the last ``CACHE_RECENT_SECONDS``; returns how many."""
        with self.lock:
            self._added = 0
        files: list[tuple[float, int, str, Path]] = []
        for digest in self.all_digests():
            path = super().path_for(digest)
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                files.append((stat.st_mtime, stat.st_size, digest, path))
        total = sum(size for _, size, _, _ in files)
        recent = time.time() - CACHE_RECENT_SECONDS
        removed = 0
        for mtime, size, digest, path in sorted(files):
            if total <= self.cache_bytes or mtime > recent:
                break
            with self.lock:
                if self.pins[digest] or self.readers[digest]:
                    continue
                path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def abandon(self, sha256: str, referenced: Callable[[str], bool]) -> bool:
        """As locally, for the cache copy (the object stays, see the module)."""
        with self.local_only():
            return super().abandon(sha256, referenced)

    def remove_unreferenced(
        self, referenced: Callable[[list[str]], set[str]], *, grace_seconds: float
    ) -> int:
        """As locally, for the cache (the objects stay, see the module); then trim the cache."""
        with self.local_only():
            removed = super().remove_unreferenced(referenced, grace_seconds=grace_seconds)
        return removed + self.trim_cache()

    def check(self) -> None:
        """Raise if the temp area cannot be written or the bucket does not answer (asked at
        most every ``BUCKET_CHECK_SECONDS``: health checks stay cheap)."""
        super().check()
        now = time.monotonic()
        if now - self._bucket_ok_at > BUCKET_CHECK_SECONDS:
            self.client.head_bucket(Bucket=self.bucket)
            self._bucket_ok_at = now


def open_blob_store(root: Path, url: str | None, cache_bytes: int = 10 * 1024**3) -> BlobStore:
    """``S3BlobStore`` (a cache of ``cache_bytes``) for an ``s3://`` URL, else the local
    folder (the embedded default)."""
    return S3BlobStore(root, url, cache_bytes=cache_bytes) if url else BlobStore(root)
