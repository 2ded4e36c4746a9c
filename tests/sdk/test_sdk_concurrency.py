"""One client shared by many threads (sync) or tasks (async) against the real server."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evospikenet.sdk import AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient


def test_one_sync_client_in_eight_threads(server: Any) -> None:
    with EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key) as client:
        session_id = client.create_log_session("threads").session_id

        def work(n: int) -> str:
            artifact = client.upload_artifact(
                session_id, "log", f"t{n}.txt", f"thread {n}".encode()
            )
            assert client.get_artifact(artifact.artifact_id) == f"thread {n}".encode()
            return artifact.artifact_id

        client.reset_stats()
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(work, range(24)))
        assert len(set(ids)) == 24
        assert {a.artifact_id for a in client.get_session_artifacts(session_id)} == set(ids)
        stats = client.get_stats()
        assert stats.requests == 24 * 2 + 1 and stats.errors == 0


def test_one_async_client_in_many_tasks(server: Any) -> None:
    async def scenario() -> set[str]:
        async with AsyncEvoSpikeNetAPIClient(
            base_url=server.base_url, api_key=server.api_key
        ) as client:
            sessions = await asyncio.gather(
                *(client.create_log_session(f"task {n}") for n in range(20))
            )
            return {s.session_id for s in sessions}

    assert len(asyncio.run(scenario())) == 20
