"""Correct under concurrency: no check-then-insert, migrations safe at once, a start never
destroys another live process's work, attempts and leases in the queue, capacity across bridges.

Real SQLite files, and a real PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL`` (make
test-postgres); real server processes and real concurrent requests.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import TEST_KEY, LiveServer, _fresh_postgres_database
from slow_upload import MIB, finish_upload, slow_upload
from sqlalchemy import func, select, text

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import PromptQueue
from evospikenet.server.db import Database
from evospikenet.server.idempotency import IdempotencyStore
from evospikenet.server.model_manager import ModelManager
from evospikenet.server.tables import IdempotencyRow, PromptRow, SessionRow

# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def database_url(tmp_path: Path, database_urls: Callable[[], str | None]) -> str:
    """A fresh, migrated database: PostgreSQL when configured, else a SQLite file."""
    url = database_urls() or f"sqlite:///{tmp_path / 'shared.db'}"
    database = Database(url)
    database.migrate()
    database.dispose()
    return url


@pytest.fixture
def databases(database_url: str) -> Iterator[Callable[[], Database]]:
    """Factory of ``Database`` objects on the one database (each its own pool, as processes)."""
    opened: list[Database] = []

    def factory() -> Database:
        opened.append(Database(database_url))
        return opened[-1]

    yield factory
    for database in opened:
        database.dispose()


def _at_once(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Run ``call(i)`` for ``i < count`` in threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        barrier.wait()
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _wait(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def _queue(database: Database, tmp_path: Path, **options: Any) -> PromptQueue:
    blobs = BlobStore(tmp_path / "data")
    blobs.open()
    return PromptQueue(database, blobs, PromptNotifier(), **options)


def _submit(queue: PromptQueue, count: int) -> list[str]:
    return [
        queue.submit(text=f"p{i}", image=None, audio=None, priority=5, session_id=None)["prompt_id"]
        for i in range(count)
    ]


# --- 1. no check-then-insert -------------------------------------------------------------


def test_first_reports_of_a_node_sent_at_once_never_fail(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false", EVOSPIKENET_ACCESS_LOG="false")
    clients = [httpx.Client(base_url=live.base_url, headers=live.headers) for _ in range(12)]
    statuses: list[int] = []
    try:
        for round_ in range(5):  # 5 new node ids, 12 first reports each, sent at once
            node_id = f"node-{round_}-{uuid.uuid4().hex[:6]}"
            body = {"node_id": node_id, "rank": round_, "type": "language", "status": "idle"}
            statuses += _at_once(
                12,
                lambda i, body=body: (
                    clients[i].post("/api/distributed_brain/status", json=body).status_code
                ),
            )
        nodes = clients[0].get("/api/distributed_brain/status").json()["nodes"]
    finally:
        for client in clients:
            client.close()
    assert statuses == [200] * 60
    assert len(nodes) == 5 and len({n["id"] for n in nodes}) == 5


class _BundledFiles:
    """A stand-in for ``evospikenet.models.serving``: three small files."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.files = tuple(folder / name for name in ("c.json", "w.pth", "t.zip"))
        for index, path in enumerate(self.files):
            path.write_bytes(f"bundled file {index}".encode())

    def bundled_default_files(self) -> tuple[Path, ...]:
        return self.files


def test_concurrent_starts_register_one_bundled_default(databases, tmp_path):
    serving = _BundledFiles(tmp_path / "bundled")
    managers = []
    for _ in range(6):
        blobs = BlobStore(tmp_path / "data")
        blobs.open()
        manager = ModelManager(databases(), blobs)
        manager._serving_module = lambda: serving  # type: ignore[method-assign]
        managers.append(manager)
    _at_once(len(managers), lambda i: managers[i].ensure_bundled_default())
    managers[0].ensure_bundled_default()  # a later start finds it
    with databases().session() as db:
        rows = db.execute(select(SessionRow.bundled_default, SessionRow.artifact_count)).all()
    assert rows == [(True, 3)]
    # the losers' abandoned blobs are the winner's bytes too: still there
    store = BlobStore(tmp_path / "data")
    for path in serving.files:
        assert store.path_for(hashlib.sha256(path.read_bytes()).hexdigest()).is_file()


# --- 2. migrations safe at once ------------------------------------------------------------


POSTGRES = os.environ.get("EVOSPIKENET_TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="several server processes share a PostgreSQL database only"
)


def test_migrations_run_at_once_on_an_empty_database(tmp_path, database_urls):
    url = database_urls() or f"sqlite:///{tmp_path / 'empty.db'}"
    databases = [Database(url) for _ in range(6)]
    try:
        _at_once(len(databases), lambda i: databases[i].migrate())
        with databases[0].session() as db:
            versions = db.execute(text("SELECT version_num FROM alembic_version")).all()
            assert len(versions) == 1
            assert db.scalar(select(func.count()).select_from(SessionRow)) == 0
    finally:
        for database in databases:
            database.dispose()


@needs_postgres
def test_servers_started_together_on_an_empty_database_all_come_up(tmp_path):
    assert POSTGRES is not None
    url, drop = _fresh_postgres_database(POSTGRES)
    data_dir = tmp_path / "data"  # the blob folder is shared as well
    servers = [LiveServer(data_dir, api_key=TEST_KEY, env={"DATABASE_URL": url}) for _ in range(4)]
    try:
        started = _at_once(len(servers), lambda i: servers[i].start(timeout=180))

        def served_sessions() -> set[str | None]:
            infos = [httpx.get(f"{s.base_url}/api/info", headers=s.headers).json() for s in started]
            return {(info.get("model") or {}).get("session_id") for info in infos}

        _wait(lambda: None not in served_sessions(), 180, "not every server serves a model")
        assert len(served_sessions()) == 1  # the one bundled default, registered once
        database = Database(url)
        with database.session() as db:
            assert db.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            bundled = db.scalar(
                select(func.count()).select_from(SessionRow).where(SessionRow.bundled_default)
            )
            assert bundled == db.scalar(select(func.count()).select_from(SessionRow)) == 1
        database.dispose()
    finally:
        for live in servers:
            live.close()
        drop()


# --- 3. a start never destroys another live process's work ------------------------------


def _temps(live: LiveServer) -> list[Path]:
    return list((live.data_dir / "tmp").glob("upload-*"))


def test_temp_files_of_a_live_process_are_kept_and_of_a_dead_one_collected(tmp_path):
    alive, dying, starting = (BlobStore(tmp_path) for _ in range(3))
    alive.open()
    dying.open()
    writing, crashed = alive.writer(), dying.writer()
    writing.write(b"an upload in progress")
    crashed.write(b"half an upload")
    for path in (writing.temp_path, crashed.temp_path):
        os.utime(path, (0, 0))  # however old they look
    assert dying._lease is not None
    dying._lease.close()  # the process dies: the kernel releases its lock, the file stays
    starting.open()
    assert starting.remove_abandoned_temps(grace_seconds=60) == 1
    assert writing.temp_path.exists() and not crashed.temp_path.exists()
    assert not (tmp_path / "leases" / f"{dying.token}.lock").exists()
    digest = writing.commit()
    assert alive.path_for(digest).read_bytes() == b"an upload in progress"


@needs_postgres
def test_a_start_keeps_a_live_servers_upload_and_key_a_dead_ones_temp_goes(make_server):
    fast = {"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_PURGE_INTERVAL_SECONDS": "0.5"}
    first = make_server(**fast)
    env = dict(fast, DATABASE_URL=first.env["DATABASE_URL"])
    second = LiveServer(first.data_dir, api_key=TEST_KEY, env=env)  # same folder and database
    with httpx.Client(base_url=first.base_url, headers=first.headers, timeout=60) as c:
        created = c.post("/api/sessions", json={"description": "shared"})
        assert created.status_code == 201, created.text
        session_id = created.json()["session_id"]
    key = f"key-{uuid.uuid4().hex}"
    sock, rest = slow_upload(first, session_id, name="big.bin", size=6 * MIB, idempotency_key=key)
    try:
        _wait(lambda: len(_temps(first)) == 1, 20, "the upload's temp file did not appear")
        second.start()
        time.sleep(1.5)  # the new server's start and a few janitor passes
        assert len(_temps(first)) == 1
        with httpx.Client(base_url=second.base_url, headers=second.headers, timeout=60) as c:
            again = c.post(
                "/api/artifacts",
                headers={"Idempotency-Key": key},
                data={"session_id": session_id, "artifact_type": "dataset", "name": "big.bin"},
                files={"file": ("big.bin", b"other")},
            )
            assert again.status_code == 409  # still in flight on the first server
        answer = finish_upload(sock, rest)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
        with httpx.Client(base_url=second.base_url, headers=second.headers, timeout=60) as c:
            listed = c.get(f"/api/sessions/{session_id}/artifacts").json()
            assert [a["name"] for a in listed] == ["big.bin"]
            # a killed server's half-written upload is collected by the live one
            sock, rest = slow_upload(first, session_id, idempotency_key=f"key-{uuid.uuid4().hex}")
            _wait(lambda: len(_temps(first)) == 1, 20, "the second upload did not start")
            first.kill()
            sock.close()
            _wait(lambda: not _temps(first), 20, "the dead server's temp file stayed")
            assert c.get(f"/api/sessions/{session_id}").json()["artifact_count"] == 1
    finally:
        sock.close()
        second.close()


def test_an_in_flight_key_is_only_its_owners_until_the_lease_runs_out(databases):
    first = IdempotencyStore(databases(), 3600, lease_seconds=0.5)
    second = IdempotencyStore(databases(), 3600, lease_seconds=0.5)
    scope, key = "caller", f"k-{uuid.uuid4().hex}"
    owners = [first.new_owner() for _ in range(8)]
    claims = _at_once(8, lambda i: first.begin(scope, key, "POST", "/x", owners[i]))
    assert sum(claim is None for claim in claims) == 1  # exactly one request runs
    winner = owners[claims.index(None)]
    existing = second.begin(scope, key, "POST", "/x", second.new_owner())
    assert existing is not None and existing.state == "in_flight"
    assert first.renew_leases(force=True) == 1
    time.sleep(0.7)  # the owner's process stops renewing (as if it died)
    taker = second.new_owner()
    assert second.begin(scope, key, "POST", "/x", taker) is None
    first.forget(scope, key, winner)  # the old owner's clean-up leaves the new claim alone
    first.finish(scope, key, winner, "sha", 201, [], b"late")
    with databases().session() as db:
        row = db.get(IdempotencyRow, (scope, key))
        assert row is not None and row.owner == taker and row.state == "in_flight"
    second.finish(scope, key, taker, "sha", 201, [], b"{}")
    with databases().session() as db:
        row = db.get(IdempotencyRow, (scope, key))
        assert row is not None and row.state == "done" and row.body == b"{}"


def test_attempt_numbers_guard_complete_fail_and_requeue(databases, tmp_path):
    queue = _queue(databases(), tmp_path, max_attempts=3)
    (prompt_id,) = _submit(queue, 1)
    assert queue.claim_next("coord").attempts == 1
    assert queue.requeue(prompt_id, "given back", attempt=1) == "queued"
    assert queue.claim_next("coord").attempts == 2
    assert queue.requeue(prompt_id, "late give-back of attempt 1", attempt=1) is None
    assert queue.complete(prompt_id, "late answer of attempt 1", attempt=1) is False
    assert queue.fail(prompt_id, "late error of attempt 1", attempt=1) is False
    assert queue.get(prompt_id)["state"] == "running"
    assert queue.complete(prompt_id, "answer", attempt=2) is True
    result = queue.get(prompt_id)
    assert result["state"] == "completed" and result["response"] == "answer"


def test_only_attempts_whose_lease_ran_out_are_requeued(databases, tmp_path):
    bridge_a = _queue(databases(), tmp_path, lease_seconds=0.4)
    bridge_b = _queue(databases(), tmp_path, lease_seconds=30)  # a bridge that just started
    renewed, abandoned = _submit(bridge_a, 2)
    assert bridge_a.claim_next("coord").prompt_id == renewed
    assert bridge_a.claim_next("coord").prompt_id == abandoned
    time.sleep(0.25)
    assert bridge_b.requeue_expired() == []  # both leases are live
    bridge_a.renew({renewed: 1})
    time.sleep(0.25)  # ``abandoned``'s lease has run out, ``renewed``'s not
    assert bridge_b.requeue_expired() == [abandoned]
    assert bridge_b.get(renewed)["state"] == "running"
    assert bridge_b.get(abandoned)["state"] == "queued"


def test_coordinator_capacity_is_counted_across_bridges(databases, tmp_path):
    bridges = [_queue(databases(), tmp_path) for _ in range(4)]
    _submit(bridges[0], 40)

    def claim_all(index: int) -> int:
        claimed = 0
        while bridges[index].claim_next("coord", capacity=16) is not None:
            claimed += 1
        return claimed

    assert sum(_at_once(4, claim_all)) == 16
    with databases().session() as db:
        running = db.scalar(
            select(func.count()).select_from(PromptRow).where(PromptRow.state == "running")
        )
    assert running == 16


def test_upgrade_counts_artifacts_and_keeps_one_bundled_default(tmp_path, database_urls):
    from alembic import command
    from alembic.config import Config

    from evospikenet.server.db import MIGRATIONS_DIR, run_migrations

    database = Database(database_urls() or f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        for pk in (1, 2, 3):  # two bundled defaults, as two concurrent starts of 0002 made
            connection.execute(
                text(
                    "INSERT INTO sessions (pk, id, description, bundled_default, created_at)"
                    " VALUES (:pk, :id, 'd', :bundled, '2026-01-01 00:00:00')"
                ),
                {"pk": pk, "id": f"ses_{pk}", "bundled": pk < 3},
            )
        for pk in range(1, 6):
            connection.execute(
                text(
                    "INSERT INTO artifacts (id, session_pk, artifact_type, name, size, sha256,"
                    " content_type, created_at) VALUES (:id, :session, 'dataset', 'n', 1,"
                    " :sha, 'text/plain', '2026-01-01 00:00:00')"
                ),
                {"id": f"art_{pk}", "session": 3 if pk > 1 else 2, "sha": f"{pk:064x}"},
            )
    run_migrations(database.engine)
    with database.session() as db:
        rows = db.execute(
            select(SessionRow.id, SessionRow.bundled_default, SessionRow.artifact_count).order_by(
                SessionRow.pk
            )
        ).all()
    database.dispose()
    assert rows == [("ses_1", True, 0), ("ses_2", False, 1), ("ses_3", False, 4)]


def test_the_sweep_asks_the_rows_about_old_blobs_a_page_at_a_time(tmp_path, monkeypatch):
    import evospikenet.server.blobstore as blobstore

    monkeypatch.setattr(blobstore, "SWEEP_PAGE", 2)
    store = BlobStore(tmp_path)
    store.open()
    digests = []
    for index in range(5):
        digests.append(store.put_bytes(f"blob {index}".encode()))
        store.release(digests[-1])
        os.utime(store.path_for(digests[-1]), (0, 0))
    young = store.put_bytes(b"young")
    store.release(young)
    asked: list[list[str]] = []

    def referenced(page: list[str]) -> set[str]:
        asked.append(page)
        return {digests[0]} & set(page)

    assert store.remove_unreferenced(referenced, grace_seconds=60) == 4
    assert sorted(len(page) for page in asked) == [1, 2, 2]
    assert sorted(d for page in asked for d in page) == sorted(digests)  # never the young one
    assert store.path_for(digests[0]).exists() and store.path_for(young).exists()


def test_rate_limit_buckets_that_refilled_are_pruned(databases):
    from evospikenet.server.ratelimit import make_rate_limiter

    limiter = make_rate_limiter(databases(), per_minute=600, burst=2)  # full again in 0.2 s
    assert limiter.acquire("idle") == 0.0
    time.sleep(0.3)
    assert limiter.acquire("busy") == 0.0 and limiter.acquire("busy") == 0.0
    assert limiter.prune() == 1  # "idle" refilled: forgetting it changes no answer
    assert limiter.acquire("busy") > 0  # "busy" kept its empty bucket
    assert limiter.prune() == 0
