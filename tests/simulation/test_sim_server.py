"""The whole distributed brain against a real ``evospikenet serve``: the SDK's section 5 calls,
nodes as separate processes over Zenoh on 127.0.0.1, the model served through the API."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import TEST_KEY, LiveServer
from sim_cluster import NodeProcess, loopback_endpoint, wait_until
from sim_media import solid_image, tone_wav
from sim_model import make_tiny_model

from evospikenet.sdk import EvoSpikeNetAPIClient

ROLES = ("coordinator", "language", "vision", "auditory")


class Cluster:
    """A server (bridge on, local nodes off) and node processes started by the test."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.endpoint = loopback_endpoint()
        self.log_dir = root / "logs"
        env = {
            "EVOSPIKENET_SIM_ENDPOINT": self.endpoint,
            "EVOSPIKENET_SIM_LOCAL_NODES": "false",
            "EVOSPIKENET_MAX_PROMPT_ATTEMPTS": "2",
            "EVOSPIKENET_MAX_MEDIA_BYTES": "300000",
        }
        self.server = LiveServer(root / "data", api_key=TEST_KEY, env=env, nodes=True)
        self.nodes: dict[str, NodeProcess] = {}

    def client(self) -> EvoSpikeNetAPIClient:
        return EvoSpikeNetAPIClient(self.server.base_url, api_key=TEST_KEY)

    def upload_model(self, folder: Path) -> str:
        with self.client() as client:
            session = client.create_log_session("tiny spiking LM for the simulation tests")
            for kind, name in (
                ("config", "config.json"),
                ("model", "spiking_lm.pth"),
                ("tokenizer", "spiking_lm_tokenizer.zip"),
            ):
                client.upload_artifact(
                    session["session_id"], kind, name, folder / name, llm_type="SpikingEvoTextLM"
                )
            return str(session["session_id"])

    def start_node(self, role: str, rank: int, *extra: str) -> NodeProcess:
        args = ["--api-url", self.server.base_url, "--cache-dir", str(self.root / "cache")]
        if role == "language":
            args += ["--max-new-tokens", "8", "--seed", "7", "--model-refresh-seconds", "1"]
        if role == "coordinator":
            # Long enough for a restarted language node to import torch and load its model
            # on a busy 2-core machine (8 s was not, at a load average of 10).
            args += ["--role-wait-seconds", "20"]
        node = NodeProcess(
            role, rank, self.endpoint, self.log_dir, *args, *extra,
            env={"EVOSPIKENET_API_KEY": TEST_KEY, "EVOSPIKENET_SIM_KEY": self.sim_key()},
        )  # fmt: skip
        self.nodes[node.node_id] = node
        return node

    def sim_key(self) -> str:
        """The message key the server generated (it has API keys and no EVOSPIKENET_SIM_KEY)."""
        return (self.root / "data" / "simulation.key").read_text()

    def status(self) -> dict[str, Any]:
        with self.client() as client:
            return dict(client.get_simulation_status())

    def node_state(self, node_id: str) -> str | None:
        for node in self.status()["nodes"]:
            if node["id"] == node_id:
                return str(node["status"])
        return None

    def wait_ready(self, node_id: str, timeout: float = 60.0) -> None:
        wait_until(lambda: self.node_state(node_id) in ("idle", "busy"), timeout, interval=0.2)

    def ensure_nodes(self) -> None:
        # the language node first, and ready before the others start: loading its model takes
        # seconds on a busy machine, and the coordinator's --role-wait-seconds clock starts
        # with the coordinator
        for rank, role in sorted(enumerate(ROLES), key=lambda item: item[1] != "language"):
            node_id = f"node-{role}-{rank}"
            if node_id not in self.nodes or not self.nodes[node_id].alive():
                self.start_node(role, rank)
                if role == "language":
                    self.wait_ready(node_id)
        for node_id in self.nodes:
            self.wait_ready(node_id)

    def submit(self, **fields: Any) -> str:
        response = httpx.post(
            f"{self.server.base_url}/api/distributed_brain/prompt",
            json=fields,
            headers=self.server.headers,
            timeout=30,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["prompt_id"])

    def result(self, prompt_id: str, timeout: float = 60.0) -> dict[str, Any]:
        with self.client() as client:
            found = client.poll_for_result(prompt_id, timeout=int(timeout), interval=1)
        assert found is not None, f"no result for {prompt_id} within {timeout} s"
        return dict(found)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("sim-server")
    state = Cluster(root)
    state.server.start()
    try:
        state.upload_model(make_tiny_model(root / "model"))
        yield state
    finally:
        for node in state.nodes.values():
            node.stop()
        state.server.close()


def b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def test_prompts_queued_before_any_node_are_delivered_when_nodes_join(cluster: Cluster) -> None:
    ids = [cluster.submit(prompt=f"early prompt {i}") for i in range(3)]
    time.sleep(1.0)
    status = cluster.status()
    assert status["active_nodes"] == 0 and status["queue_depth"] >= 3
    with cluster.client() as client:
        assert all(client.get_simulation_result(pid)["state"] == "queued" for pid in ids)
    cluster.ensure_nodes()
    for pid in ids:
        result = cluster.result(pid)
        assert result["state"] == "completed" and result["attempts"] == 1, result
        assert "SpikingLM Generated:" in result["response"]
    language_log = cluster.nodes["node-language-1"].log_file.read_text()
    assert "language model loaded from API session" in language_log


def test_sdk_section_5_example(cluster: Cluster, tmp_path: Path) -> None:
    cluster.ensure_nodes()
    image = tmp_path / "dummy_image.png"
    image.write_bytes(solid_image((200, 30, 30), size=(64, 48)))
    with cluster.client() as client:
        response = client.submit_prompt(
            prompt="この画像に写っているものは何ですか？", image_path=str(image)
        )
        prompt_id = response.get("prompt_id")
        result = client.poll_for_result(prompt_id=prompt_id, timeout=60)
    assert result and result.get("response"), result
    assert "SpikingLM Generated:" in result["response"]
    assert "Vision: 64x48 PNG; dominant colour red" in result["response"]


def test_audio_and_all_modalities_through_the_api(cluster: Cluster, tmp_path: Path) -> None:
    cluster.ensure_nodes()
    sound = tmp_path / "tone.wav"
    sound.write_bytes(tone_wav(880))
    with cluster.client() as client:
        audio_only = client.submit_prompt(audio_path=str(sound))["prompt_id"]
        (tmp_path / "g.jpg").write_bytes(solid_image((20, 210, 20), fmt="JPEG"))
        everything = client.submit_prompt(
            prompt="all senses", image_path=str(tmp_path / "g.jpg"), audio_path=str(sound)
        )["prompt_id"]
    audio = cluster.result(audio_only)
    assert audio["state"] == "completed" and "peak 880 Hz" in audio["response"]
    assert "SpikingLM" not in audio["response"] and "Vision" not in audio["response"]
    both = cluster.result(everything)["response"]
    assert "SpikingLM Generated:" in both and "dominant colour green" in both
    assert "peak 880 Hz" in both


def test_fifty_prompts_from_five_clients_each_get_their_own(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.ensure_nodes()
    results: dict[int, list[tuple[int, int, dict[str, Any]]]] = {}
    errors: list[BaseException] = []

    def client_work(index: int) -> None:
        try:
            mine: list[tuple[int, int, str]] = []
            with cluster.client() as client:
                for j in range(10):
                    width, height = 40 + index, 30 + j  # a size unique to this prompt
                    image = tmp_path / f"client{index}-{j}.png"
                    image.write_bytes(solid_image((10 + 40 * index, 90, 200), (width, height)))
                    accepted = client.submit_prompt(f"client {index} #{j}", image_path=image)
                    mine.append((width, height, str(accepted["prompt_id"])))
                got = []
                for width, height, pid in mine:
                    found = client.poll_for_result(pid, timeout=120, interval=1)
                    got.append((width, height, dict(found) if found else {}))
            results[index] = got
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client_work, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    assert sorted(results) == [0, 1, 2, 3, 4]
    for got in results.values():
        assert len(got) == 10
        for width, height, result in got:
            assert result.get("state") == "completed", result
            assert f"Vision: {width}x{height} PNG" in result["response"]
            assert "SpikingLM Generated:" in result["response"]


def test_status_reports_every_node(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    done = cluster.result(
        cluster.submit(prompt="status", image=b64(solid_image((9, 9, 9))), audio=b64(tone_wav(300)))
    )
    assert done["state"] == "completed", done
    time.sleep(2.5)  # one heartbeat period, so prompts_done and spike rates are reported
    status = cluster.status()
    nodes = {n["id"]: n for n in status["nodes"]}
    assert status["active_nodes"] >= 4
    for rank, role in enumerate(ROLES):
        node = nodes[f"node-{role}-{rank}"]
        assert node["rank"] == rank and node["type"] == role
        assert node["status"] in ("idle", "busy") and node["last_heartbeat"]
        assert node["prompts_done"] > 0
        if role != "coordinator":
            assert node["spike_rate"] is not None and 0 <= node["spike_rate"] <= 1
    assert status["last_prompt_status"] == "completed"


def test_oversized_media_is_refused(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    big = b"\x00" * 300_001
    response = httpx.post(
        f"{cluster.server.base_url}/api/distributed_brain/prompt",
        json={"image": b64(big)},
        headers=cluster.server.headers,
        timeout=30,
    )
    assert response.status_code == 413, response.text
    # a node with a smaller limit than the server's fails the prompt, and stays up
    cluster.nodes.pop("node-vision-2").stop()
    small = cluster.start_node("vision", 2, "--max-media-bytes", "2000")
    cluster.wait_ready(small.node_id)
    noise = bytes(range(256)) * 40
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (64, 40), noise[: 64 * 40 * 3]).save(buffer, format="BMP")
    result = cluster.result(cluster.submit(image=b64(buffer.getvalue())))
    assert result["state"] == "failed"
    assert "more than the node's limit of 2000 bytes" in result["error"], result
    assert small.alive()
    small.stop()
    cluster.nodes.pop(small.node_id)
    cluster.ensure_nodes()


def _slow_language_node(cluster: Cluster) -> NodeProcess:
    """Replace the language node by one that generates 400 tokens (several seconds)."""
    old = cluster.nodes.pop("node-language-1", None)
    if old is not None:
        old.stop()
    node = cluster.start_node("language", 1, "--max-new-tokens", "400", "--temperature", "0")
    cluster.wait_ready(node.node_id)
    return node


def _kill_when_busy(cluster: Cluster, node: NodeProcess) -> float:
    wait_until(lambda: cluster.node_state(node.node_id) == "busy", 30, interval=0.05)
    node.kill()
    return time.monotonic()


def test_node_killed_mid_prompt_is_retried_after_restart(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    node = _slow_language_node(cluster)
    prompt_id = cluster.submit(prompt="a long answer, please")
    killed_at = _kill_when_busy(cluster, node)
    wait_until(lambda: cluster.node_state(node.node_id) == "offline", 8, interval=0.1)
    assert time.monotonic() - killed_at <= 6.0
    _slow_language_node(cluster)
    result = cluster.result(prompt_id, timeout=90)
    assert result["state"] == "completed" and result["attempts"] == 2, result
    assert "SpikingLM Generated:" in result["response"]
    coordinator_log = cluster.nodes["node-coordinator-0"].log_file.read_text()
    assert "went offline while working on it" in coordinator_log or "restarted" in coordinator_log


def test_node_killed_for_good_fails_the_prompt_once_retries_are_spent(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    node = _slow_language_node(cluster)
    prompt_id = cluster.submit(prompt="nobody will answer this")
    _kill_when_busy(cluster, node)
    result = cluster.result(prompt_id, timeout=90)
    assert result["state"] == "failed" and result["attempts"] == 2, result
    assert result["error"].startswith("gave up after 2 attempts: no language node online")
    cluster.nodes.pop(node.node_id)
    cluster.ensure_nodes()  # the fast language node again, for whatever runs next


def test_server_restart_keeps_prompts_and_nodes_reconnect(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    cluster.server.stop()
    cluster.server.start()  # same port, same data, same Zenoh endpoint
    prompt_id = cluster.submit(prompt="after the restart", audio=b64(tone_wav(600)))
    result = cluster.result(prompt_id, timeout=60)
    assert result["state"] == "completed", result
    assert "peak 600 Hz" in result["response"] and "SpikingLM Generated:" in result["response"]
    assert all(node.alive() for node in cluster.nodes.values())


def test_language_node_with_a_refused_key_fails_text_prompts_clearly(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    cluster.nodes.pop("node-language-1").stop()
    args = ["--api-url", cluster.server.base_url, "--cache-dir", str(cluster.root / "cache2")]
    wrong = NodeProcess(
        "language", 5, cluster.endpoint, cluster.log_dir, *args,
        env={"EVOSPIKENET_API_KEY": "not-the-key", "EVOSPIKENET_SIM_KEY": cluster.sim_key()},
    )  # fmt: skip
    try:
        cluster.wait_ready(wrong.node_id)
        result = cluster.result(cluster.submit(prompt="will this work?"))
        assert result["state"] == "failed", result
        assert result["error"].startswith(
            "language node node-language-5: the language node has no model: "
            "cannot ask the server which model it serves: 401"
        ), result
        assert wrong.alive()
    finally:
        wrong.stop()
    cluster.ensure_nodes()


def test_coordinator_killed_mid_prompt_the_prompt_is_retried(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    _slow_language_node(cluster)
    coordinator = cluster.nodes["node-coordinator-0"]
    prompt_id = cluster.submit(prompt="the coordinator will not see this through")
    wait_until(lambda: cluster.node_state(coordinator.node_id) == "busy", 30, interval=0.05)
    coordinator.kill()
    killed_at = time.monotonic()
    wait_until(lambda: cluster.node_state(coordinator.node_id) == "offline", 8, interval=0.1)
    assert time.monotonic() - killed_at <= 6.0
    cluster.start_node("coordinator", 0)
    result = cluster.result(prompt_id, timeout=90)
    assert result["state"] == "completed" and result["attempts"] == 2, result
    cluster.nodes.pop("node-language-1").stop()
    cluster.ensure_nodes()


def test_language_node_picks_up_a_newer_model_session(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    session_id = cluster.upload_model(make_tiny_model(cluster.root / "model-v2", seed=1))
    language = cluster.nodes["node-language-1"]
    wait_until(lambda: f"reloaded from API session {session_id}" in language.output(), 30, 0.2)
    result = cluster.result(cluster.submit(prompt="which model answers?"))
    assert result["state"] == "completed", result
    assert f"model: API session {session_id}" in result["response"]


def test_coordinator_restarted_at_once_its_prompt_is_retried(cluster: Cluster) -> None:
    cluster.ensure_nodes()
    _slow_language_node(cluster)
    coordinator = cluster.nodes["node-coordinator-0"]
    prompt_id = cluster.submit(prompt="a restart, not an outage")
    wait_until(lambda: cluster.node_state(coordinator.node_id) == "busy", 30, interval=0.05)
    coordinator.kill()
    cluster.start_node("coordinator", 0)  # back before anyone sees it offline
    result = cluster.result(prompt_id, timeout=90)
    assert result["state"] == "completed" and result["attempts"] == 2, result
    cluster.nodes.pop("node-language-1").stop()
    cluster.ensure_nodes()
