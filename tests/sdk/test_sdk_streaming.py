"""Streamed generation end to end: the real server (uvicorn on 127.0.0.1, in this process)
serving a scripted slow model whose token counter shows when generation stops, the SDK's sync
and async streams, and the SDK's event-stream decoding against scripted servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faulty_server import Action, FaultyServer, problem
from inprocess_server import InProcessServer
from starlette.requests import Request

from evospikenet.models.serving import GenerationOutput
from evospikenet.sdk import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncEvoSpikeNetAPIClient,
    EvoSpikeNetAPIClient,
    GenerateChunk,
    InternalServerError,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from evospikenet.sdk._streaming import SSEDecoder
from evospikenet.server.db import utcnow
from evospikenet.server.errors import ApiError
from evospikenet.server.model_manager import ServedModel
from evospikenet.server.sse import streaming_generation

PIECES = ("a", "語", "\u2028", "b\n")  # a line separator and a newline inside the text


class SlowModel:
    """A model for ``ModelManager``: one piece of text per token, ``delay`` seconds each.
    ``tokens`` counts the tokens made; ``finished`` is set when a ``generate`` call ends."""

    llm_type = "SpikingEvoTextLM"

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.delay = 0.01
        self.fail_after: int | None = None
        self.tokens = 0
        self.finished = threading.Event()
        self.batches: list[int] = []
        self.sampling: list[dict[str, Any]] = []
        """The other keyword arguments of each ``generate`` call (temperature, seed, ...)."""
        self.gate = threading.Event()
        """A generation of the prompt ``hold`` waits for it."""

    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int,
        on_text: Callable[[int, str], None] | None = None,
        **sampling: Any,
    ) -> list[GenerationOutput]:
        self.batches.append(len(prompts))
        self.sampling.append(sampling)
        if prompts == ["hold"]:
            assert self.gate.wait(30)
        texts: list[list[str]] = [[] for _ in prompts]
        try:
            for step in range(max_new_tokens):
                if step == self.fail_after:
                    raise RuntimeError("the model broke")
                time.sleep(self.delay)
                self.tokens += 1
                for row, text in enumerate(texts):
                    piece = PIECES[step % len(PIECES)]
                    text.append(piece)
                    if on_text is not None:
                        on_text(row, piece)
        finally:
            self.finished.set()
        return [GenerationOutput("".join(t), 3, max_new_tokens, False) for t in texts]

    def wait_finished(self, timeout: float = 30) -> None:
        assert self.finished.wait(timeout), "generation did not end"
        self.finished.clear()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with InProcessServer(tmp_path_factory.mktemp("stream") / "data") as server:
        yield server


@pytest.fixture
def model(live: InProcessServer) -> SlowModel:
    """A fresh slow model served by ``live``."""
    fake = SlowModel()
    live.app.state.server.models.served = ServedModel(
        model=fake,
        session_id="ses_fake",
        artifact_ids={},
        bundled_default=False,
        loaded_at=utcnow(),
        files_dir=Path("/nonexistent"),
    )
    return fake


def sse_events(body: str) -> list[tuple[str, Any]]:
    """``(event, data)`` of a whole event-stream body."""
    events = []
    for block in body.split("\n\n"):
        if block:
            name, data = block.split("\n")
            events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def raw_post(live: InProcessServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{live.base_url}/api/generate",
        json=body,
        headers={"X-API-Key": live.api_key},
        timeout=30,
    )


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@contextlib.contextmanager
def leave_after_first_line(live: InProcessServer, body: dict[str, Any]) -> Iterator[str]:
    """Stream ``body``, give the first line of the answer, then close the connection."""
    headers = {"X-API-Key": live.api_key}
    with (
        httpx.Client(base_url=live.base_url, headers=headers) as client,
        client.stream("POST", "/api/generate", json=body) as response,
    ):
        yield next(response.iter_lines())


def test_stream_is_chunks_then_done_with_the_plain_answers_fields(
    live: InProcessServer, model: SlowModel
) -> None:
    plain = raw_post(live, {"prompt": "p", "max_length": 9})
    streamed = raw_post(live, {"prompt": "p", "max_length": 9, "stream": True})
    assert streamed.status_code == 200
    assert streamed.headers["content-type"].startswith("text/event-stream")
    events = sse_events(streamed.text)
    assert [name for name, _ in events] == ["chunk"] * 9 + ["done"]
    assert "".join(data["text"] for _, data in events[:-1]) == plain.json()["generated_text"]
    assert events[-1][1] == plain.json()
    assert events[-1][1]["model_session_id"] == "ses_fake"


def test_refusals_before_the_stream_are_plain_problems(
    live: InProcessServer, model: SlowModel
) -> None:
    for body in ({"prompt": "p", "stream": "yes"}, {"prompt": "", "stream": True}):
        r = raw_post(live, body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "VAL_001"
    live.app.state.server.models.served = None
    r = raw_post(live, {"prompt": "p", "stream": True})
    assert r.status_code == 503 and r.json()["code"] == "MODEL_002"


def test_a_failure_after_the_stream_began_is_an_error_event(
    live: InProcessServer, model: SlowModel
) -> None:
    model.fail_after = 3
    r = raw_post(live, {"prompt": "p", "max_length": 20, "stream": True})
    events = sse_events(r.text)
    assert [name for name, _ in events] == ["chunk"] * 3 + ["error"]
    error = events[-1][1]
    assert error["status"] == 500 and error["code"] == "MODEL_001"
    assert {"type", "title", "detail", "request_id"} <= set(error)
    assert error["request_id"] == r.headers["x-request-id"]


def test_the_server_stops_generating_for_a_client_that_left(
    live: InProcessServer, model: SlowModel
) -> None:
    body = {"prompt": "p", "max_length": 512, "stream": True}  # 512 tokens take >= 5 s
    with leave_after_first_line(live, body) as first:
        assert first == "event: chunk"  # leaving the block closes the connection
    model.wait_finished()
    assert model.tokens < 100, model.tokens


def test_a_batch_keeps_generating_while_one_of_its_clients_remains(
    live: InProcessServer, model: SlowModel
) -> None:
    model.delay = 0.02
    blocker = threading.Thread(target=raw_post, args=(live, {"prompt": "hold", "max_length": 1}))
    blocker.start()  # occupies the model, so the next two requests queue and share a batch
    body = {"prompt": "p", "max_length": 40, "stream": True}
    kept: list[httpx.Response] = []
    stayer = threading.Thread(target=lambda: kept.append(raw_post(live, body)))

    def leave() -> None:
        with leave_after_first_line(live, body):
            pass  # read the first line, then drop the connection

    leaver = threading.Thread(target=leave)
    pending = live.app.state.server.models._pending
    wait_until(lambda: model.batches == [1])  # the model holds the blocker
    stayer.start()
    leaver.start()
    wait_until(lambda: len(pending) == 2)
    model.gate.set()
    for thread in (blocker, stayer, leaver):
        thread.join(30)
    events = sse_events(kept[0].text)
    assert events[-1][0] == "done" and events[-1][1]["generated_tokens"] == 40
    assert len(events) == 41
    assert model.batches == [1, 2]
    model.wait_finished()


def test_sdk_streams_chunks_and_keeps_the_result(live: InProcessServer, model: SlowModel) -> None:
    with EvoSpikeNetAPIClient(live.base_url, live.api_key) as client:
        stream = client.stream_generate("p", 8)
        chunks = list(stream)
        assert all(isinstance(c, GenerateChunk) for c in chunks)
        assert [c.text for c in chunks] == [PIECES[i % 4] for i in range(8)]
        assert stream.result is not None
        assert stream.result.generated_text == "".join(c.text for c in chunks)
        assert stream.result.generated_tokens == 8
        assert stream.result.request_id == chunks[0].request_id is not None
        with pytest.raises(RuntimeError):
            list(stream)  # a stream is read once


def test_sdk_break_closes_the_stream_and_the_server_stops(
    live: InProcessServer, model: SlowModel
) -> None:
    with EvoSpikeNetAPIClient(live.base_url, live.api_key) as client:
        for chunk in client.stream_generate("p", 512):
            assert chunk.text == "a"
            break
        model.wait_finished()
        assert model.tokens < 100, model.tokens
        with client.stream_generate("p", 512) as stream:
            next(iter(stream))
        model.wait_finished()
        assert model.tokens < 200, model.tokens
        assert stream.result is None


def test_async_sdk_break_closes_the_stream_and_the_server_stops(
    live: InProcessServer, model: SlowModel
) -> None:
    async def run() -> None:
        async with AsyncEvoSpikeNetAPIClient(live.base_url, live.api_key) as client:
            async with client.stream_generate("p", 6) as stream:
                texts = [chunk.text async for chunk in stream]
            assert stream.result is not None and stream.result.generated_text == "".join(texts)
            async for _ in client.stream_generate("p", 512):
                break
            await asyncio.to_thread(model.wait_finished)

    asyncio.run(run())
    assert model.tokens < 100, model.tokens


def test_sdk_raises_the_error_event_and_refusals(live: InProcessServer, model: SlowModel) -> None:
    model.fail_after = 2
    received: list[str] = []
    with EvoSpikeNetAPIClient(live.base_url, live.api_key, max_retries=0) as client:
        with pytest.raises(InternalServerError) as failed:
            for chunk in client.stream_generate("p", 10):
                received.append(chunk.text)
        assert received == ["a", "語"]
        assert failed.value.code == "MODEL_001" and failed.value.status_code == 500
        with pytest.raises(UnprocessableEntityError):
            list(client.stream_generate("p", 10**6 // 1000))  # above the server's maximum
        live.app.state.server.models.served = None
        with pytest.raises(ServiceUnavailableError):
            list(client.stream_generate("p", 10))


def stream_body(*pieces: str, done: bool = True) -> bytes:
    events = [f"event: chunk\ndata: {json.dumps({'text': p})}\n\n" for p in pieces]
    if done:
        result = {
            "generated_text": "".join(pieces),
            "prompt": "p",
            "llm_type": "SpikingEvoTextLM",
            "model_session_id": "ses_x",
            "prompt_tokens": 1,
            "generated_tokens": len(pieces),
            "prompt_truncated": False,
        }
        events.append(f"event: done\ndata: {json.dumps(result)}\n\n")
    return "".join(events).encode()


SSE = {"Content-Type": "text/event-stream"}


def scripted_client(server: FaultyServer) -> EvoSpikeNetAPIClient:
    client = EvoSpikeNetAPIClient(server.base_url, "k")
    client._engine.sleep = lambda seconds: None
    return client


def test_sdk_retries_only_before_the_first_byte() -> None:
    body = stream_body("x", "y")
    with FaultyServer() as server:
        server.script(problem(503, "SYS_002", "busy", **{"Retry-After": "0"}))
        server.script(Action(body=body, headers=SSE))
        server.script(Action(body=body, headers=SSE, cut_after=len(body) - 5))
        with scripted_client(server) as client:
            chunks = [c.text for c in client.stream_generate("p")]
            assert chunks == ["x", "y"]
            assert len(server.requests) == 2
            keys = {r.headers["idempotency-key"] for r in server.requests}
            assert len(keys) == 1 and server.requests[1].json()["stream"] is True
            assert server.requests[1].headers["accept"] == "text/event-stream"
            received = []
            with pytest.raises(APIConnectionError):
                for chunk in client.stream_generate("p"):
                    received.append(chunk.text)
            assert received == ["x", "y"] and len(server.requests) == 3  # no retry


def test_sdk_rejects_malformed_and_unfinished_streams() -> None:
    with FaultyServer() as server:
        server.script(
            Action(body=b"event: chunk\ndata: {not json}\n\n", headers=SSE),
            Action(body=b'event: chunk\ndata: {"txt": "a"}\n\n', headers=SSE),
            Action(body=stream_body("x", done=False), headers=SSE),
            Action(body=stream_body("x")),  # not an event stream
        )
        with scripted_client(server) as client:
            for _ in range(2):
                with pytest.raises(APIResponseValidationError, match="malformed 'chunk'"):
                    list(client.stream_generate("p"))
            with pytest.raises(APIConnectionError, match="before its final event"):
                list(client.stream_generate("p"))
            with pytest.raises(APIResponseValidationError, match="Content-Type"):
                list(client.stream_generate("p"))


def test_sse_decoder_splits_lines_only_at_cr_lf_and_crlf() -> None:
    body = 'event: chunk\r\ndata: {"text": "\u2028語"}\r\n\r\n'
    body += ": comment\n\nevent: done\rdata: {}\r\r"
    data = body.encode()
    for size in (1, 2, 3, 7, len(data)):  # any split, also inside CRLF and inside a character
        decoder = SSEDecoder()
        events = []
        for start in range(0, len(data), size):
            events += decoder.feed(data[start : start + size])
        events += decoder.feed(b"", final=True)
        assert [(e.event, e.data) for e in events] == [
            ("chunk", '{"text": "\u2028語"}'),
            ("done", "{}"),
        ], size


def test_cli_prints_text_as_it_arrives(live: InProcessServer, model: SlowModel) -> None:
    model.delay = 0.05  # 40 tokens: 2 s
    env = {**os.environ, "EVOSPIKENET_API_URL": live.base_url, "EVOSPIKENET_API_KEY": live.api_key}
    command = [sys.executable, "-m", "evospikenet", "generate", "p", "--max-length", "40"]
    with subprocess.Popen([*command, "--stream"], env=env, stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        first = process.stdout.read(1)
        still_running = process.poll() is None
        rest = process.stdout.read()
    assert first == b"a" and still_running  # printed while generation went on
    expected = "".join(PIECES[i % 4] for i in range(40))
    assert (first + rest).decode() == expected + "\n" and process.returncode == 0
    model.delay = 0.0
    penalised = [*command, "--json", "--repetition-penalty", "1.3"]
    plain = subprocess.run(penalised, env=env, capture_output=True, check=True)
    assert json.loads(plain.stdout)["generated_text"] == expected  # not a terminal: one answer
    assert model.sampling[-1]["repetition_penalty"] == 1.3


def test_the_final_result_is_checked_whole_only_when_strict() -> None:
    lean = b'event: chunk\ndata: {"text": "x"}\n\nevent: done\ndata: {"generated_text": "x"}\n\n'
    with FaultyServer() as server:
        server.script(Action(body=lean, headers=SSE), Action(body=lean, headers=SSE))
        with scripted_client(server) as client:
            stream = client.stream_generate("p")
            assert [c.text for c in stream] == ["x"]
            assert stream.result is not None and stream.result.generated_text == "x"
            with (
                client.with_options(strict_response_validation=True) as strict,
                pytest.raises(APIResponseValidationError, match="malformed 'done'"),
            ):
                list(strict.stream_generate("p"))


def test_idempotency_replays_a_whole_stream_but_not_a_failed_one(
    live: InProcessServer, model: SlowModel
) -> None:
    def post(key: str) -> httpx.Response:
        return httpx.post(
            f"{live.base_url}/api/generate",
            json={"prompt": "p", "max_length": 5, "stream": True},
            headers={"X-API-Key": live.api_key, "Idempotency-Key": key},
            timeout=30,
        )

    first, again = post("stream-ok"), post("stream-ok")
    assert again.headers.get("idempotent-replayed") == "true" and again.text == first.text
    assert again.headers["content-type"].startswith("text/event-stream")
    assert model.tokens == 5  # replayed, not generated again
    model.fail_after = 2
    failed = post("stream-failed")
    assert sse_events(failed.text)[-1][0] == "error"
    model.fail_after = None
    retried = post("stream-failed")  # the key was released: generated again
    assert "idempotent-replayed" not in retried.headers
    assert sse_events(retried.text)[-1][0] == "done" and model.tokens == 2 + 5 + 5


def test_a_prompt_the_model_cannot_take_is_refused_before_the_stream(
    live: InProcessServer, model: SlowModel
) -> None:
    request = Request({"type": "http", "method": "POST", "path": "/api/generate", "headers": []})
    models = live.app.state.server.models
    with pytest.raises(ApiError) as refused:  # raised, not sent as an error event in a 200
        streaming_generation(request, models, "\ud800", {"max_new_tokens": 5})
    assert refused.value.status == 422 and refused.value.code == "VAL_001"
    assert model.batches == []
