"""SDK overhead per call against a raw httpx request to the same endpoint.

One run, interleaved in ABBA order (SDK, raw, raw, SDK, ...) on one live server, both with a warm
connection pool, so drift of the machine affects both alike:

    .venv/bin/python benchmarks/bench_sdk_overhead.py --calls 500

Endpoints: ``GET /api/health`` (no auth) and ``GET /api/sessions/{id}`` (auth, a JSON object).
The raw side parses the JSON too, so the difference is what the SDK adds: the generated
client's request building and model parsing, the retry/error machinery, result types, stats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import httpx
from bench_sdk_common import API_KEY, percentile, serve

from evospikenet.sdk import EvoSpikeNetAPIClient


def measure(
    calls: int, sdk_call: Callable[[], object], raw_call: Callable[[], object]
) -> dict[str, float]:
    sdk: list[float] = []
    raw: list[float] = []
    for _ in range(20):  # warm both pools and code paths
        sdk_call()
        raw_call()
    for index in range(calls):
        pair = [(sdk_call, sdk), (raw_call, raw)]
        for call, times in pair if index % 2 == 0 else reversed(pair):  # ABBA order
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    sdk_ms = [v * 1000 for v in sdk]
    raw_ms = [v * 1000 for v in raw]
    return {
        "calls": calls,
        "sdk_p50_ms": round(percentile(sdk_ms, 0.5), 3),
        "raw_p50_ms": round(percentile(raw_ms, 0.5), 3),
        "sdk_p90_ms": round(percentile(sdk_ms, 0.9), 3),
        "raw_p90_ms": round(percentile(raw_ms, 0.9), 3),
        "ratio_p50": round(percentile(sdk_ms, 0.5) / percentile(raw_ms, 0.5), 3),
        "ratio_mean": round(statistics.fmean(sdk_ms) / statistics.fmean(raw_ms), 3),
        "overhead_p50_us": round((percentile(sdk_ms, 0.5) - percentile(raw_ms, 0.5)) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    with serve() as server:
        client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=API_KEY, max_retries=0)
        raw = httpx.Client(base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=10)
        session_id = client.create_log_session("bench")["session_id"]
        results = {
            "GET /api/health": measure(
                args.calls, client.get_health, lambda: raw.get("/api/health").json()
            ),
            "GET /api/sessions/{id}": measure(
                args.calls,
                lambda: client.get_session(session_id),
                lambda: raw.get(f"/api/sessions/{session_id}").json(),
            ),
        }
        client.close()
        raw.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
