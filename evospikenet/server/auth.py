"""API-key authentication and the per-key rate limit, as FastAPI dependencies."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from evospikenet.server.caller import API_KEY_HEADER, CURRENT_CALLER, identify
from evospikenet.server.client_address import client_address
from evospikenet.server.errors import ApiError
from evospikenet.server.ratelimit import DatabaseRateLimiter, retry_after_header
from evospikenet.server.state import ServerState, server_state


def rate_limited(reason: str, wait: float) -> ApiError:
    """429 ``RATE_001``: ``reason``, and when to retry."""
    return ApiError(
        429,
        "RATE_001",
        f"{reason}; retry in {retry_after_header(wait)} s.",
        kind="rate-limited",
        headers={"Retry-After": retry_after_header(wait)},
    )


def authenticate(request: Request, state: ServerState, *, node_keys_ok: bool) -> str:
    """The caller's identity; raises 401 for a missing, wrong or repeated key, 403 for a node
    key used where only API keys may go. Open servers (no keys configured) answer everyone.

    Refused keys are throttled per client address (``auth_throttle``): past the limit an
    address gets 429 ``RATE_001`` before its key is even compared.
    """
    settings = state.settings
    address = client_address(request.scope, state.trusted_proxies)
    if settings.api_keys or settings.node_keys:
        wait = state.auth_throttle.blocked(address)
        if wait > 0:
            raise rate_limited("Too many refused keys from this address", wait)
    caller = identify(request.scope["headers"], settings.api_keys, settings.node_keys)
    if caller.kind in ("duplicate", "invalid"):  # a guess (a missing key guesses nothing)
        state.auth_throttle.failed(address)
    if caller.kind == "missing":
        raise ApiError(
            401,
            "AUTH_001",
            f"The {API_KEY_HEADER} header is missing; send one of the server's "
            "EVOSPIKENET_API_KEYS.",
            kind="unauthorized",
        )
    if caller.kind == "duplicate":
        raise ApiError(
            401,
            "AUTH_002",
            f"The {API_KEY_HEADER} header was sent {caller.key_count} times; send it once.",
            kind="unauthorized",
        )
    if caller.kind == "invalid":
        raise ApiError(401, "AUTH_002", f"The {API_KEY_HEADER} is not valid.", kind="unauthorized")
    if caller.kind == "node_key" and not node_keys_ok:
        raise ApiError(
            403,
            "AUTH_003",
            "This key is a node key; it may only report node status.",
            kind="forbidden",
        )
    assert caller.identity is not None
    return caller.identity


async def _rate_limit(state: ServerState, identity: str) -> None:
    limiter = state.rate_limiter
    if limiter is None:
        return
    if isinstance(limiter, DatabaseRateLimiter):  # a database round trip: off the loop
        wait = await run_in_threadpool(limiter.acquire, identity)
    else:
        wait = limiter.acquire(identity)
    if wait > 0:
        raise rate_limited("Rate limit exceeded", wait)


async def _authenticate(request: Request, state: ServerState, *, node_keys_ok: bool) -> str:
    """``authenticate``, in a worker thread when the failed-key throttle asks the database."""
    if state.auth_throttle.shared:
        return await run_in_threadpool(authenticate, request, state, node_keys_ok=node_keys_ok)
    return authenticate(request, state, node_keys_ok=node_keys_ok)


async def require_api_key(request: Request) -> str:
    """Dependency: an API key (not a node key) is needed; applies the rate limit."""
    state = server_state(request)
    identity = await _authenticate(request, state, node_keys_ok=False)
    await _rate_limit(state, identity)
    request.state.identity = identity
    CURRENT_CALLER.set(identity)
    return identity


async def require_node_or_api_key(request: Request) -> str:
    """Dependency: an API key or a node key; applies the rate limit."""
    state = server_state(request)
    identity = await _authenticate(request, state, node_keys_ok=True)
    await _rate_limit(state, identity)
    request.state.identity = identity
    CURRENT_CALLER.set(identity)
    return identity


async def rate_limit_only(request: Request) -> None:
    """Dependency for unauthenticated operations: the rate limit by client address."""
    state = server_state(request)
    await _rate_limit(state, "addr:" + client_address(request.scope, state.trusted_proxies))
