"""The async client under the same real faults: retries, timeouts, resumed downloads."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
import requests
from faulty_server import Action, FaultyServer, Request, json_reply, problem

from evospikenet.sdk import APIConnectionError, AsyncEvoSpikeNetAPIClient, ServiceUnavailableError

PAYLOAD = hashlib.sha256(b"async").digest() * 20_000
SHA = hashlib.sha256(PAYLOAD).hexdigest()
SESSION = {
    "session_id": "ses_1",
    "description": "",
    "created_at": "2026-11-28T00:00:00Z",
    "artifact_count": 0,
}


async def no_sleep(seconds: float) -> None:
    return None


def client_for(server: FaultyServer, **kwargs: object) -> AsyncEvoSpikeNetAPIClient:
    client = AsyncEvoSpikeNetAPIClient(base_url=server.base_url, progress=False, **kwargs)  # type: ignore[arg-type]
    client._engine.sleep = no_sleep
    return client


def test_async_retry_after_503_keeps_the_idempotency_key() -> None:
    async def scenario(server: FaultyServer) -> str:
        async with client_for(server) as client:
            return (await client.create_log_session("x")).session_id

    with FaultyServer() as server:
        server.script(
            problem(503, "SYS_002", "busy", **{"Retry-After": "0"}), json_reply(201, SESSION)
        )
        assert asyncio.run(scenario(server)) == "ses_1"
    first, second = server.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_async_errors_match_the_sync_ones() -> None:
    async def scenario(server: FaultyServer) -> None:
        async with client_for(server, max_retries=0) as client:
            with pytest.raises(ServiceUnavailableError):
                await client.generate("x")
            with pytest.raises(requests.exceptions.ConnectionError):
                await client.get_health()

    with FaultyServer() as server:
        server.script(problem(503, "MODEL_002", "no model"), Action(drop=True))
        asyncio.run(scenario(server))


def test_async_download_resumes_after_a_cut(tmp_path: Path) -> None:
    def ranged(request: Request) -> Action:
        start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return Action(
            206,
            PAYLOAD[start:],
            {
                "ETag": f'"{SHA}"',
                "Content-Range": f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}",
            },
        )

    async def scenario(server: FaultyServer) -> Path:
        async with client_for(server) as client:
            return await client.download_artifact("art_1", tmp_path / "m.bin")

    with FaultyServer(handler=ranged) as server:
        server.script(Action(200, PAYLOAD, {"ETag": f'"{SHA}"'}, cut_after=100_000))
        target = asyncio.run(scenario(server))
    assert target.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin"]


def test_async_cut_every_time_leaves_nothing(tmp_path: Path) -> None:
    async def scenario(server: FaultyServer) -> None:
        async with client_for(server, max_retries=1) as client:
            await client.download_artifact("art_1", tmp_path / "m.bin")

    with FaultyServer() as server:
        server.script(*[Action(200, PAYLOAD, {"ETag": f'"{SHA}"'}, cut_after=10) for _ in range(2)])
        with pytest.raises(APIConnectionError):
            asyncio.run(scenario(server))
    assert list(tmp_path.iterdir()) == []
