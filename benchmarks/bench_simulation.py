"""Distributed-brain latency: submit → result per modality and for 50 concurrent prompts, and
each node's spike rate, on a real ``evospikenet serve`` with one local node of each role.

Starts a server on a free 127.0.0.1 port (temporary data dir, Zenoh bridge on a free loopback
port), uploads ``--model-dir`` as the newest model session if given (the output folder of
``evospikenet train --out``; otherwise the server's bundled default is used), starts the four
nodes with ``launch_local_nodes``, then measures through the SDK (submit, long-poll result):

    .venv/bin/python benchmarks/bench_simulation.py --per-modality 20 \\
        --model-dir /tmp/trained --json benchmarks/results_simulation.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet.simulation.launcher import launch_local_nodes

REPO = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
MODEL_FILES = (
    ("config", "config.json"),
    ("model", "spiking_lm.pth"),
    ("tokenizer", "spiking_lm_tokenizer.zip"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def image_bytes(index: int) -> bytes:
    """A 320x240 PNG whose colour and stripes depend on ``index``."""
    pixels = np.zeros((240, 320, 3), dtype=np.uint8)
    pixels[..., index % 3] = 200
    pixels[:, :: 4 + index % 5] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(index: int, seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A one-second 16 kHz tone whose pitch depends on ``index``."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.4 * np.sin(2 * np.pi * (300 + 97 * index) * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


class Bench:
    """The server process, the nodes and the media files."""

    def __init__(self, root: Path, model_dir: Path | None) -> None:
        self.root = root
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"tcp/127.0.0.1:{free_port()}"
        self.log_dir = root / "logs"
        self.model_dir = model_dir
        self.server: subprocess.Popen[bytes] | None = None
        self.nodes: Any = None
        self.media = root / "media"
        self.media.mkdir(parents=True)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
        env.update(
            EVOSPIKENET_API_KEYS=API_KEY,
            EVOSPIKENET_SIM_ENDPOINT=self.endpoint,
            EVOSPIKENET_SIM_LOCAL_NODES="false",
            EVOSPIKENET_ACCESS_LOG="false",
        )
        command = [sys.executable, "-m", "evospikenet", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.root / "data")]
        with open(self.root / "server.log", "ab") as out:
            self.server = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=REPO)
        client = self.client()
        if not client.wait_for_server(timeout=60, interval=1):
            raise SystemExit("the server did not start; see " + str(self.root / "server.log"))
        if self.model_dir is not None:
            session = client.create_log_session("bench_simulation model")
            for kind, name in MODEL_FILES:
                client.upload_artifact(
                    session["session_id"], kind, name, self.model_dir / name, "SpikingEvoTextLM"
                )
        self.nodes = launch_local_nodes(self.endpoint, self.base_url, self.log_dir, API_KEY)
        deadline = time.monotonic() + 120
        while (
            sum(n["status"] in ("idle", "busy") for n in client.get_simulation_status()["nodes"])
            < 4
        ):
            if time.monotonic() > deadline:
                raise SystemExit("the four nodes did not come up; see " + str(self.log_dir))
            time.sleep(0.5)
        client.close()

    def stop(self) -> None:
        if self.nodes is not None:
            self.nodes.stop()
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=30)

    def client(self) -> EvoSpikeNetAPIClient:
        return EvoSpikeNetAPIClient(self.base_url, api_key=API_KEY)

    def prompt_files(self, kind: str, index: int) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if kind in ("text", "all", "text+image"):
            fields["prompt"] = f"Prompt number {index}: what do you sense?"
        if kind in ("image", "all", "text+image"):
            path = self.media / f"image{index}.png"
            if not path.exists():
                path.write_bytes(image_bytes(index))
            fields["image_path"] = path
        if kind in ("audio", "all"):
            path = self.media / f"sound{index}.wav"
            if not path.exists():
                path.write_bytes(wav_bytes(index))
            fields["audio_path"] = path
        return fields


GENERATED = re.compile(r"-> (\d+) generated")


def generated_tokens(response: Any) -> int | None:
    """The language node's generated-token count quoted in a response, if any."""
    found = GENERATED.search(response) if isinstance(response, str) else None
    return int(found.group(1)) if found else None


def wait_result(client: EvoSpikeNetAPIClient, prompt_id: str) -> dict[str, Any]:
    while True:
        result = client.get_simulation_result(prompt_id, wait=30)
        if result["state"] in ("completed", "failed"):
            return dict(result)


def one_prompt(client: EvoSpikeNetAPIClient, fields: dict[str, Any]) -> tuple[float, str, Any]:
    """Submit, long-poll until terminal; seconds taken, final state, response."""
    started = time.perf_counter()
    result = wait_result(client, client.submit_prompt(**fields)["prompt_id"])
    return time.perf_counter() - started, str(result["state"]), result["response"]


def summarize(latencies: list[float], states: list[str], tokens: list[int]) -> dict[str, Any]:
    return {
        "n": len(latencies),
        "completed": states.count("completed"),
        "failed": states.count("failed"),
        "mean_generated_tokens": round(statistics.mean(tokens), 1) if tokens else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def sequential(bench: Bench, kind: str, count: int) -> dict[str, Any]:
    latencies: list[float] = []
    states: list[str] = []
    tokens: list[int] = []
    with bench.client() as client:
        one_prompt(client, bench.prompt_files(kind, 999))  # warm-up, not counted
        for index in range(count):
            seconds, state, response = one_prompt(client, bench.prompt_files(kind, index))
            latencies.append(seconds)
            states.append(state)
            if (count_ := generated_tokens(response)) is not None:
                tokens.append(count_)
    return summarize(latencies, states, tokens)


def concurrent(bench: Bench, clients: int, each: int, kind: str) -> dict[str, Any]:
    latencies: list[float] = []
    states: list[str] = []
    tokens: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def work(client_index: int) -> None:
        with bench.client() as client:
            files = [bench.prompt_files(kind, client_index * each + j) for j in range(each)]
            barrier.wait()
            submitted: list[tuple[float, str]] = []
            for fields in files:
                submitted.append((time.perf_counter(), client.submit_prompt(**fields)["prompt_id"]))
            for started, prompt_id in submitted:
                result = wait_result(client, prompt_id)
                with lock:
                    latencies.append(time.perf_counter() - started)
                    states.append(str(result["state"]))
                    if (count_ := generated_tokens(result["response"])) is not None:
                        tokens.append(count_)

    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    summary = summarize(latencies, states, tokens)
    summary.update(wall_s=round(wall, 2), prompts_per_s=round(len(latencies) / wall, 2))
    return summary


def node_figures(bench: Bench) -> list[dict[str, Any]]:
    with bench.client() as client:
        status = client.get_simulation_status()
    return [
        {k: node.get(k) for k in ("id", "type", "rank", "status", "prompts_done", "spike_rate")}
        for node in status["nodes"]
    ]


def model_origin(bench: Bench) -> str:
    log = (bench.log_dir / "sim_rank_1.log").read_text(errors="replace")
    marker = "language model loaded from "
    found = [line.split(marker, 1)[1] for line in log.splitlines() if marker in line]
    return found[-1] if found else "no model loaded (see sim_rank_1.log)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-modality", type=int, default=20)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--each", type=int, default=10)
    parser.add_argument("--concurrent-kind", default="text+image")
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the node logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        bench = Bench(Path(tmp), args.model_dir)
        report: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_avg_before": os.getloadavg()}
        try:
            bench.start()
            report["model"] = model_origin(bench)
            runs: list[tuple[str, Callable[[], dict[str, Any]]]] = [
                (kind, lambda kind=kind: sequential(bench, kind, args.per_modality))
                for kind in ("text", "image", "audio", "all")
            ]
            runs.append(
                (
                    f"concurrent {args.clients}x{args.each} {args.concurrent_kind}",
                    lambda: concurrent(bench, args.clients, args.each, args.concurrent_kind),
                )
            )
            report["latency"] = {}
            for name, run in runs:
                report["latency"][name] = run()
                print(name, json.dumps(report["latency"][name]), flush=True)
            report["nodes"] = node_figures(bench)
            report["load_avg_after"] = os.getloadavg()
        finally:
            bench.stop()
            if args.keep_logs is not None:
                shutil.copytree(bench.log_dir, args.keep_logs, dirs_exist_ok=True)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
