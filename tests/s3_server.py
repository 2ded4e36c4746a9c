"""A real S3-protocol server (moto's standalone server) on a free loopback port, for the tests
and benchmarks that put artifacts into a bucket."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from live_server import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def s3_client(env: dict[str, str]) -> Any:
    """A boto3 client for the server that ``env`` (from ``moto_s3``) points at."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


@contextmanager
def moto_s3(bucket: str, log_path: Path) -> Iterator[dict[str, str]]:
    """Start moto's server with ``bucket``; yield the variables that point a server at it
    (endpoint and credentials); stop it afterwards."""
    port = free_port()
    with log_path.open("wb") as log:
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
                    assert process.poll() is None, "moto server exited"
                    assert time.monotonic() < deadline, "moto server did not start"
                    time.sleep(0.1)
            s3_client(env).create_bucket(Bucket=bucket)
            yield env
        finally:
            process.terminate()
            process.wait(10)
