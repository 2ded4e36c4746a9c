"""Messages, composition, the offline rule, and a node process spoken to over real Zenoh."""

from __future__ import annotations

import base64
import queue
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sim_cluster import NodeProcess, loopback_endpoint, wait_until
from sim_media import solid_image

from evospikenet.simulation import topics
from evospikenet.simulation.compose import compose_response
from evospikenet.simulation.messages import Codec, MessageError
from evospikenet.simulation.peers import PeerTable
from evospikenet.simulation.transport import open_listening

KEY = b"a shared key of enough length"


def test_codec_round_trip_and_authentication() -> None:
    keyed = Codec(KEY)
    message = {"prompt_id": "prm_1", "text": "こんにちは"}
    assert keyed.decode(keyed.encode(message)) == message
    assert Codec().decode(Codec().encode(message)) == message
    with pytest.raises(MessageError, match="authentication"):
        Codec(b"another key, also long enough").decode(keyed.encode(message))
    with pytest.raises(MessageError, match="authentication"):
        keyed.decode(Codec().encode(message))  # unsigned
    tampered = keyed.encode(message).replace(b"prm_1", b"prm_2")
    with pytest.raises(MessageError, match="authentication"):
        keyed.decode(tampered)
    with pytest.raises(MessageError, match="JSON object"):
        Codec().decode(b"[1, 2]")
    with pytest.raises(ValueError, match="16 bytes"):
        Codec(b"short")


def test_compose_uses_the_original_line_format() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    replies = {
        "language": {"summary": "3 prompt tokens", "details": {"text": "it's a cat"}},
        "vision": {"summary": "80x60 PNG; dominant colour red"},
        "auditory": {"summary": "0.50 s at 16000 Hz"},
    }
    assert compose_response(replies, now).splitlines() == [
        '[03:04:05] SpikingLM Generated: "it\'s a cat"',
        "[03:04:05] Language: 3 prompt tokens",
        "[03:04:05] Vision: 80x60 PNG; dominant colour red",
        "[03:04:05] Auditory: 0.50 s at 16000 Hz",
    ]
    assert compose_response({"language": {"summary": "s", "details": {"text": "hi"}}}, now) == (
        "[03:04:05] SpikingLM Generated: 'hi'\n[03:04:05] Language: s"
    )


def test_peer_goes_offline_after_silence() -> None:
    table = PeerTable(offline_after=0.3)
    beat = {"node_id": "n1", "type": "vision", "rank": 2, "status": "idle", "incarnation": "a"}
    _peer, previous = table.update(beat)
    assert previous is None and [p.node_id for p in table.online("vision")] == ["n1"]
    time.sleep(0.4)
    assert table.online() == [] and [p.node_id for p in table.newly_offline()] == ["n1"]
    assert table.newly_offline() == []  # reported once
    table.update({**beat, "status": "offline"})
    assert table.online() == []
    with pytest.raises(ValueError):
        table.update({"node_id": "n2", "type": "vision", "rank": "x"})
    with pytest.raises(ValueError, match="malformed"):
        table.update({**beat, "node_id": "a/b*"})
    with pytest.raises(ValueError, match="malformed"):
        table.update({**beat, "rank": 5000})


@pytest.fixture
def router() -> Iterator[tuple[str, Any]]:
    endpoint = loopback_endpoint()
    session = open_listening(endpoint)
    yield endpoint, session
    session.close()


def _subscribe(session: Any, key: str, codec: Codec) -> queue.Queue[dict[str, Any]]:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_sample(sample: Any) -> None:
        try:
            received.put(codec.decode(sample.payload.to_bytes()))
        except MessageError:
            received.put({"undecodable": True})

    session.declare_subscriber(key, on_sample)
    return received


def _next(received: queue.Queue[dict[str, Any]], match: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = received.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if match(message):
            return message
    raise AssertionError(f"no matching message within {timeout} s")


def test_vision_node_over_zenoh_with_a_message_key(router: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, session = router
    codec = Codec(KEY)
    beats = _subscribe(session, topics.HEARTBEAT_ALL, codec)
    replies = _subscribe(session, topics.REPLY, codec)
    node = NodeProcess("vision", 2, endpoint, tmp_path, env={"EVOSPIKENET_SIM_KEY": KEY.decode()})
    try:
        idle = _next(beats, lambda m: m.get("status") == "idle", 30)
        assert (idle["node_id"], idle["type"], idle["rank"]) == ("node-vision-2", "vision", 2)
        first = time.monotonic()
        _next(beats, lambda m: m.get("status") == "idle", 5)
        assert 1.0 < time.monotonic() - first < 3.5  # every 2 s

        task_key = topics.task("vision", node.node_id)
        image = base64.b64encode(solid_image((250, 250, 10))).decode()
        forged = Codec(b"not the key, but long enough").encode({"task_id": "t0", "media": image})
        session.put(task_key, forged)
        session.put(task_key, codec.encode({"task_id": "t1", "prompt_id": "p", "media": image}))
        reply = _next(replies, lambda m: "task_id" in m, 15)
        assert reply["task_id"] == "t1" and reply["node_id"] == node.node_id
        assert "80x60 PNG" in reply["summary"] and 0 < reply["spike_rate"] < 1
        assert reply["details"]["colour_spikes"]["red"] > 0

        session.put(task_key, codec.encode({"task_id": "t2", "media": "bm90IGFuIGltYWdl"}))
        bad = _next(replies, lambda m: m.get("task_id") == "t2", 15)
        assert "could not be decoded" in bad["error"] and node.alive()
        assert "dropped a task message" in node.output()
    finally:
        assert node.stop() == 0
    _next(beats, lambda m: m.get("status") == "offline", 5)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "vision", "--rank", "5000"], "rank must be within 0..1023"),
        (["--role", "vision", "--rank", "2", "--connect", "foo"], "must look like tcp/"),
        (["--role", "vision", "--rank", "2", "--node-id", "a/b"], "node id 'a/b' must be"),
        (["--role", "motor", "--rank", "2"], "invalid choice: 'motor'"),
    ],
)
def test_node_cli_refuses_bad_settings(args: list[str], message: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "evospikenet", "node", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0 and message in done.stderr, done.stderr


def test_node_started_before_the_bridge_waits_and_joins(tmp_path: Path) -> None:
    endpoint = loopback_endpoint()
    node = NodeProcess("auditory", 3, endpoint, tmp_path)
    try:
        # Starting Python and Zenoh takes seconds on a busy machine: wait for the line.
        wait_until(lambda: "waiting for the simulation bridge" in node.output(), 30, 0.2)
        assert node.alive()
        session = open_listening(endpoint)
        try:
            beats = _subscribe(session, topics.HEARTBEAT_ALL, Codec())
            beat = _next(beats, lambda m: m.get("status") == "idle", 20)
            assert beat["node_id"] == "node-auditory-3"
        finally:
            session.close()
    finally:
        assert node.stop() == 0
