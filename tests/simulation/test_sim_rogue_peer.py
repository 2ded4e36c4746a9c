"""The bridge is closed by default: a rogue process on loopback, with or without the key,
cannot take prompts, answer them or add nodes (issue 15, finding 2). Real Zenoh, real queue."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Any

import pytest
from sim_cluster import wait_until
from test_sim_bridge import bridge_and_peer

from evospikenet.server.settings import Settings
from evospikenet.simulation import topics
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.server_plugin import SimulationConfig, stored_key, with_default_key


def beat(node_id: str, capacity: int = 1) -> dict[str, Any]:
    return {"node_id": node_id, "type": "coordinator", "rank": 0, "status": "idle",
            "incarnation": "i1", "capacity": capacity, "prompts": []}  # fmt: skip


def test_a_server_with_api_keys_generates_a_message_key_for_its_nodes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_keys=("k",))
    config = SimulationConfig.from_env(tmp_path)
    assert config.sim_key is None
    keyed = with_default_key(config, settings)
    assert keyed.sim_key is not None and len(keyed.sim_key) == 64
    assert stat.S_IMODE((tmp_path / "simulation.key").stat().st_mode) == 0o600
    assert with_default_key(config, settings).sim_key == keyed.sim_key == stored_key(tmp_path)
    open_server = Settings(data_dir=tmp_path / "open")
    assert with_default_key(config, open_server).sim_key is None  # no keys: nothing to protect


def test_the_generated_key_reaches_local_nodes(tmp_path: Path) -> None:
    from evospikenet.simulation.launcher import LocalNodes

    key = stored_key(tmp_path)
    nodes = LocalNodes("tcp/127.0.0.1:1", None, tmp_path, "api-key", sim_key=key)
    assert nodes._env["EVOSPIKENET_SIM_KEY"] == key.decode()


def test_a_rogue_peer_is_refused(tmp_path: Path) -> None:
    key = stored_key(tmp_path)
    codec, rogue = Codec(key), Codec()
    with bridge_and_peer(tmp_path, key) as (service, bridge, session):
        sent: list[dict[str, Any]] = []
        session.declare_subscriber(
            topics.PROMPT, lambda s: sent.append(codec.decode(s.payload.to_bytes()))
        )
        prompt_id = service.queue.submit(
            text="another user's secret", image=None, audio=None, priority=5, session_id=None
        )["prompt_id"]

        # no key: a coordinator of capacity 1,000 gets nothing and is not even listed
        for _ in range(3):
            session.put(topics.heartbeat("evil"), rogue.encode(beat("evil", 1000)))
            time.sleep(0.3)
        assert sent == [] and service.nodes.list() == []
        assert service.queue.get(prompt_id)["state"] == "queued"

        # the real coordinator gets the prompt
        session.put(topics.heartbeat("coord-a"), codec.encode(beat("coord-a")))
        wait_until(lambda: sent, 5)
        attempt = sent[0]["attempt"]
        answer = {"prompt_id": prompt_id, "attempt": attempt, "response": "forged"}

        # forged answers: no key, another node with the key, the right node for another attempt
        session.put(topics.RESULT, rogue.encode({**answer, "node_id": "coord-a"}))
        session.put(topics.RESULT, codec.encode({**answer, "node_id": "coord-b"}))
        session.put(topics.RESULT, codec.encode({**answer, "node_id": None}))
        stale = {**answer, "node_id": "coord-a", "attempt": attempt + 1}
        session.put(topics.RESULT, codec.encode(stale))
        session.put(topics.ACK, codec.encode({"prompt_id": prompt_id, "attempt": attempt,
                                              "node_id": "coord-b"}))  # fmt: skip
        time.sleep(0.7)
        assert service.queue.get(prompt_id)["state"] == "running"
        assert not bridge._in_flight[prompt_id].acked

        real = {**answer, "node_id": "coord-a", "response": "the real answer"}
        session.put(topics.RESULT, codec.encode(real))
        done = wait_until(
            lambda: (r := service.queue.get(prompt_id)) and r["state"] == "completed" and r, 5
        )
        assert done["response"] == "the real answer"
        assert [n["id"] for n in service.nodes.list()] == ["coord-a"]


@pytest.fixture(autouse=True)
def _no_sim_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EVOSPIKENET_SIM_KEY", "EVOSPIKENET_SIM_ALLOW_OPEN", "EVOSPIKENET_SIM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
