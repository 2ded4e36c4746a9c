"""The bridge restarts mid-prompt: the server process is killed (SIGKILL) and started again
while real node processes work on a prompt. The prompt completes exactly once, on its first
attempt: the new bridge adopts the attempt its coordinator reports working on (the database
says it is that coordinator's current one), renews its lease and takes its result; nothing is
requeued, lost or done twice. Real ``evospikenet serve``, real node processes over Zenoh on
127.0.0.1, SQLite (PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL``)."""

from __future__ import annotations

import time
from pathlib import Path

from sim_cluster import wait_until
from sim_model import make_tiny_model
from test_sim_server import Cluster

# about 10 s of generation on the 2-core machine: longer than the restart and the nodes'
# reconnection (5 s), during which replies between nodes are lost too (the bridge is their
# Zenoh router)
SLOW_TOKENS = "20000"


def test_a_bridge_killed_and_restarted_mid_prompt_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path)
    cluster.server.start()
    try:
        cluster.upload_model(make_tiny_model(tmp_path / "model"))
        cluster.ensure_nodes()
        cluster.nodes.pop("node-language-1").stop()
        slow = cluster.start_node(
            "language", 1, "--max-new-tokens", SLOW_TOKENS, "--temperature", "0"
        )
        cluster.wait_ready(slow.node_id)
        prompt_id = cluster.submit(prompt="finish me across a server restart")
        wait_until(lambda: cluster.node_state(slow.node_id) == "busy", 30, interval=0.05)

        cluster.server.kill()  # the bridge dies without a word; the nodes work on
        restarted = time.monotonic()
        cluster.server.start()  # same data, port and Zenoh endpoint
        with cluster.client() as client:
            during = client.get_simulation_result(prompt_id)
        assert during["state"] == "running" and during["attempts"] == 1, during
        result = cluster.result(prompt_id, timeout=180)
        print(f"completed {time.monotonic() - restarted:.1f} s after the restart began")

        assert result["state"] == "completed" and result["attempts"] == 1, result
        assert "SpikingLM Generated:" in result["response"]
        server_log = cluster.server.read_log()
        assert f"prompt {prompt_id} (attempt 1) on node-coordinator-0 adopted" in server_log
        assert "requeued" not in server_log and "given back" not in server_log
        coordinator_log = cluster.nodes["node-coordinator-0"].log_file.read_text()
        assert coordinator_log.count(f"prompt {prompt_id} attempt") == 1  # given once
        assert coordinator_log.count(f"prompt {prompt_id} completed") == 1  # answered once
        assert all(node.alive() for node in cluster.nodes.values())
    finally:
        for node in cluster.nodes.values():
            node.stop()
        cluster.server.close()
