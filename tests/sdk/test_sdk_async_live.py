"""AsyncEvoSpikeNetAPIClient against the real server: the same surface, awaited."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import requests

from evospikenet.sdk import (
    AsyncEvoSpikeNetAPIClient,
    EvoSpikeNetAPIClient,
    NotFoundError,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


PURE = {"get_stats", "reset_stats", "validate_prompt", "with_options"}  # no I/O: sync in both
PROPERTIES = {"base_url", "max_retries", "timeout"}
# Return a stream object at once (``async for``/``async with`` on the async client), as httpx's
# ``client.stream`` does: the request goes out when iteration starts.
STREAMS = {"stream_generate"}


def test_async_client_has_every_public_method_of_the_sync_client() -> None:
    sync_names = {n for n in dir(EvoSpikeNetAPIClient) if not n.startswith("_")}
    async_names = {n for n in dir(AsyncEvoSpikeNetAPIClient) if not n.startswith("_")}
    assert async_names - sync_names == {"aclose"} and sync_names <= async_names
    for name in sync_names - PROPERTIES:
        method = getattr(AsyncEvoSpikeNetAPIClient, name)
        sync_method = getattr(EvoSpikeNetAPIClient, name)
        if name in PURE:
            assert not inspect.iscoroutinefunction(method), name
        elif name in STREAMS:
            stream_type = inspect.signature(method, eval_str=True).return_annotation
            assert hasattr(stream_type, "__aiter__") and hasattr(stream_type, "__aenter__"), name
            sync_type = inspect.signature(sync_method, eval_str=True).return_annotation
            assert hasattr(sync_type, "__iter__") and hasattr(sync_type, "__enter__"), name
        else:
            assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name
            assert not inspect.iscoroutinefunction(sync_method), name
        sync_params = list(inspect.signature(sync_method).parameters)
        assert list(inspect.signature(method).parameters) == sync_params, name


async def test_async_workflow(server: Any, tmp_path: Path) -> None:
    payload = b"async \r\n--+++\r\n bytes" * 1000
    async with AsyncEvoSpikeNetAPIClient(
        base_url=server.base_url, api_key=server.api_key, progress=False
    ) as client:
        assert await client.wait_for_server(timeout=5)
        session = await client.create_log_session("async session")
        artifact = await client.upload_artifact(
            session["session_id"], "model", "m.pth", payload, llm_type="SpikingEvoTextLM"
        )
        assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
        listed = await client.list_artifacts("model", session_id=session.session_id)
        assert listed[0]["artifact_id"] == artifact.artifact_id
        assert [a async for a in client.iter_artifacts(session_id=session.session_id)] == listed
        target = await client.download_artifact(artifact.artifact_id, tmp_path / "m.pth")
        assert target.read_bytes() == payload
        assert await client.get_artifact(artifact.artifact_id) == payload
        assert (await client.get_session_artifacts(session.session_id))[0] == listed[0]
        assert session.session_id in {s.session_id for s in await client.get_all_sessions()}
        status = await client.get_simulation_status()
        assert status.active_nodes == 0
        with pytest.raises(requests.exceptions.HTTPError) as info:
            await client.get_session("ses_missing")
        assert isinstance(info.value, NotFoundError)
        assert client.get_stats().requests >= 9


async def test_async_with_error_handling_accepts_coroutines(server: Any) -> None:
    async with AsyncEvoSpikeNetAPIClient(
        base_url=server.base_url, api_key=server.api_key
    ) as client:
        slept: list[float] = []

        async def no_sleep(seconds: float) -> None:
            slept.append(seconds)

        client._sleep = no_sleep
        health = await client.with_error_handling(client.get_health, 3)
        assert health is not None and health["status"]
        down = AsyncEvoSpikeNetAPIClient(base_url="http://127.0.0.1:1", max_retries=0)
        assert await client.with_error_handling(down.get_health, retries=3) is None
        assert slept == [1.0, 2.0]
        await down.aclose()
