"""The bridge with the server's real queue (SQLite, blob store) and real node processes over
Zenoh on 127.0.0.1: routing, composition, failures, node death and late joiners."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sim_cluster import NodeProcess, loopback_endpoint, wait_until
from sim_media import solid_image, stripes_image, tone_wav
from sim_model import make_tiny_model

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.service import BrainService
from evospikenet.server.db import Database
from evospikenet.server.settings import Settings
from evospikenet.simulation import topics
from evospikenet.simulation.bridge import BridgeError, SimulationBridge
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.transport import open_connected

TERMINAL = ("completed", "failed")


@dataclass
class Brain:
    """The server side in-process, plus the node processes."""

    service: BrainService
    bridge: SimulationBridge
    endpoint: str
    log_dir: Path
    model_dir: Path
    nodes: dict[str, NodeProcess]

    def submit(self, text: str | None = None, image: bytes | None = None,
               audio: bytes | None = None) -> str:  # fmt: skip
        accepted = self.service.queue.submit(
            text=text, image=image, audio=audio, priority=5, session_id=None
        )
        return str(accepted["prompt_id"])

    def result(self, prompt_id: str, timeout: float = 60.0) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            found = self.service.queue.get(prompt_id)
            return found if found and found["state"] in TERMINAL else None

        return wait_until(terminal, timeout)

    def node_status(self, node_id: str) -> str | None:
        for node in self.service.nodes.list():
            if node["id"] == node_id:
                return str(node["status"])
        return None

    def start_node(self, role: str, rank: int, *extra: str) -> NodeProcess:
        args = list(extra)
        if role == "language":
            args += ["--model-dir", str(self.model_dir), "--max-new-tokens", "8"]
        if role == "coordinator":
            args += ["--role-wait-seconds", "4"]
        node = NodeProcess(role, rank, self.endpoint, self.log_dir, *args)
        self.nodes[node.node_id] = node
        return node

    def wait_ready(self, node_id: str, timeout: float = 60.0) -> None:
        wait_until(lambda: self.node_status(node_id) in ("idle", "busy"), timeout)


def _janitor(service: BrainService, stop: threading.Event) -> None:
    """What the server's janitor does every second."""
    while not stop.wait(0.5):
        service.janitor_pass(purge=False)


@contextmanager
def bridge_and_peer(
    root: Path, key: bytes | None = None, attempts: int = 2
) -> Iterator[tuple[BrainService, SimulationBridge, Any]]:
    """A bridge on a fresh queue, and a Zenoh session connected to it (the test's peer)."""
    service = _service(root, attempts)
    endpoint = loopback_endpoint()
    bridge = SimulationBridge(service.queue, service.nodes, endpoint=endpoint, sim_key=key)
    bridge.start()
    session = open_connected(endpoint, threading.Event())
    assert session is not None
    try:
        yield service, bridge, session
    finally:
        session.close()
        bridge.stop()
        service.queue.database.dispose()


def _service(root: Path, attempts: int = 2) -> BrainService:
    settings = Settings(data_dir=root / "data", max_prompt_attempts=attempts)
    settings.data_dir.mkdir(parents=True)
    database = Database(settings.resolved_database_url)
    blobs = BlobStore(settings.data_dir)
    blobs.open()
    database.migrate()
    return BrainService(settings, database, blobs)


@pytest.fixture(scope="module")
def brain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brain]:
    root = tmp_path_factory.mktemp("brain")
    service = _service(root)
    endpoint = loopback_endpoint()
    bridge = SimulationBridge(service.queue, service.nodes, endpoint=endpoint)
    bridge.start()
    stop = threading.Event()
    janitor = threading.Thread(target=_janitor, args=(service, stop), daemon=True)
    janitor.start()
    state = Brain(service, bridge, endpoint, root / "logs", make_tiny_model(root / "model"), {})
    for rank, role in enumerate(("coordinator", "language", "vision", "auditory")):
        state.start_node(role, rank)
    try:
        for node_id in list(state.nodes):
            state.wait_ready(node_id)
        yield state
    finally:
        for node in state.nodes.values():
            node.stop()
        stop.set()
        bridge.stop()
        service.queue.database.dispose()


def test_text_prompt_gets_the_spiking_lm_line(brain: Brain) -> None:
    result = brain.result(brain.submit(text="What does the language node say?"))
    assert result["state"] == "completed", result
    lines = result["response"].splitlines()
    assert lines[0].startswith("[") and "] SpikingLM Generated: '" in lines[0]
    assert "Language:" in lines[1] and "generated" in lines[1]
    assert "Vision" not in result["response"] and result["attempts"] == 1


def test_image_prompt_reflects_the_image(brain: Brain) -> None:
    red = brain.result(brain.submit(image=solid_image((220, 20, 20))))
    blue = brain.result(brain.submit(image=solid_image((20, 20, 220), fmt="JPEG")))
    stripes = brain.result(brain.submit(image=stripes_image(vertical=True)))
    assert "Vision: 80x60 PNG; dominant colour red" in red["response"]
    assert "Vision: 80x60 JPEG; dominant colour blue" in blue["response"]
    assert "edges mostly vertical" in stripes["response"]
    assert "SpikingLM" not in red["response"]


def test_audio_prompt_reflects_the_sound(brain: Brain) -> None:
    low = brain.result(brain.submit(audio=tone_wav(440)))
    high = brain.result(brain.submit(audio=tone_wav(3000)))
    assert "Auditory: 0.50 s at 16000 Hz" in low["response"]
    assert "peak 440 Hz" in low["response"] and "peak 3000 Hz" in high["response"]


def test_all_three_modalities(brain: Brain) -> None:
    result = brain.result(
        brain.submit(text="Describe.", image=solid_image((10, 200, 10)), audio=tone_wav(1000))
    )
    assert result["state"] == "completed", result
    text = result["response"]
    assert "SpikingLM Generated:" in text and "dominant colour green" in text
    assert "peak 1000 Hz" in text


@pytest.mark.parametrize(
    "kind, data, message",
    [
        ("image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "vision node node-vision-2: the image"),
        ("audio", b"RIFF\x10\x00\x00\x00WAVEfmt ", "auditory node node-auditory-3: the audio"),
    ],
)
def test_corrupt_media_fails_the_prompt_and_the_node_stays(
    brain: Brain, kind: str, data: bytes, message: str
) -> None:
    result = brain.result(brain.submit(**{kind: data}))
    assert result["state"] == "failed" and message in result["error"], result
    assert result["attempts"] == 1  # bad media is not retried
    assert all(node.alive() for node in brain.nodes.values())
    good = solid_image((1, 2, 3)) if kind == "image" else tone_wav(500)
    assert brain.result(brain.submit(**{kind: good}))["state"] == "completed"


def test_two_nodes_of_one_role_share_the_work(brain: Brain) -> None:
    second = brain.start_node("vision", 5)
    try:
        brain.wait_ready(second.node_id)
        ids = [brain.submit(image=solid_image((20 * i, 60, 90))) for i in range(8)]
        results = [brain.result(pid) for pid in ids]
        assert all(r["state"] == "completed" for r in results), results

        def both_worked() -> bool:  # prompts_done arrives with each node's next heartbeat
            done = {n["id"]: n["prompts_done"] for n in brain.service.nodes.list()}
            return done["node-vision-5"] > 0 and done["node-vision-2"] > 0

        wait_until(both_worked, 5)
    finally:
        second.stop()
        brain.nodes.pop(second.node_id)


def test_bridge_refuses_an_open_non_loopback_endpoint(brain: Brain) -> None:
    with pytest.raises(BridgeError, match="EVOSPIKENET_SIM_KEY"):
        SimulationBridge(brain.service.queue, brain.service.nodes, endpoint="tcp/0.0.0.0:7999")


def test_bridge_protocol_with_a_key_resends_and_refuses_forgeries(tmp_path: Path) -> None:
    """The test plays the coordinator over real Zenoh against a keyed bridge."""
    key = b"bridge test key, 32 bytes long.."
    codec = Codec(key)
    with bridge_and_peer(tmp_path, key) as (service, _bridge, session):
        prompts: list[dict[str, Any]] = []
        session.declare_subscriber(
            topics.PROMPT, lambda s: prompts.append(codec.decode(s.payload.to_bytes()))
        )
        prompt_id = service.queue.submit(
            text=None, image=solid_image((1, 2, 3)), audio=None, priority=5, session_id=None
        )["prompt_id"]
        time.sleep(0.5)
        assert service.queue.get(prompt_id)["state"] == "queued"  # no coordinator yet

        beat = {"node_id": "coord-x", "type": "coordinator", "rank": 0, "status": "idle",
                "incarnation": "i1", "capacity": 4, "prompts_done": 0}  # fmt: skip
        forged_beat = Codec(b"some other key of 32 bytes......").encode(beat)
        session.put(topics.heartbeat("coord-x"), forged_beat)
        time.sleep(0.5)
        assert not prompts and service.nodes.list() == []  # a forged heartbeat counts for nothing

        session.put(topics.heartbeat("coord-x"), codec.encode(beat))
        wait_until(lambda: len(prompts) >= 1, 5)
        sent = prompts[0]
        assert sent["prompt_id"] == prompt_id and sent["coordinator"] == "coord-x"
        assert sent["attempt"] == 1 and sent["image"] and sent["text"] is None
        wait_until(lambda: len(prompts) >= 2, 5)  # not acknowledged: sent again
        assert prompts[1] == sent
        ack = {"prompt_id": prompt_id, "attempt": 1, "node_id": "coord-x"}
        session.put(topics.ACK, codec.encode(ack))

        forged = {"prompt_id": prompt_id, "attempt": 1, "response": "forged answer"}
        session.put(topics.RESULT, Codec().encode(forged))
        time.sleep(0.5)
        assert service.queue.get(prompt_id)["state"] == "running"

        retry = {**forged, "retry": "testing", "response": None, "node_id": "coord-x"}
        session.put(topics.RESULT, codec.encode(retry))
        requeued = wait_until(lambda: len(prompts) >= 3 and prompts[-1], 5)
        assert requeued["attempt"] == 2  # given back, then claimed again

        answer = {"prompt_id": prompt_id, "attempt": 2, "response": "the real answer",
                  "node_id": "coord-x"}  # fmt: skip
        session.put(topics.RESULT, codec.encode(answer))
        done = wait_until(
            lambda: (r := service.queue.get(prompt_id)) and r["state"] == "completed" and r, 5
        )
        assert done["response"] == "the real answer" and done["attempts"] == 2
        status = {n["id"]: n for n in service.nodes.list()}["coord-x"]
        assert status["type"] == "coordinator" and status["status"] == "idle"


def test_large_image_near_the_server_limit_crosses_zenoh(brain: Brain) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2300, 2300), (30, 30, 200)).save(buffer, format="BMP")  # ~15.9 MB
    assert 15_000_000 < len(buffer.getvalue()) < 16 * 1024 * 1024
    result = brain.result(brain.submit(image=buffer.getvalue()), timeout=90)
    assert result["state"] == "completed", result
    assert "Vision: 2300x2300 BMP; dominant colour blue" in result["response"]


def test_bridge_requeues_a_prompt_whose_result_was_lost(tmp_path: Path) -> None:
    """The test plays a coordinator that acknowledges a prompt, then drops it silently."""
    codec = Codec()
    with bridge_and_peer(tmp_path, attempts=3) as (service, _bridge, session):
        prompts: list[dict[str, Any]] = []
        session.declare_subscriber(
            topics.PROMPT, lambda s: prompts.append(codec.decode(s.payload.to_bytes()))
        )
        prompt_id = service.queue.submit(
            text="hello", image=None, audio=None, priority=5, session_id=None
        )["prompt_id"]
        beat = {"node_id": "coord-y", "type": "coordinator", "rank": 0, "status": "idle",
                "incarnation": "i1", "capacity": 1, "prompts": []}  # fmt: skip
        session.put(topics.heartbeat("coord-y"), codec.encode(beat))
        wait_until(lambda: prompts, 5)
        ack = {"prompt_id": prompt_id, "attempt": 1, "node_id": "coord-y"}
        session.put(topics.ACK, codec.encode(ack))
        busy = {**beat, "status": "busy", "prompts": [prompt_id]}
        for _ in range(3):  # holding it: nothing happens
            session.put(topics.heartbeat("coord-y"), codec.encode(busy))
            time.sleep(0.5)
        assert len(prompts) == 1 and service.queue.get(prompt_id)["state"] == "running"
        started = time.monotonic()
        while len(prompts) < 2 and time.monotonic() - started < 10:  # dropped it, no result
            session.put(topics.heartbeat("coord-y"), codec.encode(beat))
            time.sleep(0.5)
        assert len(prompts) == 2 and prompts[1]["attempt"] == 2
        assert 3.0 <= time.monotonic() - started <= 6.0


def test_coordinator_gives_back_a_task_its_node_lost(tmp_path: Path) -> None:
    """A real coordinator; the test plays a vision node that takes tasks and forgets them."""
    codec = Codec()
    service = _service(tmp_path, attempts=2)
    endpoint = loopback_endpoint()
    bridge = SimulationBridge(service.queue, service.nodes, endpoint=endpoint)
    bridge.start()
    coordinator = NodeProcess("coordinator", 0, endpoint, tmp_path / "logs")
    session = open_connected(endpoint, threading.Event())
    assert session is not None
    try:
        tasks: list[dict[str, Any]] = []
        session.declare_subscriber(
            topics.task("vision", "forgetful-vision"),
            lambda s: tasks.append(codec.decode(s.payload.to_bytes())),
        )
        beat = {"node_id": "forgetful-vision", "type": "vision", "rank": 9, "status": "idle",
                "incarnation": "v1", "tasks": []}  # fmt: skip
        stop = threading.Event()

        def heartbeats() -> None:
            while not stop.is_set():
                session.put(topics.heartbeat("forgetful-vision"), codec.encode(beat))
                stop.wait(0.5)

        beating = threading.Thread(target=heartbeats, daemon=True)
        beating.start()
        wait_until(lambda: coordinator.log_file.exists() and "joined" in coordinator.output(), 30)
        prompt_id = service.queue.submit(
            text=None, image=solid_image((5, 5, 5)), audio=None, priority=5, session_id=None
        )["prompt_id"]

        def final() -> dict[str, Any] | None:
            found = service.queue.get(prompt_id)
            return found if found and found["state"] in TERMINAL else None

        result = wait_until(final, 30)
        stop.set()
        assert result["state"] == "failed" and result["attempts"] == 2, result
        assert result["error"] == (
            "gave up after 2 attempts: the vision node forgetful-vision lost the task or its answer"
        )
        assert len(tasks) == 2 and tasks[0]["prompt_id"] == prompt_id
    finally:
        coordinator.stop()
        session.close()
        bridge.stop()
        service.queue.database.dispose()
