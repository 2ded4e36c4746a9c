"""The httpx clients under the SDK, and a per-call hook into them.

The generated API functions take no timeout and hide the raw response when they fail to parse
it. A :class:`CallState` set in a context variable around each call fixes both: the transport
applies the call's timeout and keeps the raw response for the SDK's own error mapping.
"""

from __future__ import annotations

import contextvars
import platform
from dataclasses import dataclass

import httpx

from evospikenet import __version__

from ._config import ClientConfig, Timeout

__all__ = [
    "CALL_STATE",
    "CallState",
    "build_async_http_client",
    "build_http_client",
    "httpx_timeout",
    "user_agent",
]


@dataclass
class CallState:
    """What one call wants from the transport, and what the transport saw."""

    timeout: Timeout | None = None
    response: httpx.Response | None = None


CALL_STATE: contextvars.ContextVar[CallState | None] = contextvars.ContextVar(
    "evospikenet_sdk_call_state", default=None
)


def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """The httpx form of a :class:`Timeout`."""
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
    )


def _apply(request: httpx.Request) -> CallState | None:
    state = CALL_STATE.get()
    if state is not None and state.timeout is not None:
        request.extensions["timeout"] = httpx_timeout(state.timeout).as_dict()
    return state


class _ContextTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        state = _apply(request)
        response = self._inner.handle_request(request)
        if state is not None:
            state.response = response
        return response

    def close(self) -> None:
        self._inner.close()


class _AsyncContextTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        state = _apply(request)
        response = await self._inner.handle_async_request(request)
        if state is not None:
            state.response = response
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def user_agent() -> str:
    """The User-Agent the SDK sends."""
    return f"evospikenet-sdk/{__version__} python/{platform.python_version()}"


def _headers(config: ClientConfig) -> dict[str, str]:
    headers = {"User-Agent": user_agent(), "Accept": "application/json"}
    headers.update(config.default_headers)
    if config.api_key:
        headers["X-API-Key"] = config.api_key
    return headers


def build_http_client(
    config: ClientConfig, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A pooled sync httpx client for ``config`` (``transport`` replaces the network, for tests)."""
    inner = transport or httpx.HTTPTransport(verify=config.verify, retries=0)
    return httpx.Client(
        base_url=config.base_url,
        headers=_headers(config),
        timeout=httpx_timeout(config.timeout),
        transport=_ContextTransport(inner),
        follow_redirects=False,
        trust_env=False,
    )


def build_async_http_client(
    config: ClientConfig, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A pooled async httpx client for ``config``."""
    inner = transport or httpx.AsyncHTTPTransport(verify=config.verify, retries=0)
    return httpx.AsyncClient(
        base_url=config.base_url,
        headers=_headers(config),
        timeout=httpx_timeout(config.timeout),
        transport=_AsyncContextTransport(inner),
        follow_redirects=False,
        trust_env=False,
    )
