"""poll_for_result long-polls the real server: a result arrives within milliseconds of its
completion; failures are reported; plain polling still works against a server that cannot
long-poll."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from faulty_server import FaultyServer, json_reply, problem
from inprocess_server import InProcessServer

from evospikenet.sdk import AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> InProcessServer:
    with InProcessServer(tmp_path_factory.mktemp("poll") / "data") as server:
        yield server


def complete_later(
    live: InProcessServer, prompt_id: str, delay: float, stamps: list[float]
) -> None:
    def run() -> None:
        time.sleep(delay)
        stamps.append(time.monotonic())
        assert live.queue.complete(prompt_id, "[12:00:00] SpikingLM Generated: 'ok'")

    threading.Thread(target=run, daemon=True).start()


def test_result_arrives_within_milliseconds_of_completion(live: InProcessServer) -> None:
    with EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key) as client:
        prompt_id = client.submit_prompt(prompt="hello")["prompt_id"]
        completed_at: list[float] = []
        complete_later(live, prompt_id, 0.5, completed_at)
        started = time.monotonic()
        result = client.poll_for_result(prompt_id=prompt_id, timeout=20, interval=5)
        returned_at = time.monotonic()
    assert result is not None and result.get("response")
    assert result["response"] == "[12:00:00] SpikingLM Generated: 'ok'"
    assert result.state == "completed" and result.timestamp is not None
    lag = returned_at - completed_at[0]
    assert lag < 0.5, f"poll_for_result returned {lag:.3f} s after completion"
    assert returned_at - started < 5  # not the 5 s interval of plain polling


def test_failed_prompt_is_returned_with_its_error(live: InProcessServer) -> None:
    with EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key) as client:
        prompt_id = client.submit_prompt(prompt="doomed")["prompt_id"]
        assert live.queue.fail(prompt_id, "vision node crashed")
        result = client.poll_for_result(prompt_id, timeout=10)
    assert result is not None and result.state == "failed" and not result.get("response")
    assert result.error == "vision node crashed"


def test_results_are_not_consumed_by_reading(live: InProcessServer) -> None:
    with EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key) as client:
        prompt_id = client.submit_prompt(prompt="read twice")["prompt_id"]
        assert live.queue.complete(prompt_id, "answer")
        first = client.poll_for_result(prompt_id, timeout=5)
        second = client.poll_for_result(prompt_id, timeout=5)
        latest = client.get_simulation_result()
    assert first is not None and second is not None
    assert first["response"] == second["response"] == "answer"
    assert latest.prompt_id is not None


def test_plain_polling_against_a_server_without_long_poll() -> None:
    pending = {
        "prompt_id": "prm_1",
        "state": "queued",
        "response": None,
        "timestamp": None,
        "error": None,
        "created_at": "2026-11-28T00:00:00Z",
        "started_at": None,
        "attempts": 0,
    }
    done = {**pending, "state": "completed", "response": "hi", "timestamp": pending["created_at"]}
    with FaultyServer() as server:
        server.script(
            problem(404, "HTTP_404", "no /api/info on the original server"),
            json_reply(200, pending),
            json_reply(200, pending),
            json_reply(200, done),
        )
        client = EvoSpikeNetAPIClient(base_url=server.base_url)
        slept: list[float] = []
        client._sleep = slept.append
        result = client.poll_for_result("prm_1", timeout=60, interval=5)
    assert result is not None and result["response"] == "hi"
    assert slept == [5, 5]
    assert "wait=" not in server.requests[1].path


def test_async_poll_and_submit(live: InProcessServer) -> None:
    import asyncio

    async def scenario() -> tuple[float, str | None]:
        async with AsyncEvoSpikeNetAPIClient(
            base_url=live.base_url, api_key=live.api_key
        ) as client:
            accepted = await client.submit_prompt(prompt="async hello")
            completed_at: list[float] = []
            complete_later(live, accepted.prompt_id, 0.3, completed_at)
            result = await client.poll_for_result(accepted.prompt_id, timeout=20)
            lag = time.monotonic() - completed_at[0]
            return lag, result.response if result else None

    lag, response = asyncio.run(scenario())
    assert response == "[12:00:00] SpikingLM Generated: 'ok'"
    assert lag < 0.5


def test_poll_timeout_returns_none(live: InProcessServer, tmp_path: Path) -> None:
    with EvoSpikeNetAPIClient(base_url=live.base_url, api_key=live.api_key) as client:
        prompt_id = client.submit_prompt(prompt="never answered")["prompt_id"]
        started = time.monotonic()
        assert client.poll_for_result(prompt_id, timeout=1.5) is None
        elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 3.0
