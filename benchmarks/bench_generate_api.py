"""``/api/generate`` latency on a fresh ``evospikenet serve`` (bundled default model),
streamed (``"stream": true``) against whole answers: time to first token and tokens/s, and
``/api/health`` latency while 4 generations run concurrently.

Starts a real server on a free 127.0.0.1 port with a temporary data directory, waits until the
bundled default model answers, then measures with plain httpx:

    .venv/bin/python benchmarks/bench_generate_api.py --requests 20 \
        --json benchmarks/results_generate_api.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
PROMPTS = ("人工知能とは", "The for statement", "Return the number of items in", "A list is")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation, in milliseconds as given."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 0.5), 1),
        "p95_ms": round(percentile(values_ms, 0.95), 1),
        "max_ms": round(max(values_ms), 1) if values_ms else float("nan"),
        "mean_ms": round(statistics.fmean(values_ms), 1) if values_ms else float("nan"),
    }


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
    env["EVOSPIKENET_API_KEYS"] = API_KEY
    command = [sys.executable, "-m", "evospikenet", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--data-dir", str(data_dir), "--no-nodes"]
    with log_path.open("ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def wait_for_model(client: httpx.Client, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            r = client.post("/api/generate", json={"prompt": "a", "max_length": 1, "seed": 0})
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no model answered within {timeout} s")


def generate(client: httpx.Client, prompt: str, max_length: int, seed: int) -> float:
    started = time.perf_counter()
    r = client.post(
        "/api/generate", json={"prompt": prompt, "max_length": max_length, "seed": seed}
    )
    elapsed = (time.perf_counter() - started) * 1000
    r.raise_for_status()
    return elapsed


def timed_generation(
    client: httpx.Client, prompt: str, max_length: int, seed: int, *, stream: bool
) -> dict[str, float]:
    """One generation: ms to the first text (for a whole answer: to the answer), ms to the
    end, and the tokens generated."""
    body = {"prompt": prompt, "max_length": max_length, "seed": seed, "stream": stream}
    started = time.perf_counter()
    first: float | None = None
    result: dict[str, Any] = {}
    with client.stream("POST", "/api/generate", json=body) as response:
        response.raise_for_status()
        if not stream:
            result = json.loads(response.read())
        else:
            event = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    if event == "chunk" and first is None:
                        first = time.perf_counter()
                    elif event == "done":
                        result = json.loads(line.removeprefix("data: "))
                    elif event == "error":
                        raise RuntimeError(line)
    ended = time.perf_counter()
    return {
        "first_ms": ((first or ended) - started) * 1000,
        "total_ms": (ended - started) * 1000,
        "tokens": float(result["generated_tokens"]),
    }


def streamed_vs_whole(client: httpx.Client, requests: int, max_length: int) -> dict[str, Any]:
    """The same prompts and seeds, alternating whole and streamed answers."""
    runs: dict[str, list[dict[str, float]]] = {"whole": [], "streamed": []}
    for i in range(requests):
        for name in ("whole", "streamed"):
            prompt = PROMPTS[i % len(PROMPTS)]
            runs[name].append(
                timed_generation(client, prompt, max_length, seed=i, stream=name == "streamed")
            )
    report: dict[str, Any] = {}
    for name, items in runs.items():
        tokens = sum(item["tokens"] for item in items)
        seconds = sum(item["total_ms"] for item in items) / 1000
        report[name] = {
            "time_to_first_token": summary([item["first_ms"] for item in items]),
            "total": summary([item["total_ms"] for item in items]),
            "tokens_per_request_mean": round(tokens / len(items), 1),
            "tokens_per_s": round(tokens / seconds, 1),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20, help="sequential generate requests")
    parser.add_argument("--max-length", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--per-worker", type=int, default=5, help="generations per worker")
    parser.add_argument(
        "--stream-requests", type=int, default=10, help="generations each, streamed and whole"
    )
    parser.add_argument("--stream-max-length", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        port = free_port()
        log_path = Path(tmp) / "server.log"
        process = start_server(Path(tmp) / "data", port, log_path)
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": API_KEY}
        try:
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                wait_for_model(client, process, timeout=120)
                sequential = [
                    generate(client, PROMPTS[i % len(PROMPTS)], args.max_length, seed=i)
                    for i in range(args.requests)
                ]
                streaming = streamed_vs_whole(client, args.stream_requests, args.stream_max_length)
                health_idle = []
                for _ in range(20):
                    started = time.perf_counter()
                    client.get("/api/health").raise_for_status()
                    health_idle.append((time.perf_counter() - started) * 1000)

                concurrent: list[float] = []
                lock = threading.Lock()

                def worker(index: int) -> None:
                    with httpx.Client(base_url=base, headers=headers, timeout=300) as own:
                        for j in range(args.per_worker):
                            ms = generate(own, PROMPTS[index % len(PROMPTS)], args.max_length, j)
                            with lock:
                                concurrent.append(ms)

                threads = [
                    threading.Thread(target=worker, args=(i,)) for i in range(args.concurrency)
                ]
                started_all = time.perf_counter()
                for thread in threads:
                    thread.start()
                health_busy: list[float] = []
                while any(t.is_alive() for t in threads):
                    started = time.perf_counter()
                    client.get("/api/health").raise_for_status()
                    health_busy.append((time.perf_counter() - started) * 1000)
                    time.sleep(0.05)
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - started_all
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    results: dict[str, Any] = {
        "max_length": args.max_length,
        "generate_sequential": summary(sequential),
        f"streamed_vs_whole_max_length_{args.stream_max_length}": streaming,
        "health_idle": summary(health_idle),
        f"generate_with_{args.concurrency}_concurrent": {
            **summary(concurrent),
            "requests_per_s": round(len(concurrent) / wall, 2),
        },
        f"health_during_{args.concurrency}_concurrent_generations": summary(health_busy),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
