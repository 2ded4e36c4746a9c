"""The Idempotency-Key fingerprint: every body byte counts (also a file part's), and keys
stored with the earlier sha256 fingerprint still replay."""

from __future__ import annotations

import hashlib
import json

import httpx
from sqlalchemy import select, update


def _upload_body(session_id: str, content: bytes) -> bytes:
    return (
        b'--fpb\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
        + session_id.encode()
        + b'\r\n--fpb\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\nlog'
        b'\r\n--fpb\r\nContent-Disposition: form-data; name="name"\r\n\r\nx.bin'
        b'\r\n--fpb\r\nContent-Disposition: form-data; name="file"; filename="x.bin"'
        b"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--fpb--\r\n"
    )


def test_one_flipped_byte_in_a_large_file_part_is_another_body(server):
    content = bytearray(range(256)) * 12_289  # ~3 MiB: many receive messages
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as c:
        sid = c.post("/api/sessions", json={"description": "fp"}).json()["session_id"]
        h = {"Idempotency-Key": "fp-large", "Content-Type": "multipart/form-data; boundary=fpb"}
        first = c.post("/api/artifacts", content=_upload_body(sid, bytes(content)), headers=h)
        assert first.status_code == 201, first.text
        again = c.post("/api/artifacts", content=_upload_body(sid, bytes(content)), headers=h)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        content[len(content) // 2] ^= 1
        other = c.post("/api/artifacts", content=_upload_body(sid, bytes(content)), headers=h)
        assert other.status_code == 422 and other.json()["code"] == "IDEM_001"
        assert c.get(f"/api/sessions/{sid}").json()["artifact_count"] == 1


def test_a_key_stored_with_a_sha256_fingerprint_still_replays(tmp_path, database_urls):
    from fastapi.testclient import TestClient

    from evospikenet.server.app import create_app
    from evospikenet.server.settings import Settings
    from evospikenet.server.tables import IdempotencyRow

    settings = Settings(
        data_dir=tmp_path,
        api_keys=("k",),
        load_models=False,
        access_log=False,
        database_url=database_urls(),
    )
    app = create_app(settings)
    body = json.dumps({"description": "before the upgrade"}).encode()
    headers = {"X-API-Key": "k", "Idempotency-Key": "stored-as-sha256"}
    headers["Content-Type"] = "application/json"
    with TestClient(app, headers=headers) as client:
        first = client.post("/api/sessions", content=body)
        assert first.status_code == 201
        state = app.state.server
        old = hashlib.sha256(b"POST /api/sessions\n" + body).hexdigest()
        row = IdempotencyRow.key == "stored-as-sha256"
        with state.db.session() as db:
            assert db.scalar(select(IdempotencyRow.request_sha256).where(row)).startswith("xxh3")
            db.execute(update(IdempotencyRow).where(row).values(request_sha256=old))
        replayed = client.post("/api/sessions", content=body)
        assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
        assert replayed.json() == first.json()
        other = client.post("/api/sessions", content=body.replace(b"before", b"after"))
        assert other.status_code == 422 and other.json()["code"] == "IDEM_001"
