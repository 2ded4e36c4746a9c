"""Artifacts in S3-compatible storage: a real S3-protocol server (moto's standalone server) on a
loopback port, a real ``evospikenet serve`` with ``EVOSPIKENET_BLOB_URL=s3://...``, and the
store's bounded cache against the same server."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from s3_server import moto_s3, s3_client

pytest.importorskip("boto3")
pytest.importorskip("moto")

from evospikenet.server import s3store
from evospikenet.server.s3store import S3BlobStore

BUCKET = "evospikenet-test"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A moto S3 server on loopback with one bucket; the variables that point at it."""
    with moto_s3(BUCKET, tmp_path_factory.mktemp("moto") / "moto.log") as env:
        yield env


def _keys(env: dict[str, str], prefix: str) -> list[str]:
    listing = s3_client(env).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def _uploads(env: dict[str, str], prefix: str) -> list[dict[str, str]]:
    """Unfinished multipart uploads under ``prefix``."""
    uploads: list[dict[str, str]] = (
        s3_client(env).list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
    )
    return uploads


def _s3_server(make_server, s3_env: dict[str, str], prefix: str):  # type: ignore[no-untyped-def]
    return make_server(
        EVOSPIKENET_LOAD_MODELS="false", EVOSPIKENET_BLOB_URL=f"s3://{BUCKET}/{prefix}", **s3_env
    )


def _upload(client: httpx.Client, session_id: str, body, sha256: str | None = None):  # type: ignore[no-untyped-def]
    fields = {"session_id": session_id, "artifact_type": "model", "name": "w.bin"}
    if sha256 is not None:
        fields["sha256"] = sha256
    return client.post(
        "/api/artifacts", data=fields, files={"file": ("w.bin", body, "application/octet-stream")}
    )


def test_upload_goes_to_the_bucket_and_downloads_with_range_from_it(make_server, s3_env):
    prefix = f"run-{time.monotonic_ns()}"
    server = _s3_server(make_server, s3_env, prefix)
    data = os.urandom(40 * MIB + 123)  # two full parts streamed while received, and a rest
    digest = hashlib.sha256(data).hexdigest()
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        session_id = client.post("/api/sessions", json={"description": "s3"}).json()["session_id"]
        created = _upload(client, session_id, data, digest)
        assert created.status_code == 201, created.text
        artifact_id = created.json()["artifact_id"]
        key = f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}"
        (location,) = _keys(s3_env, f"{prefix}/uploads/")  # the streamed bytes ...
        assert sorted(_keys(s3_env, prefix)) == [key, location]
        assert _uploads(s3_env, prefix) == []
        named = s3_client(s3_env).head_object(Bucket=BUCKET, Key=key)  # ... named by the digest
        assert named["Metadata"] == {"sha256": digest, "location": location}
        assert s3_client(s3_env).head_object(Bucket=BUCKET, Key=location)["ContentLength"] == len(
            data
        )
        again = _upload(client, session_id, data)  # the same bytes: nothing more in the bucket
        assert again.status_code == 201 and sorted(_keys(s3_env, prefix)) == [key, location]
        assert _uploads(s3_env, prefix) == []
        # another host: nothing cached locally, every byte comes from the bucket
        server.stop()
        shutil.rmtree(server.data_dir / "blobs")
        server.start()
        ranged = client.get(
            f"/api/artifacts/{artifact_id}/download", headers={"Range": "bytes=1000-1999"}
        )
        assert ranged.status_code == 206 and ranged.content == data[1000:2000]
        whole = client.get(f"/api/artifacts/{artifact_id}/download")
        assert hashlib.sha256(whole.content).hexdigest() == digest
        assert not (server.data_dir / "blobs" / digest[:2]).exists()  # streamed, not cached


def test_a_refused_digest_aborts_the_streamed_upload(make_server, s3_env):
    prefix = f"refused-{time.monotonic_ns()}"
    server = _s3_server(make_server, s3_env, prefix)
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        session_id = client.post("/api/sessions", json={"description": "s3"}).json()["session_id"]
        refused = _upload(client, session_id, os.urandom(20 * MIB), "0" * 64)  # a part went up
        assert refused.status_code == 422, refused.text
        assert client.get("/api/artifacts").json() == []
    assert _keys(s3_env, prefix) == [] and _uploads(s3_env, prefix) == []


def test_a_server_killed_mid_upload_leaves_nothing_visible(make_server, s3_env):
    prefix = f"killed-{time.monotonic_ns()}"
    server = _s3_server(make_server, s3_env, prefix)
    s3 = s3_client(s3_env)
    stalled = threading.Event()
    release = threading.Event()

    def body() -> Iterator[bytes]:
        for _ in range(40):  # 40 MiB of a 64 MiB file, then the client stalls
            yield os.urandom(MIB)
        stalled.set()
        release.wait(60)
        yield os.urandom(24 * MIB)

    boundary = "evospikenet-test-boundary"

    def multipart() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
            f"{session_id}\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="artifact_type"\r\n\r\nmodel\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nw.bin\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="w.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        yield from body()
        yield f"\r\n--{boundary}--\r\n".encode()

    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        session_id = client.post("/api/sessions", json={"description": "s3"}).json()["session_id"]
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}

        def send() -> None:
            with pytest.raises(httpx.HTTPError):  # the server dies under it
                client.post("/api/artifacts", content=multipart(), headers=headers)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        assert stalled.wait(60)
        deadline = time.monotonic() + 60
        while True:  # the server has sent parts of the file into a multipart upload
            uploads = _uploads(s3_env, f"{prefix}/uploads/")
            if uploads:
                parts = s3.list_parts(Bucket=BUCKET, Key=uploads[0]["Key"],
                                      UploadId=uploads[0]["UploadId"]).get("Parts", [])  # fmt: skip
                if len(parts) >= 2:
                    break
            assert time.monotonic() < deadline, "no parts seen in the bucket"
            time.sleep(0.05)
        server.kill()  # SIGKILL, mid-upload
        release.set()
        sender.join(30)
        assert _keys(s3_env, prefix) == []  # nothing visible
        assert len(_uploads(s3_env, prefix)) == 1  # what a lifecycle rule removes
        server.start()
        assert client.get("/api/artifacts").json() == []  # and no row


@pytest.fixture
def store(tmp_path: Path, s3_env: dict[str, str]) -> Iterator[S3BlobStore]:
    """A store on the moto server with a 3 MiB cache."""
    blobs = S3BlobStore(
        tmp_path, f"s3://{BUCKET}/cache-{time.monotonic_ns()}", s3_client(s3_env), 3 * MIB
    )
    blobs.open()
    yield blobs
    blobs.close()


def _aged(store: S3BlobStore, count: int) -> list[tuple[str, bytes]]:
    """``count`` 1 MiB blobs, committed and released, last used 500, 490, ... s ago."""
    blobs = []
    for _ in range(count):
        data = os.urandom(MIB)
        digest = store.put_bytes(data)  # recent: no trim evicts it
        store.release(digest)
        blobs.append((digest, data))
    for n, (digest, _) in enumerate(blobs):
        used = time.time() - 500 + 10 * n
        os.utime(_cache_path(store, digest), (used, used))
    return blobs


def _cached(store: S3BlobStore) -> set[str]:
    return {path.name for path in store.blob_dir.glob("*/*/*")}


def _cache_path(store: S3BlobStore, digest: str) -> Path:
    with store.local_only():
        return store.path_for(digest)


def test_the_cache_evicts_least_recently_used_files_down_to_its_bound(store, s3_env):
    (d0, _), (d1, data1), (d2, _), (d3, _), (d4, _), (d5, data5) = _aged(store, 6)
    assert len(_cached(store)) == 6  # 6 MiB: above the bound until trimmed
    store.pins[d0] += 1  # pinned by a request (committed, its row not yet written)
    reading = store.read_range(d2, 0, 9)
    assert len(next(reading)) == 10  # a download is reading d2 ...
    os.utime(_cache_path(store, d2), (0, 0))  # ... though it looks least recently used
    store.path_for(d1)  # a cache hit marks the file used now
    assert time.time() - _cache_path(store, d1).stat().st_mtime < 30
    used = time.time() - 200
    os.utime(_cache_path(store, d1), (used, used))  # used after d3, d4, d5

    assert store.trim_cache() == 3  # d3, d4, d5: the least recently used that may go
    assert _cached(store) == {d0, d1, d2}
    reading.close()
    store.release(d0)

    fetched = store.path_for(d5)  # not cached: fetched from the bucket, and the cache trimmed
    assert fetched.read_bytes() == data5
    assert _cached(store) == {d0, d1, d5}  # d2 went (least recent, no longer read)
    assert sum(p.stat().st_size for p in store.blob_dir.glob("*/*/*")) <= 3 * MIB
    assert b"".join(store.read_range(d1, 0, MIB - 1)) == data1
    assert set(_keys(s3_env, store.prefix)) == {store.key(d) for d in (d0, d1, d2, d3, d4, d5)}


def test_files_used_recently_are_never_evicted(store):
    digests = [digest for digest, _ in _aged(store, 4)]
    for digest in digests:
        store.path_for(digest)  # all used just now (e.g. handed to a bridge)
    assert store.trim_cache() == 0 and _cached(store) == set(digests)


def test_a_part_size_file_streams_and_commits(store, s3_env, monkeypatch):
    monkeypatch.setattr(s3store, "PART_BYTES", 5 * MIB)
    writer = store.writer()
    data = os.urandom(10 * MIB)  # exactly two parts: no rest
    writer.write(data[: 7 * MIB])
    writer.write(data[7 * MIB :])
    assert len(_uploads(s3_env, f"{store.prefix}/uploads/")) == 1  # sent while written
    digest = writer.commit(hashlib.sha256(data).hexdigest())
    store.release(digest)
    (location,) = _keys(s3_env, f"{store.prefix}/uploads/")
    assert sorted(_keys(s3_env, store.prefix)) == [store.key(digest), location]
    body = s3_client(s3_env).get_object(Bucket=BUCKET, Key=location)["Body"].read()
    assert body == data and _uploads(s3_env, store.prefix) == []
    other_host = S3BlobStore(store.root / "other", f"s3://{BUCKET}/{store.prefix}", store.client)
    other_host.open()
    assert b"".join(other_host.read_range(digest, 5, 5 * MIB + 4)) == data[5 : 5 * MIB + 5]
    assert other_host.path_for(digest).read_bytes() == data  # found through the name
    other_host.close()


def test_a_failed_part_fails_the_upload_before_its_end(store, s3_env, monkeypatch):
    monkeypatch.setattr(s3store, "PART_BYTES", 5 * MIB)
    s3 = s3_client(s3_env)
    writer = store.writer()
    writer.write(os.urandom(5 * MIB))  # part 1 goes up
    (upload,) = _uploads(s3_env, f"{store.prefix}/uploads/")
    s3.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="UploadPart"):  # a part finds no upload ...
        for _ in range(60):
            writer.write(os.urandom(MIB))  # ... and a later write says so
            time.sleep(0.05)
    writer.discard()
    assert _keys(s3_env, store.prefix) == [] and _uploads(s3_env, store.prefix) == []
    assert list(store.tmp_dir.iterdir()) == []


def test_blob_locations_are_remembered_up_to_a_bound(store, monkeypatch):
    monkeypatch.setattr(s3store, "KNOWN_LOCATIONS", 2)
    monkeypatch.setattr(s3store, "PART_BYTES", 5 * MIB)
    data = os.urandom(5 * MIB)  # one whole part: stored under uploads/, named by its digest
    writer = store.writer()
    writer.write(data)
    first = writer.commit(hashlib.sha256(data).hexdigest())
    store.release(first)
    where = store.location(first)
    assert where.startswith(f"{store.prefix}/uploads/")
    for _ in range(2):
        other = store.put_bytes(os.urandom(100))
        store.release(other)
        assert store.location(other) == store.key(other)  # small: stored under its digest
    assert len(store._locations) == 2 and first not in store._locations  # forgotten
    assert store.location(first) == where  # asked of the bucket again, the same answer
    assert b"".join(store.read_range(first, 0, 9)) == data[:10]
