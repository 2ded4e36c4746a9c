"""Artifacts in S3-compatible storage: a real S3-protocol server (moto's standalone server) on a
loopback port, a real ``evospikenet serve`` with ``EVOSPIKENET_BLOB_URL=s3://...``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import REPO, free_port

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

BUCKET = "evospikenet-test"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A moto S3 server on loopback with one bucket; the variables that point at it."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(env["AWS_ENDPOINT_URL"], timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        _client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _client(env: dict[str, str]):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def _keys(env: dict[str, str], prefix: str) -> list[str]:
    listing = _client(env).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_upload_goes_to_the_bucket_and_downloads_with_range_from_it(make_server, s3_env):
    prefix = f"run-{time.monotonic_ns()}"
    server = make_server(
        EVOSPIKENET_LOAD_MODELS="false", EVOSPIKENET_BLOB_URL=f"s3://{BUCKET}/{prefix}", **s3_env
    )
    data = os.urandom(40 * 1024 * 1024 + 123)  # above the multipart threshold
    digest = hashlib.sha256(data).hexdigest()
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120) as client:
        session_id = client.post("/api/sessions", json={"description": "s3"}).json()["session_id"]
        created = client.post(
            "/api/artifacts",
            data={"session_id": session_id, "artifact_type": "model", "name": "w.bin",
                  "sha256": digest},
            files={"file": ("w.bin", data, "application/octet-stream")},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        artifact_id = created.json()["artifact_id"]
        key = f"{prefix}/{digest[:2]}/{digest[2:4]}/{digest}"
        assert _keys(s3_env, prefix) == [key]
        head = _client(s3_env).head_object(Bucket=BUCKET, Key=key)
        assert head["ContentLength"] == len(data) and head["Metadata"]["sha256"] == digest
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


KILLED_UPLOAD = """
import sys
from pathlib import Path
from evospikenet.server import s3store
s3store.MULTIPART_BYTES = s3store.PART_BYTES = 5 * 1024 * 1024
store = s3store.S3BlobStore(Path(sys.argv[1]), sys.argv[2])
store.open()
source = Path(sys.argv[1]) / "big.bin"
with source.open("wb") as out:
    for n in range(24):
        out.write(bytes([n]) * (5 * 1024 * 1024))
print("uploading", flush=True)
store.put_file(source)
print("done", flush=True)
"""


def test_a_process_killed_mid_upload_leaves_nothing_visible(tmp_path, s3_env):
    prefix = f"killed-{time.monotonic_ns()}"
    s3 = _client(s3_env)
    env = {**os.environ, **s3_env}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_UPLOAD, str(tmp_path), f"s3://{BUCKET}/{prefix}"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads"):
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no multipart upload seen"
            time.sleep(0.01)
        process.kill()  # parts are on the server, the upload is not complete
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    assert _keys(s3_env, prefix) == []  # nothing visible
    uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)["Uploads"]
    assert len(uploads) == 1  # what a lifecycle rule (AbortIncompleteMultipartUpload) removes
