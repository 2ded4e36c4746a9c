"""Blobs in S3-compatible object storage (``EVOSPIKENET_BLOB_URL=s3://bucket/prefix``).

``S3BlobStore`` is the local ``BlobStore`` with an object store behind it. The local folder
stays the temp area (uploads are received, hashed and verified there, as before) and becomes a
cache; the bucket is the record that every process and host shares:

- ``commit`` verifies the sha256 locally, then uploads ``<prefix>/ab/cd/<sha256>`` before it
  returns, so the row (committed after it) never names bytes the bucket lacks. Files above
  ``MULTIPART_BYTES`` go up as a multipart upload in ``PART_BYTES`` parts (boto3's transfer
  manager); an object appears only when its upload completes, so a process killed mid-upload
  leaves nothing visible (S3 keeps the parts of an unfinished upload until it is aborted or a
  bucket lifecycle rule removes them).
- Reads: a blob missing from the cache is fetched whole for the callers that need a file
  (prompt media, model files: ``path_for``); downloads stream ``Range`` requests from the
  bucket without filling the cache.
- Deletion only ever touches the cache: another process may be about to commit a row naming
  the same bytes, so unreferenced objects stay in the bucket (collect them offline).

Library: boto3 (AWS's own SDK, the most widely used S3 client, S3-compatible servers test
against it; multipart uploads, ranged GETs, presigning and the standard credential chain are
built in). obstore is faster but younger and its API still changes between minor versions;
minio is MinIO's client, smaller, with fewer users outside MinIO. The endpoint and credentials
come from the standard variables: ``AWS_ENDPOINT_URL`` (e.g. ``http://127.0.0.1:9000`` for a
local S3-compatible server), ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from evospikenet.server.blobstore import CHUNK, BlobStore, BlobWriter

MULTIPART_BYTES = 16 * 1024 * 1024
PART_BYTES = 16 * 1024 * 1024
BUCKET_CHECK_SECONDS = 5.0


class S3BlobWriter(BlobWriter):
    """A writer whose ``commit`` also puts the verified bytes into the bucket."""

    _store: S3BlobStore

    def commit(self, expected_sha256: str | None = None) -> str:
        """Verify, move into the cache, upload; returns the sha256 (pinned, as locally)."""
        with self._store.local_only():
            digest = super().commit(expected_sha256)
        try:
            self._store.upload(digest)
        except BaseException:
            self._store.abandon(digest, lambda _digest: False)  # the cache copy only
            raise
        return digest


def parse_blob_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes) of ``s3://bucket/prefix``."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"EVOSPIKENET_BLOB_URL must look like s3://bucket/prefix, got {url!r}")
    return parsed.netloc, parsed.path.strip("/")


class S3BlobStore(BlobStore):
    """The local store as temp area and cache, the bucket as the record (see the module)."""

    def __init__(self, root: Path, url: str, client: Any | None = None) -> None:
        super().__init__(root)
        self.bucket, self.prefix = parse_blob_url(url)
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.client = client
        self._local = threading.local()
        self._bucket_ok_at = -BUCKET_CHECK_SECONDS

    def key(self, sha256: str) -> str:
        """The object key of a digest."""
        relative = super().path_for(sha256).relative_to(self.blob_dir).as_posix()
        return f"{self.prefix}/{relative}" if self.prefix else relative

    @contextlib.contextmanager
    def local_only(self) -> Iterator[None]:
        """Within: ``path_for`` names the cache file without fetching it."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1

    def writer(self, max_bytes: int | None = None) -> BlobWriter:
        """A new temp-file writer that uploads on commit."""
        return S3BlobWriter(self, max_bytes)

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

    def upload(self, sha256: str) -> None:
        """Put the cached blob into the bucket unless it is there already."""
        from boto3.s3.transfer import TransferConfig

        if self.exists(sha256):
            return
        config = TransferConfig(multipart_threshold=MULTIPART_BYTES, multipart_chunksize=PART_BYTES)
        with self.local_only():
            source = self.path_for(sha256)
        self.client.upload_file(
            str(source),
            self.bucket,
            self.key(sha256),
            ExtraArgs={"ContentType": "application/octet-stream", "Metadata": {"sha256": sha256}},
            Config=config,
        )

    def path_for(self, sha256: str) -> Path:
        """The cache file of the blob; fetched from the bucket first when missing (unless
        within ``local_only``)."""
        path = super().path_for(sha256)
        if getattr(self._local, "depth", 0) or path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=self.temp_prefix("model-"), dir=self.tmp_dir)
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self.key(sha256), name)
            os.replace(name, path)
        except Exception:
            Path(name).unlink(missing_ok=True)  # not in the bucket either: the caller finds none
        return path

    def read_range(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start..end`` (inclusive): from the cache, else a ranged GET."""
        with self.local_only():
            cached = self.path_for(sha256)
        if cached.exists():
            yield from super().read_range(sha256, start, end)
            return
        answer = self.client.get_object(
            Bucket=self.bucket, Key=self.key(sha256), Range=f"bytes={start}-{end}"
        )
        body = answer["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def abandon(self, sha256: str, referenced: Callable[[str], bool]) -> bool:
        """As locally, for the cache copy (the object stays, see the module)."""
        with self.local_only():
            return super().abandon(sha256, referenced)

    def remove_unreferenced(
        self, referenced: Callable[[list[str]], set[str]], *, grace_seconds: float
    ) -> int:
        """As locally, for the cache (the objects stay, see the module)."""
        with self.local_only():
            return super().remove_unreferenced(referenced, grace_seconds=grace_seconds)

    def check(self) -> None:
        """Raise if the temp area cannot be written or the bucket does not answer (asked at
        most every ``BUCKET_CHECK_SECONDS``: health checks stay cheap)."""
        super().check()
        now = time.monotonic()
        if now - self._bucket_ok_at > BUCKET_CHECK_SECONDS:
            self.client.head_bucket(Bucket=self.bucket)
            self._bucket_ok_at = now


def open_blob_store(root: Path, url: str | None) -> BlobStore:
    """``S3BlobStore`` for an ``s3://`` URL, else the local folder (the embedded default)."""
    return S3BlobStore(root, url) if url else BlobStore(root)
