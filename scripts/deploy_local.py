"""Run docs/deploy.md's deployment on this machine, every part on a free loopback port, and
check it end to end: PostgreSQL (this script runs under ``scripts/with_postgres.sh``), an
S3-compatible server (moto's), a Zenoh router, two API processes with their own data folders
(as if on two hosts) sharing the database and the bucket, and the four simulation nodes
connected through the router.

    bash scripts/with_postgres.sh .venv/bin/python scripts/deploy_local.py

It submits a prompt through API 2, long-polls it on API 1, uploads an artifact through API 1
and downloads it through API 2, prints what it measured, and stops everything (the logs and
data are deleted unless ``EVOSPIKENET_DEPLOY_KEEP=true``). Exit status 0 means it all worked.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEY = "deploy-key"
ROLES = ("coordinator", "language", "vision", "auditory")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def main() -> None:
    base = os.environ.get("EVOSPIKENET_TEST_DATABASE_URL")
    if not base:
        sys.exit("run under scripts/with_postgres.sh (it provides the PostgreSQL server)")
    sys.path.insert(0, str(REPO / "tests"))
    from live_server import _fresh_postgres_database

    database_url, drop = _fresh_postgres_database(base)
    work = Path(tempfile.mkdtemp(prefix="evospikenet-deploy-"))
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (work / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                args, env={**os.environ, **env}, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append(process)
        return process

    try:
        # object store: an S3-compatible server and a bucket
        s3_port = free_port()
        start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], {})
        s3 = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
            "AWS_ACCESS_KEY_ID": "deploy",
            "AWS_SECRET_ACCESS_KEY": "deploy-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        wait_http(s3["AWS_ENDPOINT_URL"])
        import boto3

        boto3.client("s3", endpoint_url=s3["AWS_ENDPOINT_URL"], **_creds(s3)).create_bucket(
            Bucket="evospikenet"
        )
        # the Zenoh router
        router = f"tcp/127.0.0.1:{free_port()}"
        start("router", [sys.executable, "scripts/zenoh_router.py", router], {})
        # two API processes ("hosts"): one database, one bucket, the router, one message key
        sim_key = secrets.token_hex(32)
        common = {
            **s3,
            "DATABASE_URL": database_url,
            "EVOSPIKENET_BLOB_URL": "s3://evospikenet/artifacts",
            "EVOSPIKENET_API_KEYS": KEY,
            "EVOSPIKENET_SIM_ROUTER": router,
            "EVOSPIKENET_SIM_KEY": sim_key,
            "EVOSPIKENET_ACCESS_LOG": "false",
        }
        apis = []
        for n in (1, 2):
            port = free_port()
            start(
                f"api{n}",
                [str(BIN / "evospikenet"), "serve", "--port", str(port),
                 "--data-dir", str(work / f"host{n}"), "--no-nodes"],
                common,
            )  # fmt: skip
            apis.append(f"http://127.0.0.1:{port}")
        for api in apis:
            wait_http(f"{api}/api/health")
        # the nodes ("other hosts"): they know the router and one API address
        for rank, role in enumerate(ROLES):
            start(
                f"node-{role}",
                [str(BIN / "evospikenet"), "node", "--role", role, "--rank", str(rank),
                 "--connect", router, "--api-url", apis[0], "--max-new-tokens", "8",
                 "--log-dir", str(work / "nodes"), "--cache-dir", str(work / "node-cache"),
                 "--quiet"],
                {"EVOSPIKENET_API_KEY": KEY, "EVOSPIKENET_SIM_KEY": sim_key},
            )  # fmt: skip
        figures = check(apis)
        print(json.dumps(figures, indent=2))
        if figures["prompt_state"] != "completed" or not figures["artifact_roundtrip_ok"]:
            raise SystemExit(1)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        drop()
        if os.environ.get("EVOSPIKENET_DEPLOY_KEEP") != "true":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs and data kept in {work}", file=sys.stderr)


def _creds(s3: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": s3["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": s3["AWS_SECRET_ACCESS_KEY"],
        "region_name": s3["AWS_DEFAULT_REGION"],
    }


def check(apis: list[str]) -> dict[str, object]:
    """Prompt through API 2, result on API 1; artifact up through API 1, down through API 2."""
    headers = {"X-API-Key": KEY}
    with httpx.Client(headers=headers, timeout=90) as client:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # the four nodes joined (registry in the database)
            status = client.get(f"{apis[1]}/api/distributed_brain/status").json()
            if status.get("active_nodes", 0) >= len(ROLES):
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"nodes did not join: {status}")
        submitted = time.monotonic()
        prompt_id = client.post(
            f"{apis[1]}/api/distributed_brain/prompt", json={"prompt": "Hello from host 2"}
        ).json()["prompt_id"]
        result: dict[str, object] = {}
        while time.monotonic() - submitted < 180:
            result = client.get(
                f"{apis[0]}/api/distributed_brain/result",
                params={"prompt_id": prompt_id, "wait": 30},
            ).json()
            if result["state"] in ("completed", "failed"):
                break
        answered = time.monotonic() - submitted
        data = os.urandom(40 * 1024 * 1024)  # above one part: streamed into the bucket
        session_id = client.post(f"{apis[0]}/api/sessions", json={"description": "deploy"}).json()[
            "session_id"
        ]
        artifact = client.post(
            f"{apis[0]}/api/artifacts",
            data={"session_id": session_id, "artifact_type": "other", "name": "blob.bin"},
            files={"file": ("blob.bin", data, "application/octet-stream")},
        ).json()
        back = client.get(f"{apis[1]}/api/artifacts/{artifact['artifact_id']}/download").content
    return {
        "prompt_state": result.get("state"),
        "prompt_response": str(result.get("response"))[:120],
        "prompt_seconds_submit_to_result": round(answered, 2),
        "artifact_roundtrip_ok": hashlib.sha256(back).hexdigest() == artifact["sha256"],
    }


if __name__ == "__main__":
    main()
