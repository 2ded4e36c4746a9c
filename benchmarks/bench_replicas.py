"""Replicas: two ``evospikenet serve`` processes on one PostgreSQL and one S3 bucket.

Both servers keep their artifacts in a bucket of moto's S3-protocol server on loopback
(``EVOSPIKENET_BLOB_URL``), each with its own data folder (two "hosts").

Wake-ups: a prompt is submitted through server A; a long-poll waits for it on A and one on B; then a
third process (this script, through ``PromptQueue.complete``, what a bridge calls) completes
it. The figure is the time from that commit to each long-poll's answer: PostgreSQL
``NOTIFY`` (sent by a trigger in the completing transaction) → each server's ``LISTEN``
connection → its waiting readers. Load (``--load-seconds``): requests/s and p50/p99 of
``GET /api/artifacts?limit=100`` (200 more stored) from ``--connections`` clients in this process,
sent to A only, then spread over A and B. Queue (``--queue``): that many prompts submitted over
HTTP, alternately through A and B, then drained by two claimers (two bridges' worth of
``claim_next`` + ``complete``, each with its own engine) racing for them; it checks that every
prompt was claimed exactly once. Listing (``--listing 100,1000,10000``): 100 small
artifacts uploaded over HTTP (alternately through A and B, into the bucket), then rows added
with SQL up to each size, naming those 100 blobs (so every row's bytes are in the bucket); at
each size, ``GET /api/artifacts?limit=100`` (the first page, and the last full page by
cursor) timed on A and B, with PostgreSQL's ``EXPLAIN ANALYZE`` of the very query the server
sends. It runs before the load, which then lists from the grown table. Run against a throw-away
PostgreSQL:

    bash scripts/with_postgres.sh .venv/bin/python benchmarks/bench_replicas.py --prompts 30
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from bench_sdk_common import percentile
from bench_server_support import bench_server

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from live_server import _fresh_postgres_database  # noqa: E402
from s3_server import moto_s3  # noqa: E402
from sqlalchemy import event, insert, select, update  # noqa: E402

from evospikenet.server.blobstore import BlobStore  # noqa: E402
from evospikenet.server.brain.nodes import NodeRegistry  # noqa: E402
from evospikenet.server.brain.notifier import PromptNotifier  # noqa: E402
from evospikenet.server.brain.queue import PromptQueue  # noqa: E402
from evospikenet.server.catalog import Catalog  # noqa: E402
from evospikenet.server.db import Database, utcnow  # noqa: E402
from evospikenet.server.ids import new_id  # noqa: E402
from evospikenet.server.tables import ArtifactRow, SessionRow  # noqa: E402

LISTING_REPEATS = 40
BUCKET = "evospikenet-bench"


async def _load(urls: list[str], headers: dict[str, str], seconds: int, connections: int) -> dict:
    latencies: list[float] = []
    failures = 0
    targets = itertools.cycle(urls)
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=connections * len(urls))
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while time.monotonic() < deadline:
                started = time.perf_counter()
                answer = await client.get(next(targets))
                latencies.append((time.perf_counter() - started) * 1000)
                failures += answer.status_code != 200

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "non_200": failures,
    }


def _load_figures(a: Any, both: list[Any], seconds: int, connections: int) -> dict[str, Any]:
    if seconds <= 0:
        return {}
    with httpx.Client(base_url=a.base_url, headers=a.headers, timeout=60) as client:
        sid = client.post("/api/sessions", json={"description": "load"}).json()["session_id"]
        for i in range(200):
            client.post(
                "/api/artifacts",
                data={"session_id": sid, "artifact_type": "log", "name": f"a{i}.log"},
                files={"file": (f"a{i}.log", f"log {i}".encode())},
            )
    path = "/api/artifacts?limit=100"
    return {
        "load_connections": connections,
        "list_100_one_process": asyncio.run(
            _load([a.base_url + path], a.headers, seconds, connections)
        ),
        "list_100_two_processes": asyncio.run(
            _load([s.base_url + path for s in both], a.headers, seconds, connections)
        ),
    }


def _timed_get(client: httpx.Client, url: str, repeats: int) -> dict[str, float]:
    """p50/p99 in ms of ``repeats`` sequential GETs (after 3 unmeasured ones)."""
    times = []
    for n in range(repeats + 3):
        started = time.perf_counter()
        answer = client.get(url)
        if n >= 3:
            times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200 and len(answer.json()) == 100, answer.status_code
    return {"p50": round(percentile(times, 0.5), 2), "p99": round(percentile(times, 0.99), 2)}


def _plan(database: Database, cursor: str | None) -> list[str]:
    """PostgreSQL's EXPLAIN ANALYZE of the listing query the server sends for this page."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "ORDER BY artifacts.pk DESC" in statement:
            sent.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        Catalog(database).list_artifacts(limit=100, cursor=cursor)
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    statement, parameters = sent[-1]
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
        return [row[0] for row in rows]


def _listing_figures(url: str, servers: list[Any], sizes: list[int]) -> dict[str, Any]:
    if not sizes:
        return {}
    database = Database(url)
    with httpx.Client(headers=servers[0].headers, timeout=60) as client:
        sid = client.post(
            f"{servers[0].base_url}/api/sessions", json={"description": "listing"}
        ).json()["session_id"]
        blobs = []
        for n in range(100):
            created = client.post(
                f"{servers[n % 2].base_url}/api/artifacts",
                data={"session_id": sid, "artifact_type": "log", "name": f"l{n}.log"},
                files={"file": (f"l{n}.log", f"listing {n}".encode())},
            ).json()
            blobs.append((created["size"], created["sha256"]))
        with database.session() as db:
            session_pk = db.scalar(select(SessionRow.pk).where(SessionRow.id == sid))
        stored = 100
        figures: dict[str, Any] = {}
        for size in sizes:
            rows = [
                {
                    "id": new_id("art"),
                    "session_pk": session_pk,
                    "artifact_type": "log",
                    "name": f"s{n}.log",
                    "llm_type": None,
                    "size": blobs[n % 100][0],
                    "sha256": blobs[n % 100][1],
                    "content_type": "application/octet-stream",
                    "created_at": utcnow(),
                }
                for n in range(stored, size)
            ]
            with database.session() as db:
                if rows:
                    db.execute(insert(ArtifactRow), rows)
                    db.execute(
                        update(SessionRow)
                        .where(SessionRow.pk == session_pk)
                        .values(artifact_count=SessionRow.artifact_count + len(rows))
                    )
            with database.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE artifacts")
            stored = max(stored, size)
            # the last full page, the deepest: its cursor is the last id of the page before
            last = (
                Catalog(database).list_artifacts(limit=size - 100, cursor=None).next_cursor
                if size > 100
                else None
            )
            page = "/api/artifacts?limit=100"
            pages = {"first_page": page, "last_page": page + (f"&cursor={last}" if last else "")}
            figures[f"listing_{size}"] = {
                **{
                    f"{kind}_ms_{name}": _timed_get(client, server.base_url + path, LISTING_REPEATS)
                    for kind, path in pages.items()
                    for name, server in zip("AB", servers, strict=True)
                },
                "plan_first_page": _plan(database, None),
                "plan_last_page": _plan(database, last),
            }
    database.dispose()
    return figures


def _queue_figures(url: str, servers: list[Any], count: int) -> dict[str, Any]:
    if count <= 0:
        return {}
    started = time.perf_counter()
    with httpx.Client(headers=servers[0].headers, timeout=60) as client:
        ids = [
            client.post(
                f"{servers[n % 2].base_url}/api/distributed_brain/prompt", json={"prompt": f"q{n}"}
            ).json()["prompt_id"]
            for n in range(count)
        ]
    submitted = time.perf_counter() - started
    claims: dict[str, list[str]] = {"bridge-1": [], "bridge-2": []}

    def drain(name: str) -> None:
        database = Database(url)
        queue = PromptQueue(database, BlobStore(servers[0].data_dir), PromptNotifier())
        nodes = NodeRegistry(database, offline_after=5.0)
        beat = 0.0
        while True:
            if time.monotonic() - beat > 1.0:  # a live node: the servers' janitors leave it be
                nodes.report(node_id=name, rank=0, node_type="coordinator", status="busy")
                beat = time.monotonic()
            claimed = queue.claim_next(name)
            if claimed is None:
                break
            claims[name].append(claimed.prompt_id)
            queue.complete(claimed.prompt_id, "ok", claimed.attempts)
        database.dispose()

    started = time.perf_counter()
    workers = [threading.Thread(target=drain, args=(name,)) for name in claims]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    drained = time.perf_counter() - started
    every = claims["bridge-1"] + claims["bridge-2"]
    twice = len(every) - len(set(every))
    missing = len(set(ids) - set(every))
    assert not twice and not missing, f"{twice} claimed twice, {missing} never claimed"
    return {
        "queue_prompts": count,
        "queue_submit_per_s_http": round(count / submitted, 1),
        "queue_drain_per_s_two_claimers": round(count / drained, 1),
        "queue_claims_per_claimer": [len(v) for v in claims.values()],
        "queue_each_claimed_once": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--load-seconds", type=int, default=10, help="0: no load figures")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--queue", type=int, default=1000, help="0: no queue figures")
    parser.add_argument(
        "--listing", default="100,1000,10000", help="table sizes, comma-separated ('': none)"
    )
    args = parser.parse_args()
    base = os.environ.get("EVOSPIKENET_TEST_DATABASE_URL")
    if not base:
        sys.exit("run under scripts/with_postgres.sh (needs EVOSPIKENET_TEST_DATABASE_URL)")
    url, drop = _fresh_postgres_database(base)
    env = {
        "DATABASE_URL": url,
        "EVOSPIKENET_LOAD_MODELS": "false",
        "EVOSPIKENET_BLOB_URL": f"s3://{BUCKET}/artifacts",
    }
    sizes = [int(size) for size in args.listing.split(",") if size.strip()]
    lags: dict[str, list[float]] = {"A": [], "B": []}
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp,
            moto_s3(BUCKET, Path(tmp) / "moto.log") as s3_env,
            bench_server(**env, **s3_env) as a,
            bench_server(**env, **s3_env) as b,
        ):
            queue = PromptQueue(Database(url), BlobStore(a.data_dir), PromptNotifier())
            with httpx.Client(headers=a.headers, timeout=30) as client:
                for n in range(args.prompts):
                    prompt_id = client.post(
                        f"{a.base_url}/api/distributed_brain/prompt", json={"prompt": f"p{n}"}
                    ).json()["prompt_id"]
                    answered: dict[str, float] = {}

                    def poll(
                        name: str,
                        base_url: str,
                        pid: str = prompt_id,
                        out: dict[str, float] = answered,
                    ) -> None:
                        state = client.get(
                            f"{base_url}/api/distributed_brain/result",
                            params={"prompt_id": pid, "wait": 20},
                        ).json()["state"]
                        assert state == "completed", state
                        out[name] = time.perf_counter()

                    threads = [
                        threading.Thread(target=poll, args=("A", a.base_url)),
                        threading.Thread(target=poll, args=("B", b.base_url)),
                    ]
                    for thread in threads:
                        thread.start()
                    time.sleep(0.3)  # both long-polls wait
                    queue.complete(prompt_id, "answer")
                    committed = time.perf_counter()
                    for thread in threads:
                        thread.join(30)
                    for name, at in answered.items():
                        lags[name].append((at - committed) * 1000)
                load = _listing_figures(url, [a, b], sizes)
                load.update(_load_figures(a, [a, b], args.load_seconds, args.connections))
                load.update(_queue_figures(url, [a, b], args.queue))
            queue.database.dispose()
    finally:
        drop()
    figures = {
        "prompts": args.prompts,
        "cpus": os.cpu_count(),
        **{
            f"wake_ms_server_{name}": {
                "p50": round(percentile(values, 0.5), 1),
                "p99": round(percentile(values, 0.99), 1),
                "max": round(max(values), 1),
            }
            for name, values in lags.items()
        },
        **load,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
