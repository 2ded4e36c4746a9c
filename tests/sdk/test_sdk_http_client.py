"""The httpx layer under the SDK: proxies from the environment as in httpx, and an
``http_client`` of the user's own (sync and async), on real loopback servers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from faulty_server import FaultyServer, json_reply

from evospikenet.sdk import APIConnectionError, AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient

HEALTH = {
    "status": "healthy",
    "version": "1",
    "api_version": "1",
    "components": {
        name: {"status": "healthy", "detail": None}
        for name in ("database", "blob_store", "model", "simulation")
    },
}
UNREACHABLE = "http://api.evospikenet.invalid:8000"


def test_http_proxy_from_the_environment_is_used_and_no_proxy_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FaultyServer() as proxy:
        proxy.script(json_reply(200, HEALTH))
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with EvoSpikeNetAPIClient(base_url=UNREACHABLE, api_key="k", max_retries=0) as client:
            assert client.get_health().status == "healthy"
        (seen,) = proxy.requests
        assert seen.path == f"{UNREACHABLE}/api/health"  # absolute form: sent via the proxy
        assert seen.headers["x-api-key"] == "k"
        monkeypatch.setenv("NO_PROXY", "api.evospikenet.invalid")
        with (
            EvoSpikeNetAPIClient(base_url=UNREACHABLE, max_retries=0) as client,
            pytest.raises(APIConnectionError),
        ):
            client.get_health()  # straight to the (unresolvable) host, not via the proxy
        assert len(proxy.requests) == 1


def test_a_users_own_sync_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []
    own = httpx.Client(event_hooks={"request": [seen.append]}, headers={"X-Trace": "t1"})
    with FaultyServer() as server:
        server.script(json_reply(200, HEALTH), json_reply(200, HEALTH))
        with EvoSpikeNetAPIClient(server.base_url, "k", http_client=own) as client:
            assert client.get_health().status == "healthy"
            other = client.with_options(max_retries=0)
            assert other.get_health().status == "healthy"  # shares the same pool
        assert [r.url.path for r in seen] == ["/api/health", "/api/health"]
        assert server.requests[0].headers["x-trace"] == "t1"  # the user's defaults are kept
        assert server.requests[0].headers["x-api-key"] == "k"
    assert not own.is_closed
    own.close()


def test_a_users_own_async_http_client_is_used_and_left_open() -> None:
    async def scenario(base_url: str) -> list[str]:
        seen: list[str] = []

        async def record(request: httpx.Request) -> None:
            seen.append(request.url.path)

        own = httpx.AsyncClient(event_hooks={"request": [record]})
        async with AsyncEvoSpikeNetAPIClient(base_url, http_client=own) as client:
            assert (await client.get_health()).status == "healthy"
        assert not own.is_closed
        await own.aclose()
        return seen

    with FaultyServer() as server:
        server.script(json_reply(200, HEALTH))
        assert asyncio.run(scenario(server.base_url)) == ["/api/health"]
