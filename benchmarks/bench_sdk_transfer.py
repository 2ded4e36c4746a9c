"""Upload and download throughput of the SDK against curl, with the SDK's peak RSS, and the
generated client's buffered download beside them.

    .venv/bin/python benchmarks/bench_sdk_transfer.py --size-mib 1024 [--repeat 2] [--async-client]

One live server on 127.0.0.1 (same machine, so server and client share the CPUs). Each
transfer runs in its own child process, which reports its wall time and peak RSS
(``ru_maxrss`` of itself and its children), so one measurement's memory never hides another's.
curl sends the same headers as the SDK (the API key, and a fresh Idempotency-Key on uploads, so
the server fingerprints both bodies alike). The SDK upload hashes the file while it sends it (one
pass) and adds its sha256 after it. The SDK download time includes verifying the sha256 and
the fsync + rename into place, which curl (``-o``) does not do; so downloads are also timed as
curl followed by an fsync of its file (``curl_fsync_download``: what the same durability costs
curl), and ``--download-dir /dev/shm`` takes the disk out of the comparison. Before each run,
``os.sync()`` (untimed) leaves no writeback of an earlier run to slow it. Each transfer runs
``--repeat`` times, curl and the SDK in turns (ABBA...); the median is reported, and every
run's figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench_sdk_common import API_KEY, Server, python_env, serve

RUNNER = r"""
import json, resource, subprocess, sys, time
kind, base_url, key, a, b = sys.argv[1:6]
import httpx
from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet_api_client import Client
from evospikenet_api_client.api.artifacts import download_artifact
sdk = EvoSpikeNetAPIClient(base_url=base_url, api_key=key, progress=False, max_retries=0)
started = time.perf_counter()  # after the imports: only the transfer is timed
if kind == "sdk_upload":
    out = sdk.upload_artifact(a, "dataset", "big.bin", b)["artifact_id"]
elif kind == "sdk_download":
    out = str(sdk.download_artifact(a, b))
elif kind.startswith("async_"):
    import asyncio
    from evospikenet.sdk import AsyncEvoSpikeNetAPIClient

    async def transfer():
        async with AsyncEvoSpikeNetAPIClient(
            base_url=base_url, api_key=key, progress=False, max_retries=0
        ) as client:
            if kind == "async_upload":
                return (await client.upload_artifact(a, "dataset", "big.bin", b))["artifact_id"]
            return str(await client.download_artifact(a, b))

    out = asyncio.run(transfer())
elif kind == "generated_download":
    c = Client(base_url=base_url, headers={"X-API-Key": key}, timeout=httpx.Timeout(300))
    r = download_artifact.sync_detailed(a, client=c)
    with open(b, "wb") as f:
        f.write(r.parsed.payload.getbuffer())
    out = r.status_code
elif kind == "curl_upload":
    import uuid
    cmd = ["curl", "-sS", "-f", "-o", "/dev/null", "-H", f"X-API-Key: {key}",
           "-H", f"Idempotency-Key: {uuid.uuid4()}",
           "-F", f"session_id={a}", "-F", "artifact_type=dataset", "-F", "name=big.bin",
           "-F", f"file=@{b};type=application/octet-stream", f"{base_url}/api/artifacts"]
    out = subprocess.run(cmd, check=True).returncode
elif kind in ("curl_download", "curl_fsync_download"):
    cmd = ["curl", "-sS", "-f", "-o", b, "-H", f"X-API-Key: {key}",
           f"{base_url}/api/artifacts/{a}/download"]
    out = subprocess.run(cmd, check=True).returncode
    if kind == "curl_fsync_download":  # as durable as the SDK's download when it returns
        import os
        fd = os.open(b, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
seconds = time.perf_counter() - started
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # imports included
print(json.dumps({"seconds": seconds, "rss_self_mib": me.ru_maxrss / 1024,
                  "rss_children_mib": kids.ru_maxrss / 1024, "client_cpu_s": cpu, "out": out}))
"""


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(kind: str, server: Server, a: str, b: str) -> dict[str, Any]:
    os.sync()  # no writeback or discard left from an earlier run to slow this one's disk
    before = cpu_seconds(server.process.pid)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, kind, server.base_url, API_KEY, a, b],
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    after = cpu_seconds(server.process.pid)
    if before is not None and after is not None:
        result["server_cpu_s"] = round(after - before, 2)
    return result


def make_file(path: Path, size: int) -> str:
    """Write ``size`` random-looking bytes to ``path``; their sha256."""
    chunk = os.urandom(16 * 1024 * 1024)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = chunk[: min(len(chunk), size - written)]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
        out.flush()
        os.fsync(out.fileno())  # no writeback of it left to slow down the first transfer
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def summary(runs: list[dict[str, Any]], mib: float) -> dict[str, Any]:
    """One kind's runs: the median throughput (and each run's), the worst RSS, median CPU."""
    speeds = [round(mib / r["seconds"], 1) for r in runs]
    entry: dict[str, Any] = {
        "mib_per_s": round(statistics.median(speeds), 1),
        "runs_mib_per_s": speeds,
        "rss_self_mib": round(max(r["rss_self_mib"] for r in runs), 1),
        "rss_children_mib": round(max(r["rss_children_mib"] for r in runs), 1),
        "client_cpu_s": round(statistics.median(r["client_cpu_s"] for r in runs), 2),
    }
    if all("server_cpu_s" in r for r in runs):
        entry["server_cpu_s"] = round(statistics.median(r["server_cpu_s"] for r in runs), 2)
    return entry


def interleaved(kinds: tuple[str, ...], repeat: int) -> list[str]:
    """``kinds`` ``repeat`` times, every other round reversed (ABBA...), so that neither side
    always runs first (after a fresh file, or behind the other's disk writeback)."""
    order: list[str] = []
    for round_ in range(repeat):
        order += kinds if round_ % 2 == 0 else kinds[::-1]
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each transfer")
    parser.add_argument("--skip-generated", action="store_true")
    parser.add_argument(
        "--async-client",
        action="store_true",
        help="also time AsyncEvoSpikeNetAPIClient (in the same ABBA turns)",
    )
    parser.add_argument(
        "--download-dir",
        type=Path,
        help="where the downloads are written (default: the run's temp folder, on the disk); "
        "a tmpfs such as /dev/shm takes the disk's speed out of the comparison, since the "
        "SDK's fsync then costs nothing",
    )
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    mib = size / 1024 / 1024
    with tempfile.TemporaryDirectory(prefix="evospikenet-bench-transfer-") as tmp:
        source = Path(tmp) / "big.bin"
        source_sha256 = make_file(source, size)
        with serve(EVOSPIKENET_MAX_UPLOAD_BYTES=str(size + 1024 * 1024)) as server:
            from evospikenet.sdk import EvoSpikeNetAPIClient

            client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=API_KEY)
            session_id = client.create_log_session("transfer bench")["session_id"]
            runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
            clients = ("sdk", "async") if args.async_client else ("sdk",)
            uploads = interleaved(("curl_upload", *(f"{c}_upload" for c in clients)), args.repeat)
            for kind in uploads:
                runs[kind].append(run(kind, server, session_id, str(source)))
            stored = client.list_artifacts(session_id=session_id)
            if [a["sha256"] for a in stored] != [source_sha256] * len(uploads):
                raise RuntimeError(f"an upload was stored with another sha256: {stored}")
            artifact_id = stored[0]["artifact_id"]
            downloads = interleaved(
                ("curl_download", "curl_fsync_download", *(f"{c}_download" for c in clients)),
                args.repeat,
            )
            if not args.skip_generated:
                downloads.append("generated_download")
            for kind in downloads:
                target = (args.download_dir or Path(tmp)) / f"evospikenet-bench-{kind}.bin"
                runs[kind].append(run(kind, server, artifact_id, str(target)))
                if sha256_of(target) != source_sha256:
                    raise RuntimeError(f"{kind}: the downloaded bytes differ from the source")
                target.unlink()
            client.close()
    results: dict[str, Any] = {"size_mib": mib, "repeat": args.repeat, "bytes_intact": True}
    results.update({kind: summary(kind_runs, mib) for kind, kind_runs in runs.items()})
    for client in clients:
        results[f"{client}_vs_curl"] = {
            way: round(
                results[f"{client}_{way}"]["mib_per_s"] / results[f"curl_{way}"]["mib_per_s"], 2
            )
            for way in ("upload", "download")
        }
        results[f"{client}_vs_curl_fsync"] = {
            "download": round(
                results[f"{client}_download"]["mib_per_s"]
                / results["curl_fsync_download"]["mib_per_s"],
                2,
            )
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
