"""Leases, expiries and purges run on the database's clock, not a process's (issue 14).

A second process whose Python clock is skewed by an hour (``datetime`` and ``time.time``
replaced before anything is imported) acts on rows that this process, with the true clock,
wrote: ahead, it expires no live lease, takes over no live key and purges nothing young;
behind, it still requeues what truly ran out. And only one process runs the periodic purge.
Real SQLite files, and a real PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_concurrency import _queue, _submit, database_url, databases  # noqa: F401

from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.brain.service import PURGE_LOCK, BrainService
from evospikenet.server.db import Database
from evospikenet.server.idempotency import IdempotencyStore
from evospikenet.server.settings import Settings

SKEWED_REPLICA = r"""
import datetime as dt, json, sys, time
skew = float(sys.argv[2])
real_now, real_time = dt.datetime.now, time.time

class SkewedDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return real_now(tz) + dt.timedelta(seconds=skew)

dt.datetime = SkewedDatetime
time.time = lambda: real_time() + skew

from pathlib import Path
from sqlalchemy import select
from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import PromptQueue
from evospikenet.server.db import Database, as_utc, utcnow
from evospikenet.server.idempotency import IdempotencyStore

database = Database(sys.argv[1])
queue = PromptQueue(database, BlobStore(Path(sys.argv[3])), PromptNotifier())
idempotency = IdempotencyStore(database, 60)
with database.session() as db:
    database_time = as_utc(db.scalar(select(database.now())))
live = NodeRegistry(database).live_ids()
print(json.dumps({
    "clock_minus_database": (utcnow() - database_time).total_seconds(),
    "live_nodes": sorted(live),
    "requeued_stale": queue.requeue_stale(live),
    "requeued_expired": queue.requeue_expired(),
    "purged_prompts": queue.purge_expired(60),
    "key_taken": idempotency.begin("caller", sys.argv[4], "POST", "/x", "replica") is None,
    "purged_keys": idempotency.purge_expired(),
}))
database.dispose()
"""


def _replica(url: str, skew: float, data: Path, key: str) -> dict[str, Any]:
    """Run one janitor's worth of lease and purge decisions in a process whose clock is
    ``skew`` seconds off."""
    done = subprocess.run(
        [sys.executable, "-c", SKEWED_REPLICA, url, str(skew), str(data), key],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert abs(result["clock_minus_database"] - skew) < 60  # the skew is in effect
    return result


def _heartbeat(database: Database) -> None:
    NodeRegistry(database).report(
        node_id="coordinator-0", rank=0, node_type="coordinator", status="busy"
    )


def test_a_replica_whose_clock_runs_an_hour_ahead_expires_nothing_live(
    database_url: str,  # noqa: F811
    databases: Callable[[], Database],  # noqa: F811
    tmp_path: Path,
) -> None:
    queue = _queue(databases(), tmp_path)  # leases of 30 s
    running, finished = _submit(queue, 2)
    assert queue.claim_next("coordinator-0").prompt_id == running
    assert queue.claim_next("coordinator-0").prompt_id == finished
    assert queue.complete(finished, "answer", attempt=1)
    _heartbeat(queue.database)
    key = f"k-{uuid.uuid4().hex}"
    owner = IdempotencyStore(queue.database, 60).new_owner()
    assert IdempotencyStore(queue.database, 60).begin("caller", key, "POST", "/x", owner) is None

    seen = _replica(database_url, 3600.0, tmp_path / "data", key)

    assert seen["live_nodes"] == ["coordinator-0"]
    assert seen["requeued_stale"] == [] and seen["requeued_expired"] == []
    assert seen["purged_prompts"] == 0 and seen["purged_keys"] == 0
    assert seen["key_taken"] is False
    assert queue.get(running)["state"] == "running"
    assert queue.get(finished)["state"] == "completed"


def test_a_replica_whose_clock_runs_an_hour_behind_still_requeues_what_ran_out(
    database_url: str,  # noqa: F811
    databases: Callable[[], Database],  # noqa: F811
    tmp_path: Path,
) -> None:
    queue = _queue(databases(), tmp_path, lease_seconds=0.3)
    (abandoned,) = _submit(queue, 1)
    assert queue.claim_next("coordinator-0").prompt_id == abandoned
    _heartbeat(queue.database)  # the node lives on; the bridge that claimed for it is gone
    key = f"k-{uuid.uuid4().hex}"
    store = IdempotencyStore(queue.database, 60, lease_seconds=0.3)
    assert store.begin("caller", key, "POST", "/x", store.new_owner()) is None
    time.sleep(0.6)  # both claimers stop renewing (as if their process died)

    seen = _replica(database_url, -3600.0, tmp_path / "data", key)

    assert seen["live_nodes"] == ["coordinator-0"] and seen["requeued_stale"] == []
    assert seen["requeued_expired"] == [abandoned]
    assert seen["key_taken"] is True
    assert queue.get(abandoned)["state"] == "queued"


def test_one_process_at_a_time_runs_the_periodic_purge(
    databases: Callable[[], Database],  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", result_retention_seconds=0.0)
    mine, other = databases(), databases()
    brain = BrainService(settings, mine, _queue(mine, tmp_path).blobs)
    (prompt_id,) = _submit(brain.queue, 1)
    assert brain.queue.claim_next("coordinator-0") is not None
    assert brain.queue.complete(prompt_id, "answer", attempt=1)
    time.sleep(0.01)
    with other.try_lock(PURGE_LOCK) as held:  # another process is purging
        assert held
        assert brain.purge_pass() is False
        assert brain.queue.get(prompt_id) is not None
    assert brain.purge_pass() is True
    assert brain.queue.get(prompt_id) is None
