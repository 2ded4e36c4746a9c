"""A bridge that starts beside another never takes its running prompts: at start it requeues
only the attempts whose lease ran out (their bridge is gone). Real Zenoh on 127.0.0.1, a real
SQLite queue shared by two queue objects (two bridges' views of one database)."""

from __future__ import annotations

import time
from pathlib import Path

from sim_cluster import loopback_endpoint

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import PromptQueue
from evospikenet.server.db import Database
from evospikenet.simulation.bridge import SimulationBridge


def _queue(root: Path, lease_seconds: float) -> PromptQueue:
    database = Database(f"sqlite:///{root / 'queue.db'}")
    database.migrate()
    blobs = BlobStore(root / "data")
    blobs.open()
    return PromptQueue(database, blobs, PromptNotifier(), lease_seconds=lease_seconds)


def test_a_starting_bridge_requeues_only_expired_attempts(tmp_path: Path) -> None:
    live_bridge = _queue(tmp_path, lease_seconds=30)  # renewing its attempts
    dead_bridge = _queue(tmp_path, lease_seconds=0.2)  # killed: its lease runs out
    submitted = [
        live_bridge.submit(text=t, image=None, audio=None, priority=5, session_id=None)
        for t in ("held by a live bridge", "held by a dead bridge")
    ]
    held = live_bridge.claim_next("coordinator-a")
    abandoned = dead_bridge.claim_next("coordinator-b")
    assert held and abandoned
    assert [held.prompt_id, abandoned.prompt_id] == [p["prompt_id"] for p in submitted]
    time.sleep(0.3)
    starting = _queue(tmp_path, lease_seconds=30)
    bridge = SimulationBridge(
        starting, NodeRegistry(starting.database), endpoint=loopback_endpoint()
    )
    bridge.start()
    try:
        assert starting.get(held.prompt_id)["state"] == "running"
        assert starting.get(abandoned.prompt_id)["state"] == "queued"
        # the live bridge's answer still lands; a late answer of the dead one's attempt not
        assert live_bridge.complete(held.prompt_id, "answer", held.attempts)
        again = starting.claim_next("coordinator-c")
        assert again is not None and again.attempts == 2
        assert not dead_bridge.complete(abandoned.prompt_id, "late", abandoned.attempts)
        assert starting.get(abandoned.prompt_id)["state"] == "running"
    finally:
        bridge.stop()
        for queue in (live_bridge, dead_bridge, starting):
            queue.database.dispose()
