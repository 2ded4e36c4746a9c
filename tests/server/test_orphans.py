"""Nothing orphaned: blobs are pinned until their row is written, a failed request's blobs are
deleted unless something else needs them, and the collector, at start and while the server
runs, deletes only provably abandoned files (older than the grace period, unpinned, referenced
by no row; temp files that no writer holds open)."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from pathlib import Path

import httpx

from evospikenet.server.blobstore import BlobStore


def _age(path: Path, seconds: float = 3600) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _blob_path(root: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return root / "blobs" / digest[:2] / digest[2:4] / digest


def test_pins_and_abandon_with_real_files(tmp_path):
    store = BlobStore(tmp_path)
    store.open()
    digest = store.put_bytes(b"one")
    again = store.put_bytes(b"one")  # a second request with the same bytes
    assert digest == again and store.pins[digest] == 2
    path = store.path_for(digest)
    _age(path)
    # pinned: the collector keeps it whatever its age
    assert store.remove_unreferenced(set, grace_seconds=60) == 0 and path.exists()
    # one request fails: the other still needs the blob
    assert store.abandon(digest, referenced=lambda _: False) is False and path.exists()
    # the other fails too, but a row references the bytes: kept
    assert store.abandon(digest, referenced=lambda _: True) is False and path.exists()
    assert store.pins[digest] == 0
    other = store.put_bytes(b"two")
    assert store.abandon(other, referenced=lambda _: False) is True
    assert not store.path_for(other).exists()
    # released and unreferenced: collected once older than the grace period
    assert store.remove_unreferenced(set, grace_seconds=60) == 1 and not path.exists()


def test_a_committed_duplicate_is_fresh_again(tmp_path):
    store = BlobStore(tmp_path)
    store.open()
    digest = store.put_bytes(b"same")
    store.release(digest)
    _age(store.path_for(digest))
    store.release(store.put_bytes(b"same"))  # dedup: the existing file is touched
    assert store.remove_unreferenced(set, grace_seconds=60) == 0


def _slow_upload(live, session_id: str) -> tuple[socket.socket, bytes]:
    boundary = "orphanboundary"
    head_fields = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{session_id}'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\ndataset'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow.bin'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.bin"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    data = os.urandom(3 * 1024 * 1024)
    tail = f"\r\n--{boundary}--\r\n".encode()
    head = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: x\r\nX-API-Key: {live.api_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head_fields) + len(data) + len(tail)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=30)
    sock.sendall(head + head_fields + data[: 2 * 1024 * 1024])
    return sock, data[2 * 1024 * 1024 :] + tail


def test_orphans_are_collected_while_the_server_runs_and_nothing_else(make_server):
    live = make_server(
        EVOSPIKENET_LOAD_MODELS="false",
        EVOSPIKENET_PURGE_INTERVAL_SECONDS="0.5",
        EVOSPIKENET_ORPHAN_GRACE_SECONDS="30",
    )
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=30) as c:
        session_id = c.post("/api/sessions", json={"description": "gc"}).json()["session_id"]
        kept = b"referenced " + uuid.uuid4().bytes
        r = c.post(
            "/api/artifacts",
            data={"session_id": session_id, "artifact_type": "dataset", "name": "kept.bin"},
            files={"file": ("kept.bin", kept)},
        )
        assert r.status_code == 201, r.text
    referenced = _blob_path(live.data_dir, kept)
    _age(referenced)
    # what a crash between rename and row commit, or of a writer, leaves behind
    orphan = _blob_path(live.data_dir, b"orphan")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"orphan")
    _age(orphan)
    stale_temp = live.data_dir / "tmp" / "upload-crashed"
    stale_temp.write_bytes(b"partial")
    _age(stale_temp)
    young = _blob_path(live.data_dir, b"young orphan")  # within the grace period: kept for now
    young.parent.mkdir(parents=True, exist_ok=True)
    young.write_bytes(b"young orphan")
    # an upload in progress whose temp file looks old: its writer holds it open
    sock, rest = _slow_upload(live, session_id)
    try:
        deadline = time.monotonic() + 10
        temps: list[Path] = []
        while time.monotonic() < deadline and not temps:
            temps = [p for p in (live.data_dir / "tmp").glob("upload-*") if p != stale_temp]
            time.sleep(0.05)
        assert len(temps) == 1
        _age(temps[0])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (orphan.exists() or stale_temp.exists()):
            time.sleep(0.2)
        assert not orphan.exists() and not stale_temp.exists()
        time.sleep(1.5)  # at least one more pass with the upload still open
        assert referenced.exists() and young.exists() and temps[0].exists()
        sock.sendall(rest)
        answer = sock.recv(65536)
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    finally:
        sock.close()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=30) as c:
        listed = c.get(f"/api/sessions/{session_id}/artifacts").json()
        assert sorted(a["name"] for a in listed) == ["kept.bin", "slow.bin"]
        for artifact in listed:
            assert c.get(f"/api/artifacts/{artifact['artifact_id']}/download").status_code == 200
