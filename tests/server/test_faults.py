"""Faults caused for real: a server killed mid-upload, a download cut mid-stream, bodies over
the limit (declared and streamed)."""

from __future__ import annotations

import hashlib
import socket
import time

import httpx

MIB = 1024 * 1024


def _multipart_head(session_id: str, boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{session_id}'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\ndataset'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig.bin'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()


def _request_head(live, length: int | None, boundary: str) -> bytes:
    lines = [
        "POST /api/artifacts HTTP/1.1",
        f"Host: 127.0.0.1:{live.port}",
        f"X-API-Key: {live.api_key}",
        f"Content-Type: multipart/form-data; boundary={boundary}",
    ]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _blob_files(live) -> list:
    return [p for p in (live.data_dir / "blobs").rglob("*") if p.is_file()]


def test_server_killed_mid_upload_leaves_nothing(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    session_id = httpx.post(
        f"{live.base_url}/api/sessions", json={"description": "crash"}, headers=live.headers
    ).json()["session_id"]
    blobs_before = _blob_files(live)
    boundary = "crashboundary"
    head = _multipart_head(session_id, boundary)
    total = len(head) + 64 * MIB
    sock = socket.create_connection(("127.0.0.1", live.port))
    try:
        sock.sendall(_request_head(live, total, boundary) + head)
        chunk = b"\xab" * MIB
        for _ in range(8):
            sock.sendall(chunk)
        deadline = time.monotonic() + 10
        temp_files: list = []
        while time.monotonic() < deadline:  # the server is writing the temp file now
            temp_files = [p for p in (live.data_dir / "tmp").glob("upload-*") if p.stat().st_size]
            if temp_files:
                break
            time.sleep(0.05)
        assert temp_files, "the upload never reached the temp file"
        live.kill()
    finally:
        sock.close()
    live.start()
    listed = httpx.get(
        f"{live.base_url}/api/sessions/{session_id}/artifacts", headers=live.headers
    ).json()
    assert listed == []
    assert list((live.data_dir / "tmp").glob("*")) == []
    assert _blob_files(live) == blobs_before


def test_download_cut_mid_stream_then_resumed(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    data = hashlib.sha256(b"seed").digest() * (32 * MIB // 32)
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        sid = c.post("/api/sessions", json={"description": "cut"}).json()["session_id"]
        art = c.post(
            "/api/artifacts",
            data={"session_id": sid, "artifact_type": "dataset", "name": "d.bin"},
            files={"file": ("d.bin", data)},
        ).json()
    url = f"{live.base_url}/api/artifacts/{art['artifact_id']}/download"
    received = bytearray()
    with httpx.stream("GET", url, headers=live.headers, timeout=60) as response:
        assert response.headers["Content-Length"] == str(len(data))
        for chunk in response.iter_raw(64 * 1024):
            received += chunk
            if len(received) >= 3 * MIB:
                break  # leaving the block closes the connection mid-body
    assert 3 * MIB <= len(received) < len(data)
    assert httpx.get(f"{live.base_url}/api/health").status_code == 200
    rest = httpx.get(url, headers={**live.headers, "Range": f"bytes={len(received)}-"}, timeout=60)
    assert rest.status_code == 206
    assert bytes(received) + rest.content == data
    whole = httpx.get(url, headers=live.headers, timeout=60)
    assert hashlib.sha256(whole.content).hexdigest() == art["sha256"]
    assert '"status": 500' not in live.read_log()


def test_declared_body_over_the_limit_is_refused_before_reading(make_server):
    live = make_server(EVOSPIKENET_MAX_UPLOAD_BYTES=str(MIB), EVOSPIKENET_LOAD_MODELS="false")
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    try:
        # only the headers are sent: the answer must come without the body
        sock.sendall(_request_head(live, 100 * MIB, "b"))
        answer = ""
        while "ART_003" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk.decode("latin-1")
    finally:
        sock.close()
    assert answer.startswith("HTTP/1.1 413")
    assert "ART_003" in answer and "application/problem+json" in answer


def test_streamed_body_over_the_limit_is_413_and_leaves_nothing(make_server):
    live = make_server(EVOSPIKENET_MAX_UPLOAD_BYTES=str(MIB), EVOSPIKENET_LOAD_MODELS="false")
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        sid = c.post("/api/sessions", json={"description": "limit"}).json()["session_id"]
        head = _multipart_head(sid, "limitboundary")

        def body():  # a generator: httpx sends it chunked, with no Content-Length
            yield head
            for _ in range(4):
                yield b"\0" * MIB
            yield b"\r\n--limitboundary--\r\n"

        r = c.post(
            "/api/artifacts",
            content=body(),
            headers={"Content-Type": "multipart/form-data; boundary=limitboundary"},
        )
        assert r.status_code == 413 and r.json()["code"] == "ART_003"
        assert c.get(f"/api/sessions/{sid}").json()["artifact_count"] == 0
    assert list((live.data_dir / "tmp").glob("upload-*")) == []
    exact = b"\1" * MIB  # exactly at the limit is fine
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        r = c.post(
            "/api/artifacts",
            data={"session_id": sid, "artifact_type": "dataset", "name": "ok"},
            files={"file": ("ok", exact)},
        )
        assert r.status_code == 201 and r.json()["size"] == MIB


def test_client_gone_mid_upload_leaves_nothing_and_no_error(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    session_id = httpx.post(
        f"{live.base_url}/api/sessions", json={"description": "gone"}, headers=live.headers
    ).json()["session_id"]
    head = _multipart_head(session_id, "goneboundary")
    sock = socket.create_connection(("127.0.0.1", live.port))
    sock.sendall(_request_head(live, len(head) + 32 * MIB, "goneboundary") + head)
    for _ in range(4):
        sock.sendall(b"\x01" * MIB)
    sock.close()  # the client goes away mid-body
    deadline = time.monotonic() + 10
    while '"status": 499' not in live.read_log():
        assert time.monotonic() < deadline, live.read_log()[-2000:]
        time.sleep(0.05)
    assert list((live.data_dir / "tmp").glob("upload-*")) == []
    listed = httpx.get(
        f"{live.base_url}/api/sessions/{session_id}/artifacts", headers=live.headers
    ).json()
    assert listed == []
    assert "unhandled error" not in live.read_log()
