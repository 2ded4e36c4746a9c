"""Retries, timeouts and error mapping, against a real misbehaving server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import pickle
import socket
import time

import pytest
import requests
from faulty_server import Action, FaultyServer, json_reply, problem

from evospikenet.sdk import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    EvoSpikeNetAPIClient,
    EvoSpikeNetAPIError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    Timeout,
    UnprocessableEntityError,
)

SESSION = {
    "session_id": "ses_1",
    "description": "d",
    "created_at": "2026-11-28T00:00:00Z",
    "artifact_count": 0,
}
HEALTH = {
    "status": "healthy",
    "version": "1",
    "api_version": "1",
    "components": {
        name: {"status": "healthy", "detail": None}
        for name in ("database", "blob_store", "model", "simulation")
    },
}


def make_client(server: FaultyServer, **kwargs: object) -> EvoSpikeNetAPIClient:
    kwargs.setdefault("api_key", "sk-test-secret-key")
    client = EvoSpikeNetAPIClient(base_url=server.base_url, **kwargs)  # type: ignore[arg-type]
    client._engine.sleep = lambda seconds: None  # the waits are checked, not slept
    return client


def record_sleeps(client: EvoSpikeNetAPIClient) -> list[float]:
    slept: list[float] = []
    client._engine.sleep = slept.append
    return slept


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_503_with_retry_after_then_success_reuses_the_idempotency_key() -> None:
    with FaultyServer() as server:
        server.script(
            problem(503, "SYS_002", "busy", **{"Retry-After": "2"}),
            json_reply(201, SESSION),
        )
        client = make_client(server)
        slept = record_sleeps(client)
        session = client.create_log_session("d")
    assert session["session_id"] == "ses_1" and session.session_id == "ses_1"
    first, second = server.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["idempotency-key"].startswith("sdk-")
    assert first.body == second.body
    assert slept == [2.0]
    assert client.get_stats()["retries"] == 1


def test_each_call_gets_its_own_idempotency_key() -> None:
    with FaultyServer() as server:
        server.script(json_reply(201, SESSION), json_reply(201, SESSION))
        client = make_client(server)
        client.create_log_session("a")
        client.create_log_session("a")
    keys = {r.headers["idempotency-key"] for r in server.requests}
    assert len(keys) == 2


def test_dropped_connection_on_a_get_is_retried_with_backoff() -> None:
    with FaultyServer() as server:
        server.script(Action(drop=True), Action(drop=True), json_reply(200, HEALTH))
        client = make_client(server, max_retries=2)
        slept = record_sleeps(client)
        assert client.get_health().status == "healthy"
    assert len(server.requests) == 3
    assert len(slept) == 2
    assert 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0  # full jitter under the cap


def test_retries_give_up_after_max_retries() -> None:
    with FaultyServer() as server:
        server.script(*[problem(502, "SYS_001", "bad gateway") for _ in range(4)])
        client = make_client(server, max_retries=3)
        with pytest.raises(InternalServerError) as info:
            client.get_simulation_status()
    assert len(server.requests) == 4
    assert info.value.status_code == 502
    stats = client.get_stats()
    assert stats["requests"] == 4 and stats["retries"] == 3 and stats["errors"] == 1


def test_max_retries_zero_disables_retries() -> None:
    with FaultyServer() as server:
        server.script(problem(503, "MODEL_002", "no model loaded", **{"Retry-After": "1"}))
        client = make_client(server, max_retries=0)
        with pytest.raises(ServiceUnavailableError) as info:
            client.generate("hello")
    error = info.value
    assert len(server.requests) == 1
    assert isinstance(error, requests.exceptions.HTTPError)
    assert (error.status_code, error.code, error.retry_after) == (503, "MODEL_002", 1.0)
    assert error.request_id == "req-test" and error.detail == "no model loaded"
    assert "MODEL_002" in str(error) and "no model loaded" in str(error)


def test_client_errors_are_not_retried_and_map_to_their_class() -> None:
    cases = [
        (400, "VAL_002", BadRequestError),
        (401, "AUTH_002", AuthenticationError),
        (404, "SES_001", NotFoundError),
        (422, "VAL_001", UnprocessableEntityError),
    ]
    for status, code, cls in cases:
        with FaultyServer() as server:
            server.script(problem(status, code, "nope"))
            client = make_client(server)
            with pytest.raises(cls) as info:
                client.get_session("ses_1")
        assert len(server.requests) == 1
        assert info.value.code == code
        assert isinstance(info.value, requests.exceptions.HTTPError)


def test_422_is_also_a_value_error_and_names_the_field() -> None:
    body = json.loads(problem(422, "VAL_001", "invalid").body)
    body["errors"] = [{"field": "body.max_length", "message": "too large", "type": "range"}]
    with FaultyServer() as server:
        server.script(Action(422, json.dumps(body).encode(), {"X-Request-ID": "r9"}))
        client = make_client(server)
        with pytest.raises(ValueError) as info:
            client.generate("x", max_length=10_000)
    assert isinstance(info.value, UnprocessableEntityError)
    assert info.value.errors[0].field == "body.max_length"
    assert "body.max_length: too large" in str(info.value)


def test_429_honours_retry_after_as_an_http_date() -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    with FaultyServer() as server:
        server.script(problem(429, "RATE_001", "slow down", **{"Retry-After": when}))
        server.script(json_reply(200, HEALTH))
        client = make_client(server)
        slept = record_sleeps(client)
        client.get_health()
    assert 1.0 <= slept[0] <= 3.0


def test_retry_after_beyond_the_cap_is_raised_not_waited() -> None:
    with FaultyServer() as server:
        server.script(problem(429, "RATE_001", "slow down", **{"Retry-After": "3600"}))
        client = make_client(server)
        with pytest.raises(RateLimitError) as info:
            client.get_health()
    assert info.value.retry_after == 3600.0 and len(server.requests) == 1


def test_stopped_server_raises_a_requests_connection_error() -> None:
    client = EvoSpikeNetAPIClient(base_url=f"http://127.0.0.1:{free_port()}", max_retries=0)
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        client.get_simulation_status()
    assert isinstance(info.value, APIConnectionError)
    assert not client.is_server_healthy()


def test_slow_answer_raises_a_requests_timeout() -> None:
    with FaultyServer() as server:
        server.script(Action(delay=1.5, body=b"{}"))
        client = make_client(server, timeout=0.3, max_retries=0)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout) as info:
            client.get_health()
        assert time.monotonic() - started < 1.4
    assert isinstance(info.value, APITimeoutError)


def test_malformed_success_body_is_a_validation_error() -> None:
    with FaultyServer() as server:
        server.script(json_reply(201, {"unexpected": True}), Action(201, b"not json"))
        client = make_client(server)
        with pytest.raises(APIResponseValidationError):
            client.create_log_session("d")
        with pytest.raises(APIResponseValidationError):
            client.create_log_session("d")


def test_undocumented_status_and_non_json_error_body_still_map() -> None:
    with FaultyServer() as server:
        server.script(Action(599, b"<html>proxy broke</html>"), Action(418, b""))
        client = make_client(server, max_retries=0)
        with pytest.raises(InternalServerError) as info:
            client.get_health()
        assert info.value.status_code == 599 and "proxy broke" in str(info.value)
        with pytest.raises(APIStatusError) as teapot:
            client.get_health()
        assert teapot.value.status_code == 418


def test_errors_pickle_and_never_show_the_api_key(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-test-secret-key"
    caplog.set_level(logging.DEBUG, logger="evospikenet")
    with FaultyServer() as server:
        server.script(problem(401, "AUTH_002", "invalid key"))
        client = make_client(server, api_key=secret)
        with pytest.raises(AuthenticationError) as info:
            client.get_server_info()
    assert server.requests[0].headers["x-api-key"] == secret
    error = info.value
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is AuthenticationError
    assert (clone.status_code, clone.code, clone.request_id) == (401, "AUTH_002", "req-test")
    assert clone.response is not None and clone.response.status_code == 401
    assert clone.response.json()["code"] == "AUTH_002"
    for text in (str(error), repr(error), repr(client), str(clone), caplog.text):
        assert secret not in text
    assert "GET /api/info" in caplog.text


def test_every_error_class_pickles() -> None:
    for cls in (
        APIConnectionError,
        APITimeoutError,
        APIResponseValidationError,
        EvoSpikeNetAPIError,
    ):
        clone = pickle.loads(pickle.dumps(cls("m", method="GET", url="/x")))
        assert type(clone) is cls and clone.method == "GET" and str(clone) == "m"


def test_with_options_and_timeouts() -> None:
    client = EvoSpikeNetAPIClient(base_url="http://127.0.0.1:9", timeout=7, max_retries=1)
    other = client.with_options(max_retries=0, timeout=Timeout(connect=1, read=2))
    assert client.max_retries == 1 and other.max_retries == 0
    assert client.timeout.read == 7 and client.timeout.connect == 5
    assert other.timeout.read == 2 and other.base_url == client.base_url
    with pytest.raises(TypeError, match="retries"):
        client.with_options(retries=3)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="max_retries"):
        EvoSpikeNetAPIClient(max_retries=-1)


def test_upload_retry_rewinds_the_file_and_sends_its_sha256() -> None:
    payload = bytes(range(256)) * 1000 + b"\r\n--+++\r\n"
    artifact = {
        "artifact_id": "art_1",
        "session_id": "ses_1",
        "artifact_type": "model",
        "name": "m.pth",
        "llm_type": None,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "content_type": "application/octet-stream",
        "created_at": "2026-11-28T00:00:00Z",
    }
    with FaultyServer() as server:
        server.script(
            problem(503, "SYS_002", "busy", **{"Retry-After": "0"}), json_reply(201, artifact)
        )
        client = make_client(server)
        buffer = io.BytesIO(payload)
        buffer.name = "m.pth"
        result = client.upload_artifact("ses_1", "model", "m.pth", buffer)
    assert result.artifact_id == "art_1"
    first, second = server.requests
    assert first.body == second.body  # byte-identical: same multipart boundary, rewound file
    assert payload in second.body
    assert b'filename="m.pth"' in second.body
    assert hashlib.sha256(payload).hexdigest().encode() in second.body
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_wait_for_server_keeps_its_deadline_against_a_silent_server() -> None:
    with FaultyServer(handler=lambda request: Action(delay=3, body=b"{}")) as server:
        client = EvoSpikeNetAPIClient(base_url=server.base_url)
        started = time.monotonic()
        assert client.wait_for_server(timeout=1, interval=0.2) is False
        assert time.monotonic() - started < 1.6


def test_sampling_fields_are_checked_then_sent_only_when_given() -> None:
    answer = {
        "prompt": "p",
        "generated_text": " more",
        "generated_tokens": 1,
        "prompt_tokens": 1,
        "prompt_truncated": False,
        "model_session_id": None,
    }
    with FaultyServer(lambda request: json_reply(200, answer)) as server:
        client = make_client(server)
        client.generate("p", 5, repetition_penalty=1.3, top_k=40)
        client.generate("p", 5)
        sent = [request.json() for request in server.requests]
        assert sent[0] == {"prompt": "p", "max_length": 5, "top_k": 40, "repetition_penalty": 1.3}
        assert sent[1] == {"prompt": "p", "max_length": 5}  # the server's (model's) defaults
        for bad in (0.99, 2.01, float("nan"), True, "1.2"):
            with pytest.raises(ValueError, match="repetition_penalty"):
                client.generate("p", 5, repetition_penalty=bad)  # type: ignore[arg-type]
        assert len(server.requests) == 2  # nothing sent for a bad field
