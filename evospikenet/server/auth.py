"""API-key authentication and the per-key rate limit, as FastAPI dependencies."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from evospikenet.server.errors import ApiError
from evospikenet.server.ratelimit import retry_after_header
from evospikenet.server.state import ServerState, server_state

ANONYMOUS = "anonymous"


def key_matches(candidate: str, keys: tuple[str, ...]) -> bool:
    presented = candidate.encode()
    found = False
    for key in keys:  # compare against every key, in constant time each
        found |= hmac.compare_digest(presented, key.encode())
    return found


def identity_of(key: str) -> str:
    """A stable, non-secret name for a key (used to scope idempotency and rate limits)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def authenticate(request: Request, state: ServerState, *, node_keys_ok: bool) -> str:
    """The caller's identity; raises 401 for a missing or wrong key, 403 for a node key used
    where only API keys may go. Open servers (no keys configured) answer everyone."""
    settings = state.settings
    if not settings.auth_enabled and not settings.node_keys:
        return ANONYMOUS
    presented = request.headers.get("x-api-key")
    if presented is None or presented == "":
        if not settings.auth_enabled:
            return ANONYMOUS
        raise ApiError(
            401,
            "AUTH_001",
            "The X-API-Key header is missing; send one of the server's EVOSPIKENET_API_KEYS.",
            kind="unauthorized",
        )
    if settings.auth_enabled and key_matches(presented, settings.api_keys):
        return identity_of(presented)
    if settings.node_keys and key_matches(presented, settings.node_keys):
        if node_keys_ok:
            return "node:" + identity_of(presented)
        raise ApiError(
            403,
            "AUTH_003",
            "This key is a node key; it may only report node status.",
            kind="forbidden",
        )
    if not settings.auth_enabled:
        return ANONYMOUS
    raise ApiError(401, "AUTH_002", "The X-API-Key is not valid.", kind="unauthorized")


def _rate_limit(state: ServerState, identity: str) -> None:
    if state.rate_limiter is None:
        return
    wait = state.rate_limiter.acquire(identity)
    if wait > 0:
        raise ApiError(
            429,
            "RATE_001",
            f"Rate limit exceeded; retry in {retry_after_header(wait)} s.",
            kind="rate-limited",
            headers={"Retry-After": retry_after_header(wait)},
        )


async def require_api_key(request: Request) -> str:
    """Dependency: an API key (not a node key) is needed; applies the rate limit."""
    state = server_state(request)
    identity = authenticate(request, state, node_keys_ok=False)
    _rate_limit(state, identity)
    request.state.identity = identity
    return identity


async def require_node_or_api_key(request: Request) -> str:
    """Dependency: an API key or a node key; applies the rate limit."""
    state = server_state(request)
    identity = authenticate(request, state, node_keys_ok=True)
    _rate_limit(state, identity)
    request.state.identity = identity
    return identity


async def rate_limit_only(request: Request) -> None:
    """Dependency for unauthenticated operations: the rate limit by client address."""
    state = server_state(request)
    client = request.client.host if request.client else "unknown"
    _rate_limit(state, "addr:" + client)
