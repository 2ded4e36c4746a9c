"""Peak server RSS while a 1 GiB artifact is uploaded and downloaded over loopback.

Run: ``.venv/bin/python benchmarks/bench_server_transfer.py [--gib 1]``. Prints one JSON object.
The file is written to a temp folder first (random-looking bytes, so nothing compresses).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_server_support import bench_server

CHUNK = 1024 * 1024


def _write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(CHUNK)
    with path.open("wb") as handle:
        for i in range(size // CHUNK):
            piece = block[:-8] + i.to_bytes(8, "big")  # every MiB differs
            digest.update(piece)
            handle.write(piece)
    return digest.hexdigest()


class PeakSampler:
    """Samples the server's RSS every 50 ms (VmHWM also catches spikes between samples)."""

    def __init__(self, server) -> None:
        self.server = server
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, self.server.memory_kib()["VmRSS"])
            time.sleep(0.05)

    def __enter__(self) -> PeakSampler:
        self.server.reset_peak()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    size = int(args.gib * 1024) * CHUNK
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as tmp:
        source = Path(tmp) / "upload.bin"
        sha = _write_file(source, size)
        with (
            bench_server(
                EVOSPIKENET_LOAD_MODELS="false", EVOSPIKENET_MAX_UPLOAD_BYTES=str(size + CHUNK)
            ) as server,
            httpx.Client(base_url=server.base_url, headers=server.headers, timeout=600) as c,
        ):
            idle = server.memory_kib()["VmRSS"]
            sid = c.post("/api/sessions", json={"description": "bench"}).json()["session_id"]
            with PeakSampler(server) as up, source.open("rb") as handle:
                started = time.perf_counter()
                r = c.post(
                    "/api/artifacts",
                    data={
                        "session_id": sid,
                        "artifact_type": "dataset",
                        "name": "big.bin",
                        "sha256": sha,
                    },
                    files={"file": ("big.bin", handle, "application/octet-stream")},
                )
                upload_s = time.perf_counter() - started
            assert r.status_code == 201, r.text
            upload_hwm = server.memory_kib()["VmHWM"]
            artifact_id = r.json()["artifact_id"]
            with PeakSampler(server) as down:
                started = time.perf_counter()
                digest = hashlib.sha256()
                with c.stream("GET", f"/api/artifacts/{artifact_id}/download") as response:
                    for chunk in response.iter_raw(CHUNK):
                        digest.update(chunk)
                download_s = time.perf_counter() - started
            assert digest.hexdigest() == sha
            download_hwm = server.memory_kib()["VmHWM"]
    mib = size / CHUNK
    print(
        json.dumps(
            {
                "bytes": size,
                "server_rss_idle_mib": round(idle / 1024, 1),
                "upload": {
                    "seconds": round(upload_s, 2),
                    "mib_per_s": round(mib / upload_s, 1),
                    "server_peak_rss_mib": round(max(up.peak_rss, upload_hwm) / 1024, 1),
                },
                "download": {
                    "seconds": round(download_s, 2),
                    "mib_per_s": round(mib / download_s, 1),
                    "server_peak_rss_mib": round(max(down.peak_rss, download_hwm) / 1024, 1),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
