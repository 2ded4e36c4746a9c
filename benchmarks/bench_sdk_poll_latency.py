"""Time from a prompt's completion to ``poll_for_result`` returning it.

The real server runs in this process (uvicorn in a thread on 127.0.0.1) so the benchmark can
act as the simulation: a thread completes the prompt through the server's own queue
(``PromptQueue.complete``, what a node's result goes through) at a recorded instant, while
the SDK long-polls over a loopback socket with the document's defaults
(``timeout=120, interval=5``):

    .venv/bin/python benchmarks/bench_sdk_poll_latency.py --prompts 30
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_sdk_common import REPO, percentile

sys.path.insert(0, str(REPO / "tests" / "sdk"))

from inprocess_server import InProcessServer

from evospikenet.sdk import EvoSpikeNetAPIClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds before completing")
    args = parser.parse_args()
    lags_ms: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="evospikenet-bench-poll-") as tmp,
        InProcessServer(Path(tmp) / "data") as live,
    ):
        client = EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key)
        for n in range(args.prompts):
            prompt_id = client.submit_prompt(prompt=f"prompt {n}")["prompt_id"]
            completed_at: list[float] = []

            def complete(pid: str = prompt_id, stamps: list[float] = completed_at) -> None:
                time.sleep(args.delay)
                stamps.append(time.perf_counter())
                live.queue.complete(pid, "answer")

            threading.Thread(target=complete, daemon=True).start()
            result = client.poll_for_result(prompt_id, timeout=120, interval=5)
            returned = time.perf_counter()
            assert result is not None and result["response"] == "answer"
            lags_ms.append((returned - completed_at[0]) * 1000)
        client.close()
    print(
        json.dumps(
            {
                "prompts": len(lags_ms),
                "lag_p50_ms": round(percentile(lags_ms, 0.5), 2),
                "lag_p90_ms": round(percentile(lags_ms, 0.9), 2),
                "lag_max_ms": round(max(lags_ms), 2),
                "plain_polling_expected_mean_ms": 5000 / 2,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
