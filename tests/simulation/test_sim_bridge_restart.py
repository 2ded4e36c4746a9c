"""The bridge restarts mid-prompt: the server process is killed (SIGKILL) and started again
while real node processes work on a prompt. The prompt completes exactly once, on its first
attempt: the new bridge adopts the attempt its coordinator reports working on, or has finished
and not delivered (the database says it is that coordinator's current one), renews its lease
and takes its result; nothing is requeued, lost or done twice. Real ``evospikenet serve``, real
node processes, SQLite (PostgreSQL with ``EVOSPIKENET_TEST_DATABASE_URL``).

The nodes meet at a Zenoh router of their own on 127.0.0.1 (``EVOSPIKENET_SIM_ROUTER``, the
deployment of ``docs/deploy.md``), so their traffic goes on while the server is down. When the
bridge itself is the router, nodes cannot reach each other during the outage: one longer than
``node_offline_seconds`` (5 s) makes the coordinator give the attempt back, and the prompt is
done again (once)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sim_cluster import NodeProcess, loopback_endpoint, wait_until
from sim_model import make_tiny_model
from test_sim_server import Cluster

from evospikenet.simulation.transport import _config

COORDINATOR = "node-coordinator-0"
# about 30 s of generation on the busy 2-core machine: longer than the server's restart (up to
# 10 s on PostgreSQL), so the result comes after the new bridge is up
SLOW_TOKENS = "30000"
# a few seconds: the result is published while no bridge listens, well within the 30 s lease
# the dead bridge last renewed (an outage past the lease is a lost bridge: requeued)
OUTAGE_TOKENS = "4000"


@contextmanager
def routed_cluster(tmp_path: Path, tokens: str) -> Iterator[tuple[Cluster, NodeProcess]]:
    """A server and all four nodes on a Zenoh router; the language node generates ``tokens``
    tokens per prompt."""
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
        slow = cluster.start_node("language", 1, "--max-new-tokens", tokens, "--temperature", "0")
        cluster.wait_ready(slow.node_id)
        yield cluster, slow
    finally:
        for node in cluster.nodes.values():
            node.stop()
        cluster.server.close()
        router.close()


def assert_done_once(cluster: Cluster, prompt_id: str, result: dict[str, Any]) -> str:
    """The prompt completed on attempt 1, given to and answered by the coordinator once,
    adopted by the restarted bridge, nothing requeued; the coordinator's log."""
    assert result["state"] == "completed" and result["attempts"] == 1, result
    assert "SpikingLM Generated:" in result["response"]
    server_log = cluster.server.read_log()
    assert f"prompt {prompt_id} (attempt 1) on {COORDINATOR} adopted" in server_log
    assert "requeued" not in server_log and "given back" not in server_log
    coordinator_log = cluster.nodes[COORDINATOR].log_file.read_text()
    assert coordinator_log.count(f"prompt {prompt_id} attempt") == 1  # given once
    assert coordinator_log.count(f"prompt {prompt_id} completed") == 1  # answered once
    assert all(node.alive() for node in cluster.nodes.values())
    return coordinator_log


def test_a_bridge_killed_and_restarted_mid_prompt_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    with routed_cluster(tmp_path, SLOW_TOKENS) as (cluster, slow):
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
        assert_done_once(cluster, prompt_id, result)


def test_a_result_finished_while_the_server_is_down_is_delivered_once(tmp_path: Path) -> None:
    with routed_cluster(tmp_path, OUTAGE_TOKENS) as (cluster, slow):
        prompt_id = cluster.submit(prompt="finish me while the server is down")
        wait_until(lambda: cluster.node_state(slow.node_id) == "busy", 30, interval=0.02)

        cluster.server.kill()
        killed = time.monotonic()
        coordinator_log = cluster.nodes[COORDINATOR].log_file
        # the answer is composed and published while no bridge listens
        wait_until(lambda: f"prompt {prompt_id} completed" in coordinator_log.read_text(), 25)
        finished = time.monotonic() - killed
        cluster.server.start()
        result = cluster.result(prompt_id, timeout=60)
        print(f"finished {finished:.1f} s into the outage, taken {time.monotonic() - killed:.1f} s")

        # the bridge acknowledges after it has written the result, so the coordinator may log
        # the delivery a moment after the client sees the prompt completed
        delivered = f"result of {prompt_id} (attempt 1) delivered"
        wait_until(lambda: delivered in coordinator_log.read_text(), 10)
        assert_done_once(cluster, prompt_id, result)
