"""Does heavy input stall the server? ``GET /api/health`` latency while 4 clients send
maximum-size media prompts and uploads at the same time.

Run: ``.venv/bin/python benchmarks/bench_server_stall.py [--seconds 20] [--upload-mib 64]``.

The server runs on a free 127.0.0.1 port with its default media limit (16 MiB decoded per image
or audio) and ``EVOSPIKENET_MAX_UPLOAD_BYTES`` set to ``--upload-mib``. Two clients send prompts
whose image and audio are both at the media limit (a ~43 MiB JSON body); two send uploads at the
upload limit. A prober sends ``GET /api/health`` one after another (every 10 ms) first at idle,
then during the load, and reports p50/p99/max. The load runs in a separate process (at nice
10) so that the prober's timing does not share its interpreter or lose the CPU to it. With
``--idempotency-key`` every heavy request carries a fresh ``Idempotency-Key`` (the server then
also fingerprints each body). Bounded: ``--seconds`` per phase, loopback only. Prints one JSON
object, with the machine's load average (1/5/15 min) before and after: on a shared machine the
tail depends on it, so compare runs only at a similar load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_server_support import bench_server

MIB = 1024 * 1024
MEDIA_BYTES = 16 * MIB  # the server's default EVOSPIKENET_MAX_MEDIA_BYTES
PROBE_INTERVAL = 0.01


def _prompt_body() -> bytes:
    import base64

    media = base64.b64encode(os.urandom(MEDIA_BYTES)).decode()
    return json.dumps({"prompt": "describe", "image": media, "audio": media}).encode()


def _load(
    base_url: str,
    headers: dict[str, str],
    seconds: float,
    upload_mib: int,
    out: Any,
    kinds: tuple[str, ...] = ("prompt", "prompt", "upload", "upload"),
    idempotency: bool = False,
) -> None:
    """Four client threads (two prompt senders, two uploaders) until ``seconds`` pass. The
    process runs at a lower CPU priority (nice 10): on a small shared machine, its own work of
    building and sending the bodies must not be what delays the prober or the server."""
    os.nice(10)
    prompt = _prompt_body()
    upload = os.urandom(upload_mib * MIB)
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        session_id = client.post("/api/sessions", json={"description": "stall"}).json()[
            "session_id"
        ]
    counts: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop(kind: str) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            while time.monotonic() < deadline:
                key = {"Idempotency-Key": uuid.uuid4().hex} if idempotency else {}
                if kind == "prompt":
                    r = client.post(
                        "/api/distributed_brain/prompt",
                        content=prompt,
                        headers={"Content-Type": "application/json", **key},
                    )
                else:
                    r = client.post(
                        "/api/artifacts",
                        data={"session_id": session_id, "artifact_type": "dataset", "name": "b"},
                        files={"file": ("big.bin", upload, "application/octet-stream")},
                        headers=key,
                    )
                with lock:
                    key = f"{kind}_{r.status_code}"
                    counts[key] = counts.get(key, 0) + 1

    threads = [threading.Thread(target=client_loop, args=(kind,)) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(counts)


def _probe(base_url: str, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            r = client.get("/api/health")
            latencies.append((time.perf_counter() - started) * 1000)
            failures += r.status_code != 200
            time.sleep(PROBE_INTERVAL)
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "max_ms": round(latencies[-1], 1),
        "non_200": failures,
    }


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process's main thread (the event loop) and of all its
    threads, in seconds (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used(stat: str) -> float:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return used(f"/proc/{pid}/task/{pid}/stat"), used(f"/proc/{pid}/stat")


def _load_average() -> list[float]:
    return [float(figure) for figure in Path("/proc/loadavg").read_text().split()[:3]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--upload-mib", type=int, default=64)
    parser.add_argument(
        "--clients",
        default="prompt,prompt,upload,upload",
        help="what each load client sends (default: two prompt senders, two uploaders)",
    )
    parser.add_argument(
        "--idempotency-key", action="store_true", help="send every heavy request with a fresh key"
    )
    args = parser.parse_args()
    kinds = tuple(args.clients.split(","))
    env = {
        "EVOSPIKENET_LOAD_MODELS": "false",
        "EVOSPIKENET_MAX_UPLOAD_BYTES": str(args.upload_mib * MIB),
    }
    load_before = _load_average()
    with bench_server(**env) as server:
        idle = _probe(server.base_url, min(args.seconds, 5.0))
        results: multiprocessing.Queue[dict[str, int]] = multiprocessing.Queue()
        loader = multiprocessing.Process(
            target=_load,
            args=(
                server.base_url,
                server.headers,
                args.seconds + 3,
                args.upload_mib,
                results,
                kinds,
                args.idempotency_key,
            ),
        )
        cpu_before = _cpu_seconds(server.process.pid)
        loader.start()
        time.sleep(3)  # the loader builds its bodies and starts sending
        loaded = _probe(server.base_url, args.seconds)
        counts = results.get(timeout=300)
        loader.join(60)
        cpu_after = _cpu_seconds(server.process.pid)
    body_mib = {"prompt": 2 * MEDIA_BYTES * 4 / 3 / MIB, "upload": args.upload_mib}
    received_mib = sum(n * body_mib[key.split("_")[0]] for key, n in counts.items())
    loop_cpu, all_cpu = (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])
    print(
        json.dumps(
            {
                "health_idle": idle,
                "health_under_load": loaded,
                "load_requests": counts,
                "media_bytes": MEDIA_BYTES,
                "upload_bytes": args.upload_mib * MIB,
                "seconds": args.seconds,
                "idempotency_key": args.idempotency_key,
                "load_average_before_after": [load_before, _load_average()],
                "server_cpu_ms_per_mib": {
                    "event_loop": round(loop_cpu * 1000 / received_mib, 2),
                    "all_threads": round(all_cpu * 1000 / received_mib, 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
