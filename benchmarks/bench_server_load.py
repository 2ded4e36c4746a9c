"""Requests/s for ``GET /api/health`` and an artifact listing, under wrk on loopback.

Run: ``.venv/bin/python benchmarks/bench_server_load.py [--seconds 10] [--connections 32]``.
Uses ``wrk`` (``apt-get install wrk``) when it is on PATH, else a bounded asyncio httpx loader.
Each run is bounded in time and sends traffic to 127.0.0.1 only. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import time

import httpx
from bench_server_support import bench_server

SEEDED_ARTIFACTS = 200


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    p50 = re.search(r"50%\s+([0-9.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([0-9.]+)(us|ms|s)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "requests_per_s": rps,
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2),
        "p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 2),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


async def _httpx_load(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict:
    done = 0
    failures = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal done, failures
            while time.monotonic() < deadline:
                r = await client.get(url)
                done += 1
                failures += r.status_code >= 300

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return {"requests_per_s": round(done / elapsed, 1), "non_2xx": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "httpx"
    results: dict[str, object] = {
        "tool": tool,
        "seconds": args.seconds,
        "connections": args.connections,
    }
    with bench_server(EVOSPIKENET_LOAD_MODELS="false") as server:
        with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as c:
            sid = c.post("/api/sessions", json={"description": "load"}).json()["session_id"]
            for i in range(SEEDED_ARTIFACTS):
                c.post(
                    "/api/artifacts",
                    data={"session_id": sid, "artifact_type": "log", "name": f"a{i}.log"},
                    files={"file": (f"a{i}.log", f"log {i}".encode())},
                )
        targets = {
            "health": (f"{server.base_url}/api/health", {}),
            "list_artifacts_100": (f"{server.base_url}/api/artifacts?limit=100", server.headers),
        }
        for name, (url, headers) in targets.items():
            if tool == "wrk":
                results[name] = _wrk(url, headers, args.seconds, args.connections)
            else:
                results[name] = asyncio.run(
                    _httpx_load(url, headers, args.seconds, args.connections)
                )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
