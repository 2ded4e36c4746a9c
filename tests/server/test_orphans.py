"""Nothing orphaned: blobs are pinned until their row is written, a failed request's blobs are
deleted unless something else needs them, and the collector, at start and while the server
runs, deletes only provably abandoned files (older than the grace period, unpinned, referenced
by no row; temp files that no writer holds open)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

import httpx
from slow_upload import finish_upload, slow_upload

from evospikenet.server.blobstore import BlobStore


def _age(path: Path, seconds: float = 3600) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _blob_path(root: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return root / "blobs" / digest[:2] / digest[2:4] / digest


def _no_rows(_digests: list[str]) -> set[str]:
    return set()


def test_pins_and_abandon_with_real_files(tmp_path):
    store = BlobStore(tmp_path)
    store.open()
    digest = store.put_bytes(b"one")
    again = store.put_bytes(b"one")  # a second request with the same bytes
    assert digest == again and store.pins[digest] == 2
    path = store.path_for(digest)
    _age(path)
    # pinned: the collector keeps it whatever its age
    assert store.remove_unreferenced(_no_rows, grace_seconds=60) == 0 and path.exists()
    # one request fails: the other still needs the blob
    assert store.abandon(digest, referenced=lambda _: False) is False and path.exists()
    # the other fails too, but a row references the bytes: kept
    assert store.abandon(digest, referenced=lambda _: True) is False and path.exists()
    assert store.pins[digest] == 0
    other = store.put_bytes(b"two")
    assert store.abandon(other, referenced=lambda _: False) is True
    assert not store.path_for(other).exists()
    # released and unreferenced: collected once older than the grace period
    assert store.remove_unreferenced(_no_rows, grace_seconds=60) == 1 and not path.exists()


def test_a_committed_duplicate_is_fresh_again(tmp_path):
    store = BlobStore(tmp_path)
    store.open()
    digest = store.put_bytes(b"same")
    store.release(digest)
    _age(store.path_for(digest))
    store.release(store.put_bytes(b"same"))  # dedup: the existing file is touched
    assert store.remove_unreferenced(_no_rows, grace_seconds=60) == 0


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
    sock, rest = slow_upload(live, session_id)
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
        answer = finish_upload(sock, rest)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    finally:
        sock.close()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=30) as c:
        listed = c.get(f"/api/sessions/{session_id}/artifacts").json()
        assert sorted(a["name"] for a in listed) == ["kept.bin", "slow.bin"]
        for artifact in listed:
            assert c.get(f"/api/artifacts/{artifact['artifact_id']}/download").status_code == 200
