"""A mutating call whose answer is lost is retried with the same Idempotency-Key, and the real
server does the work once."""

from __future__ import annotations

import hashlib
from typing import Any

from faulty_server import DroppingProxy

from evospikenet.sdk import EvoSpikeNetAPIClient


def through_proxy(proxy: DroppingProxy, server: Any) -> EvoSpikeNetAPIClient:
    client = EvoSpikeNetAPIClient(base_url=proxy.base_url, api_key=server.api_key, progress=False)
    client._engine.sleep = lambda seconds: None
    return client


def test_lost_answer_to_create_session_creates_one_session(server: Any) -> None:
    direct = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    before = {s.session_id for s in direct.get_all_sessions()}
    with DroppingProxy(server.base_url, drop=1) as proxy:
        session = through_proxy(proxy, server).create_log_session("idempotent session")
    assert len(proxy.forwarded) == 2  # the server saw the request twice ...
    keys = {r.headers["idempotency-key"] for r in proxy.forwarded}
    assert len(keys) == 1  # ... with one key
    created = {s.session_id for s in direct.get_all_sessions()} - before
    assert created == {session.session_id}  # ... and created one session


def test_lost_answer_to_an_upload_stores_one_artifact(server: Any) -> None:
    direct = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    session_id = direct.create_log_session("idempotent upload").session_id
    payload = b"weights \r\n--+++\r\n" * 5000
    with DroppingProxy(server.base_url, drop=1) as proxy:
        artifact = through_proxy(proxy, server).upload_artifact(
            session_id, "model", "spiking_lm.pth", payload, llm_type="SpikingEvoTextLM"
        )
    assert len(proxy.forwarded) == 2
    assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
    stored = direct.get_session_artifacts(session_id)
    assert [a.artifact_id for a in stored] == [artifact.artifact_id]
    assert direct.get_artifact(artifact.artifact_id) == payload


def test_lost_answer_to_submit_prompt_queues_one_prompt(server: Any) -> None:
    direct = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key)
    depth = direct.get_simulation_status().queue_depth or 0
    with DroppingProxy(server.base_url, drop=1) as proxy:
        accepted = through_proxy(proxy, server).submit_prompt(prompt="once only")
    status = direct.get_simulation_status()
    assert status.queue_depth == depth + 1
    assert status["last_prompt_id"] == accepted.prompt_id
