"""The bridge restarts mid-prompt: the server process is killed (SIGKILL) and started again
while real node processes work on a prompt. The prompt completes exactly once, on its first
attempt: the new bridge adopts the attempt its coordinator reports working on (the database
says it is that coordinator's current one), renews its lease and takes its result; nothing is
requeued, lost or done twice. Real ``evospikenet serve``, real node processes, SQLite
(PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL``).

The nodes meet at a Zenoh router of their own on 127.0.0.1 (``EVOSPIKENET_SIM_ROUTER``, the
deployment of ``docs/deploy.md``), so their traffic goes on while the server is down. When the
bridge itself is the router, nodes cannot reach each other during the outage: one longer than
``node_offline_seconds`` (5 s) makes the coordinator give the attempt back, and the prompt is
done again (once)."""

from __future__ import annotations

import time
from pathlib import Path

from sim_cluster import loopback_endpoint, wait_until
from sim_model import make_tiny_model
from test_sim_server import Cluster

from evospikenet.simulation.transport import _config

# about 30 s of generation on the busy 2-core machine: longer than the server's restart (up to
# 10 s on PostgreSQL), so the result comes after the new bridge is up (one published while no
# bridge listens is lost, and the attempt is redone once its lease runs out)
SLOW_TOKENS = "30000"


def test_a_bridge_killed_and_restarted_mid_prompt_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    import zenoh

    router_endpoint = loopback_endpoint()
    router = zenoh.open(_config("router", [router_endpoint], []))  # what zenohd does
    cluster = Cluster(tmp_path)
    cluster.endpoint = router_endpoint  # the nodes connect to the router
    cluster.server.env["EVOSPIKENET_SIM_ROUTER"] = router_endpoint  # and so does the bridge
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
        router.close()
