"""Results are dicts of the JSON as the server sent it, with typed attributes; by default only
the identifying fields are required, ``strict_response_validation=True`` checks the contract."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import pickle
from typing import Any

import pytest
from faulty_server import FaultyServer, json_reply

from evospikenet.sdk import (
    APIResponseValidationError,
    AsyncEvoSpikeNetAPIClient,
    EvoSpikeNetAPIClient,
    FailedGeneration,
    GenerateResult,
    Limits,
    NodeStatus,
    PromptResult,
    ServerInfo,
    Session,
    SimulationStatus,
)
from evospikenet_api_client.models import GenerateRequest, PromptState

GENERATED = {
    "generated_text": "こんにちは",
    "prompt": "p",
    "llm_type": "SpikingEvoTextLM",
    "model_session_id": "ses_1",
    "prompt_tokens": 2,
    "generated_tokens": 3,
    "prompt_truncated": False,
    "energy": 0.5,  # a newer server's field
}
SESSION = {
    "session_id": "ses_1",
    "description": "d",
    "created_at": "2026-11-28T02:33:34.609615Z",
    "artifact_count": 0,
}
LIMITS = {
    "max_prompt_chars": 20000,
    "max_upload_bytes": 1 << 30,
    "max_media_bytes": 1 << 20,
    "max_wait_seconds": 30,  # a JSON integer for a number field
    "max_page_size": 500,
    "max_new_tokens": 512,
}
INFO = {
    "version": "1.0",
    "api_version": "1.0",
    "model": None,
    "model_error": None,
    "limits": LIMITS,
}
NODE = {
    "id": "node-0",
    "rank": 0,
    "type": "language",
    "status": "idle",
    "last_heartbeat": "2026-11-28T00:00:00Z",
    "prompts_done": 4,
    "spike_rate": None,
    "host": None,
}
STATUS = {
    "nodes": [NODE],
    "active_nodes": 1,
    "queue_depth": 0,
    "running": 0,
    "last_prompt_status": None,
    "last_prompt_id": None,
}
PENDING = {
    "prompt_id": "prm_1",
    "state": "running",
    "response": None,
    "timestamp": None,
    "error": None,
    "created_at": "2026-11-28T00:00:00Z",
    "started_at": None,
    "attempts": 1,
}


def client_for(server: FaultyServer, **kwargs: Any) -> EvoSpikeNetAPIClient:
    return EvoSpikeNetAPIClient(base_url=server.base_url, max_retries=0, **kwargs)


def test_a_result_is_a_dict_of_the_json_as_sent() -> None:
    result = GenerateResult.from_dict(GENERATED)
    assert isinstance(result, dict) and result == GENERATED
    assert json.loads(json.dumps(result)) == GENERATED
    assert json.dumps(result, ensure_ascii=False) == json.dumps(GENERATED, ensure_ascii=False)
    assert repr(result) == f"GenerateResponse({GENERATED!r})" and str(result) == repr(result)
    assert result["energy"] == 0.5 and result.additional_properties == {"energy": 0.5}
    session = Session.from_dict(SESSION)
    assert session["created_at"] == "2026-11-28T02:33:34.609615Z"  # the server's string
    assert session.created_at == datetime.datetime(
        2026, 11, 28, 2, 33, 34, 609615, tzinfo=datetime.UTC
    )
    assert json.dumps(session) == json.dumps(SESSION)


def test_a_result_copies_and_pickles_with_its_request_id() -> None:
    session = Session.from_dict(SESSION)
    session.request_id = "req-1"
    for clone in (
        copy.copy(session),
        copy.deepcopy(session),
        *(pickle.loads(pickle.dumps(session, protocol)) for protocol in range(6)),
    ):
        assert type(clone) is Session and clone == SESSION and clone is not session
        assert clone.request_id == "req-1" and clone.created_at == session.created_at
    deep = copy.deepcopy(ServerInfo.from_dict(INFO))
    assert deep["limits"] == LIMITS and deep["limits"] is not INFO["limits"]


def test_nested_objects_and_lists_wrap_into_their_models() -> None:
    info = ServerInfo.from_dict(INFO)
    assert type(info["limits"]) is dict  # the JSON stays plain
    assert isinstance(info.limits, Limits) and info.limits == LIMITS
    assert info.limits.max_wait_seconds == 30 and info.model is None
    status = SimulationStatus.from_dict(STATUS)
    (node,) = status.nodes
    assert isinstance(node, NodeStatus) and node == NODE and node.rank == 0
    assert node.last_heartbeat == datetime.datetime(2026, 11, 28, tzinfo=datetime.UTC)
    assert node.spike_rate is None and status.last_prompt_status is None


def test_attributes_read_the_current_json() -> None:
    result = GenerateResult.from_dict(GENERATED)
    result["generated_tokens"] = 7  # results are dicts, as before the contract was generated
    assert result.generated_tokens == 7
    with pytest.raises(AttributeError):
        result.generated_tokens = 8  # type: ignore[misc]


def test_request_models_build_their_json_from_typed_arguments() -> None:
    body = GenerateRequest(prompt="p", max_length=5, seed=1)
    assert body.items() >= {"prompt": "p", "max_length": 5, "seed": 1}.items()
    assert "top_k" not in body and body.seed == 1 and body.temperature == 1.0  # the default
    assert body.to_dict() == body and type(body.to_dict()) is dict


def test_prompt_result_conveniences() -> None:
    pending = PromptResult.from_dict(PENDING)
    assert not pending.is_terminal and not pending.failed
    assert pending.state is PromptState.RUNNING and pending["state"] == "running"
    failed = PromptResult.from_dict({**PENDING, "state": "failed", "error": "x"})
    assert failed.is_terminal and failed.failed and failed.error == "x"
    done = PromptResult.from_dict({**PENDING, "state": "completed", "response": "r"})
    assert done.is_terminal and not done.failed
    # The original server sends no state: a response is what makes it terminal.
    assert PromptResult.from_dict({"prompt_id": "prm_1", "response": "r"}).is_terminal
    assert not PromptResult.from_dict({"prompt_id": "prm_1"}).is_terminal


def test_ok_tells_generations_from_failed_batch_entries() -> None:
    assert GenerateResult.from_dict(GENERATED).ok is True and GenerateResult.ok is True
    failed = FailedGeneration(prompt="p", error="e")
    assert failed.ok is False and failed.prompt == "p"


def test_a_lean_answer_gets_through_and_absent_fields_read_as_absent() -> None:
    with FaultyServer() as server:
        server.script(
            json_reply(200, {"generated_text": "t"}),
            json_reply(201, {"session_id": "ses_1"}),
            json_reply(200, {"prompt_id": "prm_1", "response": "r"}),
            json_reply(200, {"version": "0.1"}),
        )
        client = client_for(server)
        result = client.generate("p")
        session = client.create_log_session("d")
        prompt = client.get_simulation_result("prm_1")
        info = client.get_server_info()
    assert result.generated_text == "t" and result == {"generated_text": "t"}
    assert result.get("prompt_tokens") is None and result.get("prompt", "") == ""
    with pytest.raises(AttributeError, match=r"GenerateResponse\.prompt_tokens.*'prompt_tokens'"):
        _ = result.prompt_tokens
    assert getattr(result, "prompt_tokens", None) is None and not hasattr(result, "prompt")
    assert session.session_id == "ses_1" and session.get("created_at") is None
    with pytest.raises(AttributeError, match="created_at"):
        _ = session.created_at
    # A field the contract allows to be null reads as None when left out.
    assert prompt.state is None and prompt.error is None and prompt.is_terminal
    assert info.version == "0.1" and info.get("limits") is None


@pytest.mark.parametrize(
    ("status", "answer", "missing"),
    [
        (200, {"prompt": "p"}, "generated_text"),
        (201, {"description": "d"}, "session_id"),
    ],
)
def test_an_answer_without_its_identifying_field_is_refused(
    status: int, answer: dict[str, Any], missing: str
) -> None:
    with FaultyServer() as server:
        server.script(json_reply(status, answer))
        client = client_for(server)
        call = client.generate if missing == "generated_text" else client.create_log_session
        with pytest.raises(APIResponseValidationError, match=missing):
            call("p")


def test_strict_mode_refuses_what_the_contract_does_not_allow() -> None:
    lean_info = {**INFO, "limits": {k: v for k, v in LIMITS.items() if k != "max_page_size"}}
    bad_node = {**STATUS, "nodes": [{**NODE, "last_heartbeat": "yesterday"}]}
    with FaultyServer() as server:
        server.script(
            json_reply(200, {"generated_text": "t"}),
            json_reply(200, lean_info),
            json_reply(200, {**GENERATED, "prompt_tokens": "2"}),
            json_reply(200, bad_node),
            json_reply(200, {**GENERATED, "prompt_truncated": 0}),
            json_reply(200, GENERATED),
            json_reply(200, INFO),
            json_reply(200, STATUS),
        )
        client = client_for(server, strict_response_validation=True)
        with pytest.raises(APIResponseValidationError, match="'prompt'"):
            client.generate("p")
        with pytest.raises(APIResponseValidationError, match=r"limits\.max_page_size"):
            client.get_server_info()
        with pytest.raises(APIResponseValidationError, match="prompt_tokens: expected int"):
            client.generate("p")
        with pytest.raises(APIResponseValidationError, match=r"nodes\.0\.last_heartbeat"):
            client.get_simulation_status()
        with pytest.raises(APIResponseValidationError, match="prompt_truncated"):
            client.generate("p")
        # Full answers pass, and a newer server's extra field is still welcome.
        assert client.generate("p") == GENERATED
        assert client.get_server_info().limits.max_wait_seconds == 30
        assert client.get_simulation_status().nodes[0].rank == 0
        lenient = client.with_options(strict_response_validation=False)
        assert client.with_options(max_retries=1)._core.config.strict_response_validation
        server.script(json_reply(200, {"generated_text": "t"}))
        assert lenient.generate("p") == {"generated_text": "t"}


def test_strict_mode_on_the_async_client_and_on_pages() -> None:
    async def run(base_url: str) -> None:
        async with AsyncEvoSpikeNetAPIClient(
            base_url=base_url, max_retries=0, strict_response_validation=True
        ) as client:
            with pytest.raises(APIResponseValidationError, match="artifact_count"):
                await client.get_all_sessions()

    with FaultyServer() as server:
        server.script(
            json_reply(200, [{k: v for k, v in SESSION.items() if k != "artifact_count"}])
        )
        asyncio.run(run(server.base_url))
