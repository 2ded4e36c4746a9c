"""Nodes and the bridges of two API processes meet at one Zenoh router: every prompt reaches the
coordinator exactly once and completes."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sim_cluster import loopback_endpoint, wait_until

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.service import BrainService
from evospikenet.server.db import Database
from evospikenet.server.settings import Settings
from evospikenet.simulation import topics
from evospikenet.simulation.bridge import SimulationBridge
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.transport import (
    TransportError,
    _config,
    open_connected,
    open_router_client,
)


def _service(data_dir: Path) -> BrainService:
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url)
    blobs = BlobStore(data_dir)
    blobs.open()
    database.migrate()
    return BrainService(settings, database, blobs)


def test_two_bridges_on_one_router_give_each_prompt_once(tmp_path: Path) -> None:
    import zenoh

    router_endpoint = loopback_endpoint()
    router = zenoh.open(_config("router", [router_endpoint], []))  # what zenohd does
    services = [_service(tmp_path / "data"), _service(tmp_path / "data")]  # one database
    bridges = [
        SimulationBridge(s.queue, s.nodes, router=router_endpoint, resend_seconds=30)
        for s in services
    ]
    codec = Codec()
    received: list[dict[str, Any]] = []
    lock = threading.Lock()
    coordinator = open_connected(router_endpoint, threading.Event())
    assert coordinator is not None

    def on_prompt(sample: Any) -> None:  # the test plays a fast coordinator
        message = codec.decode(sample.payload.to_bytes())
        with lock:
            received.append(message)
        reply = {"prompt_id": message["prompt_id"], "attempt": message["attempt"]}
        coordinator.put(topics.ACK, codec.encode({**reply, "node_id": "coord-r"}))
        result = {**reply, "node_id": "coord-r", "response": "ok"}  # from the node it was given to
        coordinator.put(topics.RESULT, codec.encode(result))

    try:
        for bridge in bridges:
            bridge.start()
            assert bridge.endpoint == router_endpoint
        coordinator.declare_subscriber(topics.PROMPT, on_prompt)
        ids = [
            services[n % 2].queue.submit(
                text=f"p{n}", image=None, audio=None, priority=5, session_id=None
            )["prompt_id"]
            for n in range(12)
        ]
        beat = {"node_id": "coord-r", "type": "coordinator", "rank": 0, "status": "idle",
                "incarnation": "i1", "capacity": 2, "prompts": []}  # fmt: skip

        def all_done() -> bool:
            coordinator.put(topics.heartbeat("coord-r"), codec.encode(beat))
            states = [services[0].queue.get(pid)["state"] for pid in ids]  # type: ignore[index]
            return all(state == "completed" for state in states)

        wait_until(all_done, 60, interval=0.2)
        counts = Counter(message["prompt_id"] for message in received)
        assert set(counts) == set(ids) and set(counts.values()) == {1}, counts
        assert all(services[0].queue.get(pid)["attempts"] == 1 for pid in ids)  # type: ignore[index]
    finally:
        coordinator.close()
        for bridge in bridges:
            bridge.stop()
        router.close()
        for service in services:
            service.queue.database.dispose()


def test_unreachable_router_is_one_line() -> None:
    with pytest.raises(TransportError) as caught:
        open_router_client(loopback_endpoint(), wait=1.0)
    assert "\n" not in str(caught.value) and "EVOSPIKENET_SIM_ROUTER" in str(caught.value)
