"""Results are delivered reliably: the coordinator keeps each in an outbox, lists it in its
heartbeats and re-sends it until the bridge acknowledges it; the bridge waits for a listed
result instead of requeueing the attempt, takes one that comes before any heartbeat if the
database gives its sender that attempt, and acknowledges repeats without writing them again.
Real Zenoh on 127.0.0.1 and a real queue; the test plays the coordinator, then the bridge.
(The server killed while real nodes finish a prompt: ``test_sim_bridge_restart.py``.)"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sim_cluster import loopback_endpoint, wait_until
from test_sim_bridge import bridge_and_peer

from evospikenet.simulation import topics
from evospikenet.simulation.bridge import LOST_GRACE_SECONDS
from evospikenet.simulation.coordinator import RESULT_RESEND_SECONDS, Coordinator
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.node_base import NodeIdentity
from evospikenet.simulation.transport import open_listening

KEY = b"a message key of 32 bytes......."


def beat(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"node_id": node_id, "type": "coordinator", "rank": 0, "status": "busy",
            "incarnation": "i1", "capacity": 2, "prompts": [], **extra}  # fmt: skip


def collect(session: Any, codec: Codec, key: str) -> list[dict[str, Any]]:
    """Every message published on ``key`` from now on."""
    seen: list[dict[str, Any]] = []
    session.declare_subscriber(key, lambda s: seen.append(codec.decode(s.payload.to_bytes())))
    return seen


def test_a_listed_result_is_waited_for_and_a_repeat_is_acknowledged_not_written(
    tmp_path: Path,
) -> None:
    codec = Codec(KEY)
    with bridge_and_peer(tmp_path, KEY) as (service, bridge, session):
        prompts, acks = (
            collect(session, codec, topics.PROMPT),
            collect(session, codec, topics.RESULT_ACK),
        )
        prompt_id = service.queue.submit(
            text="hello", image=None, audio=None, priority=5, session_id=None
        )["prompt_id"]
        session.put(topics.heartbeat("coord-a"), codec.encode(beat("coord-a")))
        attempt = wait_until(lambda: prompts, 5)[0]["attempt"]
        ident = {"prompt_id": prompt_id, "attempt": attempt, "node_id": "coord-a"}
        session.put(topics.ACK, codec.encode(ident))

        # finished, result not arrived: listed in the heartbeats, so not taken as lost
        finished = beat("coord-a", results=[[prompt_id, attempt]])
        started = time.monotonic()
        while time.monotonic() - started < LOST_GRACE_SECONDS + 1.5:
            session.put(topics.heartbeat("coord-a"), codec.encode(finished))
            time.sleep(0.5)
        assert service.queue.get(prompt_id)["state"] == "running" and len(prompts) == 1

        # another node's result for that attempt: refused (and acknowledged to that node)
        session.put(topics.RESULT, codec.encode({**ident, "node_id": "coord-b", "response": "x"}))
        wait_until(lambda: acks, 5)
        assert acks == [{**ident, "node_id": "coord-b"}]
        assert service.queue.get(prompt_id)["state"] == "running"

        session.put(topics.RESULT, codec.encode({**ident, "response": "the answer"}))
        wait_until(lambda: len(acks) == 2, 5)
        assert acks[1] == ident and service.queue.get(prompt_id)["response"] == "the answer"

        # re-sent copies (the acknowledgement was late; a new bridge that never saw it)
        session.put(topics.RESULT, codec.encode({**ident, "response": "again"}))
        wait_until(lambda: len(acks) == 3, 5)
        bridge._answered.clear()
        session.put(topics.RESULT, codec.encode({**ident, "response": "and again"}))
        wait_until(lambda: len(acks) == 4, 5)
        assert acks[2:] == [ident, ident]
        done = service.queue.get(prompt_id)
        assert done["state"] == "completed" and done["attempts"] == attempt == 1
        assert done["response"] == "the answer"


def test_a_result_before_any_heartbeat_counts_if_the_database_gives_its_sender_that_attempt(
    tmp_path: Path,
) -> None:
    codec = Codec(KEY)
    with bridge_and_peer(tmp_path, KEY) as (service, _bridge, session):
        acks = collect(session, codec, topics.RESULT_ACK)
        ids = [
            service.queue.submit(text=t, image=None, audio=None, priority=5, session_id=None)[
                "prompt_id"
            ]
            for t in ("mine", "not mine")
        ]
        # claimed by a bridge that is gone (the server restarted); the results come first
        mine, other = (service.queue.claim_next(node) for node in ("coord-a", "coord-b"))
        assert mine is not None and other is not None
        for claimed in (mine, other):
            answer = {"prompt_id": claimed.prompt_id, "attempt": claimed.attempts,
                      "node_id": "coord-a", "response": f"answer to {claimed.text}"}  # fmt: skip
            session.put(topics.RESULT, codec.encode(answer))
        wait_until(lambda: len(acks) == 2, 5)
        assert {a["prompt_id"] for a in acks} == set(ids)
        assert service.queue.get(ids[0])["response"] == "answer to mine"
        assert service.queue.get(ids[1])["state"] == "running"  # coord-b's attempt


def test_the_coordinator_re_sends_a_result_until_it_is_acknowledged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real coordinator; the test plays the bridge and does not acknowledge at first."""
    caplog.set_level(logging.INFO, "evospikenet.simulation.coordinator")
    codec = Codec(KEY)
    endpoint = loopback_endpoint()
    session = open_listening(endpoint)
    results, beats = collect(session, codec, topics.RESULT), collect(session, codec, "heartbeat/c0")
    coordinator = Coordinator(NodeIdentity.make("coordinator", 0, "c0"), endpoint, codec)
    stop = threading.Event()
    runner = threading.Thread(target=coordinator.run, args=(stop,), daemon=True)
    runner.start()
    try:
        wait_until(lambda: beats and beats[-1]["status"] == "idle", 10)
        # a prompt with nothing to do fails at once: an outcome in the outbox
        prompt = {"prompt_id": "p1", "attempt": 1, "coordinator": "c0", "text": ""}
        session.put(topics.PROMPT, codec.encode(prompt))
        wait_until(lambda: len(results) >= 2, 3 * RESULT_RESEND_SECONDS)  # re-sent
        assert all(r == results[0] for r in results) and "error" in results[0]
        assert [["p1", 1]] in [b["results"] for b in beats[-2:]]

        session.put(topics.PROMPT, codec.encode(prompt))  # re-sent prompt: the same result
        count = len(results)
        wait_until(lambda: len(results) > count, 2)
        assert results[-1] == results[0]
        assert caplog.text.count("prompt p1 failed") == 1  # not done again

        ack = {"prompt_id": "p1", "attempt": 1}
        session.put(topics.RESULT_ACK, codec.encode({**ack, "node_id": "someone else"}))
        session.put(topics.RESULT_ACK, Codec().encode({**ack, "node_id": "c0"}))  # no key
        time.sleep(0.3)
        assert list(coordinator._outbox) == [("p1", 1)]
        session.put(topics.RESULT_ACK, codec.encode({**ack, "node_id": "c0"}))
        wait_until(lambda: not coordinator._outbox, 3)
        count = len(results)
        coordinator.send_heartbeat()
        wait_until(lambda: beats[-1]["results"] == [], 3)
        time.sleep(RESULT_RESEND_SECONDS + 0.5)
        assert len(results) == count  # no more re-sends
    finally:
        stop.set()
        runner.join(timeout=10)
        session.close()
