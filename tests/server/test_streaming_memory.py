"""Uploads and downloads stream: the server's peak RSS barely moves for a 256 MiB file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

MIB = 1024 * 1024
SIZE = 256 * MIB
HEADROOM_MIB = 64


def _rss_kib(pid: int) -> dict[str, int]:
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            figures[name] = int(value.split()[0])
    return figures


def test_256_mib_round_trip_keeps_server_memory_flat(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    pid = live.process.pid
    block = hashlib.sha256(b"block").digest() * (MIB // 32)
    digest = hashlib.sha256()
    for _ in range(SIZE // MIB):
        digest.update(block)
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=120) as c:
        sid = c.post("/api/sessions", json={"description": "memory"}).json()["session_id"]
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
        baseline = _rss_kib(pid)["VmRSS"]
        boundary = "memoryboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{sid}'
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\n'
            f'dataset\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
            f'big\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big"\r\n\r\n'
        ).encode()

        def body():
            yield head
            for _ in range(SIZE // MIB):
                yield block
            yield f"\r\n--{boundary}--\r\n".encode()

        r = c.post(
            "/api/artifacts",
            content=body(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["size"] == SIZE and r.json()["sha256"] == digest.hexdigest()
        upload_peak = _rss_kib(pid)["VmHWM"]
        received = hashlib.sha256()
        with c.stream("GET", f"/api/artifacts/{r.json()['artifact_id']}/download") as response:
            for chunk in response.iter_raw(MIB):
                received.update(chunk)
        assert received.hexdigest() == digest.hexdigest()
        download_peak = _rss_kib(pid)["VmHWM"]
    assert (upload_peak - baseline) / 1024 < HEADROOM_MIB, (baseline, upload_peak)
    assert (download_peak - baseline) / 1024 < HEADROOM_MIB, (baseline, download_peak)
