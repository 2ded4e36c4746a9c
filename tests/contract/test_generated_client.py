"""The generated client imports, covers every operation, and uploads bytes intact.

The multipart round trip runs against a small Starlette app served by uvicorn on a real
loopback socket: it parses the body with python-multipart, as the reference server does.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from spec_loader import load_spec, operations
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from evospikenet_api_client import AuthenticatedClient
from evospikenet_api_client.api.artifacts import upload_artifact
from evospikenet_api_client.models import Artifact, ArtifactUpload
from evospikenet_api_client.types import File

GENERATED = Path(__file__).resolve().parents[2] / "generated" / "evospikenet_api_client"
# Bytes that the generator's fixed boundary "+++" would cut short.
TRICKY = b"head\r\n--+++\r\nContent-Disposition: form-data\r\n\r\n--+++--\r\ntail\x00\xff"


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(
    ("tag", "operation_id"),
    [(op["tags"][0], op["operationId"]) for _, _, op in operations(load_spec())],
)
def test_every_operation_has_a_generated_module(tag: str, operation_id: str) -> None:
    module = importlib.import_module(
        f"evospikenet_api_client.api.{tag.replace('-', '_')}.{snake_case(operation_id)}"
    )
    for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
        assert callable(getattr(module, function))


def test_generated_code_sets_no_fixed_multipart_boundary() -> None:
    for path in GENERATED.rglob("*.py"):
        assert "boundary=+++" not in path.read_text(encoding="utf-8"), path


async def echo_upload(request: Request) -> JSONResponse:
    form = await request.form()
    upload = form["file"]
    assert not isinstance(upload, str)
    data = await upload.read()
    digest = hashlib.sha256(data).hexdigest()
    return JSONResponse(
        {
            "artifact_id": "art_" + digest[:32],
            "session_id": form["session_id"],
            "artifact_type": form["artifact_type"],
            "name": form["name"],
            "llm_type": form.get("llm_type"),
            "size": len(data),
            "sha256": digest,
            "content_type": upload.content_type or "application/octet-stream",
            "created_at": "2026-01-01T00:00:00Z",
        },
        status_code=201,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def echo_server() -> Iterator[str]:
    app = Starlette(routes=[Route("/api/artifacts", echo_upload, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "echo server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_multipart_upload_round_trips_bytes_containing_the_old_boundary(echo_server: str) -> None:
    client = AuthenticatedClient(
        base_url=echo_server, token="test-key", prefix="", auth_header_name="X-API-Key"
    )
    body = ArtifactUpload(
        session_id="ses_1",
        artifact_type="model",
        name="spiking_lm.pth",
        file=File(payload=io.BytesIO(TRICKY), file_name="spiking_lm.pth"),
        llm_type="SpikingEvoTextLM",
    )
    response = upload_artifact.sync_detailed(client=client, body=body)
    assert response.status_code == 201
    artifact = response.parsed
    assert isinstance(artifact, Artifact)
    assert artifact.size == len(TRICKY)
    assert artifact.sha256 == hashlib.sha256(TRICKY).hexdigest()
    assert artifact.llm_type == "SpikingEvoTextLM"
