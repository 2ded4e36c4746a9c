"""The contract's event-stream schema of ``generateText``: schemathesis checks every streamed
answer with it, so it must accept the events the server sends and reject malformed ones."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
import pytest
import schemathesis
from spec_loader import load_spec

DONE = {
    "generated_text": "人工知能",
    "prompt": "p",
    "llm_type": "SpikingEvoTextLM",
    "model_session_id": "ses_x",
    "prompt_tokens": 1,
    "generated_tokens": 2,
    "prompt_truncated": False,
}
PROBLEM = {"type": "about:blank", "title": "x", "status": 500, "detail": "d", "code": "MODEL_001"}


def stream(*events: tuple[str, object]) -> httpx.Response:
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    request = httpx.Request("POST", "http://127.0.0.1/api/generate")
    response = httpx.Response(
        200,
        headers={"Content-Type": "text/event-stream; charset=utf-8"},
        content=body.encode(),
        request=request,
    )
    response.read()
    response.elapsed = datetime.timedelta(milliseconds=1)
    return response


@pytest.fixture(scope="module")
def operation() -> Any:
    return schemathesis.openapi.from_dict(load_spec())["/api/generate"]["POST"]


def test_the_servers_events_are_valid(operation: Any) -> None:
    operation.validate_response(stream(("chunk", {"text": "人工"}), ("done", DONE)))
    operation.validate_response(stream(("chunk", {"text": "a"}), ("error", PROBLEM)))


@pytest.mark.parametrize(
    "event",
    [
        ("chunk", {"txt": "a"}),
        ("chunk", {"text": ""}),
        ("done", {"generated_text": "a"}),
        ("error", {"detail": "no status"}),
        ("progress", {}),
    ],
)
def test_malformed_events_are_violations(operation: Any, event: tuple[str, object]) -> None:
    with pytest.raises(Exception, match="SSE event violates schema"):
        operation.validate_response(stream(event))
