"""Several server processes on one database: SQLite refuses a second one; on PostgreSQL a
change made by one process wakes the long-polls of every other, one Idempotency-Key sent to
all of them at once makes one record, and the rate limit holds per key across them (run with
``scripts/with_postgres.sh`` for the PostgreSQL tests)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from live_server import REPO, TEST_KEY, LiveServer, free_port

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import PromptQueue
from evospikenet.server.db import Database

ON_POSTGRES = bool(os.environ.get("EVOSPIKENET_TEST_DATABASE_URL"))
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs EVOSPIKENET_TEST_DATABASE_URL")
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite behaviour")
QUIET = {"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_ACCESS_LOG": "false"}


@sqlite_only
def test_second_process_on_one_sqlite_file_is_refused(make_server):
    first = make_server(**QUIET)
    second = LiveServer(first.data_dir, api_key=TEST_KEY, env=dict(QUIET))
    second.log_path = first.data_dir.parent / "second-server.log"
    try:
        with pytest.raises(RuntimeError, match="exited with 2"):
            second.start()
        log = second.read_log()
        assert "Traceback" not in log
        line = next(x for x in log.splitlines() if x.startswith("evospikenet serve:"))
        assert f"pid {first.process.pid}" in line and "DATABASE_URL" in line  # type: ignore[union-attr]
        assert httpx.get(f"{first.base_url}/api/health", timeout=5).status_code == 200
    finally:
        second.close()


@sqlite_only
def test_workers_on_sqlite_are_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "evospikenet", "serve", "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data"), "--workers", "2", "--no-nodes"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "PostgreSQL" in done.stderr and "--workers" in done.stderr


def _complete_elsewhere(url: str, data_dir: Path) -> PromptQueue:
    """The queue as a third process sees it (what another server's bridge calls)."""
    return PromptQueue(Database(url), BlobStore(data_dir), PromptNotifier())


@postgres_only
def test_completion_elsewhere_wakes_long_polls_on_every_process(make_server):
    a = make_server(**QUIET)
    b = make_server(DATABASE_URL=a.env["DATABASE_URL"], **QUIET)
    queue = _complete_elsewhere(a.env["DATABASE_URL"], a.data_dir)
    lags: list[float] = []
    with httpx.Client(headers=a.headers, timeout=30) as client:
        for n in range(5):
            accepted = client.post(
                f"{a.base_url}/api/distributed_brain/prompt", json={"prompt": f"p{n}"}
            ).json()
            prompt_id = accepted["prompt_id"]
            returned: dict[str, float] = {}

            def poll(name: str, base: str, pid: str = prompt_id, out=returned) -> None:
                answer = client.get(
                    f"{base}/api/distributed_brain/result",
                    params={"prompt_id": pid, "wait": 20},
                ).json()
                assert answer["state"] == "completed"
                out[name] = time.perf_counter()

            threads = [
                threading.Thread(target=poll, args=(name, base))
                for name, base in (("a", a.base_url), ("b", b.base_url))
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # both long-polls are waiting
            assert queue.complete(prompt_id, "answer")
            completed = time.perf_counter()
            for thread in threads:
                thread.join(30)
            assert set(returned) == {"a", "b"}
            lags.append(max(returned.values()) - completed)
    queue.database.dispose()
    # measured p50 is a few milliseconds (benchmarks/bench_replicas.py); a busy CI machine
    # gets a generous bound, still far below the 5 s re-read of a polling fallback
    assert statistics.median(lags) < 1.0, lags


@postgres_only
def test_rate_limit_holds_per_key_across_processes(make_server):
    limits = {"EVOSPIKENET_RATE_LIMIT_PER_MINUTE": "1", "EVOSPIKENET_RATE_LIMIT_BURST": "4"}
    a = make_server(**QUIET, **limits)
    b = make_server(DATABASE_URL=a.env["DATABASE_URL"], **QUIET, **limits)
    statuses = [
        httpx.get(f"{live.base_url}/api/distributed_brain/status", headers=live.headers).status_code
        for live in (a, b, a, b, a, b)
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]


@postgres_only
def test_one_idempotency_key_sent_to_both_processes_at_once_makes_one_record(make_server):
    a = make_server(**QUIET)
    b = make_server(DATABASE_URL=a.env["DATABASE_URL"], **QUIET)
    headers = {**a.headers, "Idempotency-Key": "replicas-once"}
    start = threading.Barrier(16)
    answers: list[httpx.Response] = []

    def send(base: str) -> None:
        start.wait(10)
        answers.append(
            httpx.post(f"{base}/api/sessions", json={"description": "replicas-once"},
                       headers=headers, timeout=30)
        )  # fmt: skip

    threads = [threading.Thread(target=send, args=(s.base_url,)) for s in (a, b) * 8]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 16
    assert {answer.status_code for answer in answers} <= {201, 409}  # 409: the first in flight
    created = {answer.json()["session_id"] for answer in answers if answer.status_code == 201}
    assert len(created) == 1
    for live in (a, b):  # a replay from either process returns the first answer
        replay = httpx.post(
            f"{live.base_url}/api/sessions", json={"description": "replicas-once"}, headers=headers
        )
        assert replay.status_code == 201 and replay.json()["session_id"] in created
        assert replay.headers["Idempotent-Replayed"] == "true"
        listed = httpx.get(
            f"{live.base_url}/api/sessions", params={"limit": 500}, headers=a.headers
        ).json()
        assert sum(item["description"] == "replicas-once" for item in listed) == 1


@postgres_only
def test_workers_share_one_port_and_one_bridge(tmp_path):
    from live_server import _fresh_postgres_database

    url, drop = _fresh_postgres_database(os.environ["EVOSPIKENET_TEST_DATABASE_URL"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
    env.update(QUIET, DATABASE_URL=url, EVOSPIKENET_API_KEYS=TEST_KEY)
    env["EVOSPIKENET_SIM_ENDPOINT"] = f"tcp/127.0.0.1:{free_port()}"
    log_path = tmp_path / "workers.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "evospikenet", "serve", "--port", str(port),
             "--data-dir", str(tmp_path / "data"), "--workers", "2", "--no-nodes"],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"X-API-Key": TEST_KEY}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = log_path.read_text(errors="replace")
            if text.count("Application startup complete") >= 2:
                break
            assert process.poll() is None, text[-3000:]
            time.sleep(0.2)
        else:
            pytest.fail(log_path.read_text(errors="replace")[-3000:])
        prompt_id = httpx.post(
            f"{base}/api/distributed_brain/prompt", json={"prompt": "p"}, headers=headers
        ).json()["prompt_id"]
        states: list[str] = []

        def poll() -> None:  # a connection each: the kernel spreads them over the workers
            answer = httpx.get(
                f"{base}/api/distributed_brain/result",
                params={"prompt_id": prompt_id, "wait": 20},
                headers=headers,
                timeout=30,
            )
            states.append(answer.json()["state"])

        threads = [threading.Thread(target=poll) for _ in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        queue = _complete_elsewhere(url, tmp_path / "data")
        started = time.perf_counter()
        assert queue.complete(prompt_id, "answer")
        for thread in threads:
            thread.join(30)
        assert states == ["completed"] * 6 and time.perf_counter() - started < 5
        queue.database.dispose()
        log = log_path.read_text(errors="replace")
        assert log.count("simulation bridge listening") == 1  # one worker runs the bridge
        # SIGTERM: a waiting long-poll answers at once with the current state
        waiting = httpx.post(
            f"{base}/api/distributed_brain/prompt", json={"prompt": "q"}, headers=headers
        ).json()["prompt_id"]
        answers: list[tuple[str, float]] = []

        def wait_long() -> None:
            answer = httpx.get(
                f"{base}/api/distributed_brain/result",
                params={"prompt_id": waiting, "wait": 25},
                headers=headers,
                timeout=40,
            )
            answers.append((answer.json()["state"], time.perf_counter()))

        thread = threading.Thread(target=wait_long)
        thread.start()
        time.sleep(1.0)
        process.terminate()
        stopped = time.perf_counter()
        thread.join(30)
        assert answers and answers[0][0] == "queued" and answers[0][1] - stopped < 5, answers
    finally:
        process.terminate()
        process.wait(30)
        drop()


@postgres_only
def test_model_uploaded_through_one_process_is_served_by_the_other(make_server, tmp_path):
    from model_fixtures import upload_model, write_tiny_model

    a = make_server(EVOSPIKENET_ACCESS_LOG="false")
    b = LiveServer(
        a.data_dir,  # one blob store, one database
        api_key=TEST_KEY,
        env={"DATABASE_URL": a.env["DATABASE_URL"], "EVOSPIKENET_ACCESS_LOG": "false"},
    )
    b.log_path = tmp_path / "b-server.log"
    b.start()
    try:
        paths = write_tiny_model(tmp_path / "tiny")
        with (
            httpx.Client(base_url=a.base_url, headers=a.headers, timeout=60) as via_a,
            httpx.Client(base_url=b.base_url, headers=b.headers, timeout=60) as via_b,
        ):
            session_id = upload_model(via_a, paths)
            uploaded = time.monotonic()
            while time.monotonic() - uploaded < 60:
                model = via_b.get("/api/info").json()["model"]
                if model and model["session_id"] == session_id:
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"B still serves {model}")
        # NOTIFY → reload: the bound is the load time, not the 30 s periodic check
        assert time.monotonic() - uploaded < 25
    finally:
        b.close()
