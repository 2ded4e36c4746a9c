"""Who is calling: the one answer that authentication, rate limits and idempotency share.

A leaf module (it imports nothing of the server), so ``auth`` and ``idempotency`` both use it
without importing each other. It reads the raw ASGI headers, so a request carrying
``X-API-Key`` twice is seen the same way everywhere: as ``duplicate``, never as whichever copy
a header mapping happens to keep.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

API_KEY_HEADER = "X-API-Key"
ANONYMOUS = "anonymous"

CURRENT_CALLER: ContextVar[str] = ContextVar("evospikenet_caller", default=ANONYMOUS)
"""The accepted caller's identity in the request being handled (set by authentication; the
generation queue takes turns by it)."""

CallerKind = Literal["api_key", "node_key", "anonymous", "missing", "invalid", "duplicate"]


@dataclass(frozen=True)
class Caller:
    """The caller of one request.

    ``kind`` is ``api_key``, ``node_key`` or ``anonymous`` for an accepted caller, and
    ``missing``, ``invalid`` or ``duplicate`` (more than one ``X-API-Key`` header) for one
    that must be refused. ``identity`` is a stable, non-secret name (``key:<hash>``,
    ``node:key:<hash>``, ``anonymous``) for accepted callers and None otherwise.
    ``key_count`` is how many ``X-API-Key`` headers the request carried.
    """

    kind: CallerKind
    identity: str | None
    key_count: int = 0

    @property
    def accepted(self) -> bool:
        """Whether the caller is known (an API key, a node key, or anonymous on an open server)."""
        return self.identity is not None


def key_matches(candidate: str, keys: Iterable[str]) -> bool:
    """Whether ``candidate`` is one of ``keys``, compared in constant time against each."""
    presented = candidate.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(presented, key.encode())
    return found


def identity_of(key: str) -> str:
    """A stable, non-secret name for a key (scopes idempotency keys and rate limits)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:32]


def presented_keys(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every ``X-API-Key`` value of an ASGI header list, in order."""
    wanted = API_KEY_HEADER.lower().encode("latin-1")
    return [value.decode("latin-1") for name, value in raw_headers if name.lower() == wanted]


def identify(
    raw_headers: Iterable[tuple[bytes, bytes]],
    api_keys: tuple[str, ...],
    node_keys: tuple[str, ...],
) -> Caller:
    """Who sent a request with ``raw_headers`` (the ASGI ``scope["headers"]``).

    A server without any keys answers everyone as ``anonymous``. A server with node keys only
    (no API keys) treats callers without a valid node key as ``anonymous`` as well.
    """
    if not api_keys and not node_keys:
        return Caller("anonymous", ANONYMOUS)
    presented = presented_keys(raw_headers)
    if len(presented) > 1:
        return Caller("duplicate", None, len(presented))
    key = presented[0] if presented else ""
    count = len(presented)
    if key == "":
        return Caller("missing", None, count) if api_keys else Caller("anonymous", ANONYMOUS, count)
    if api_keys and key_matches(key, api_keys):
        return Caller("api_key", identity_of(key), count)
    if node_keys and key_matches(key, node_keys):
        return Caller("node_key", "node:" + identity_of(key), count)
    if not api_keys:
        return Caller("anonymous", ANONYMOUS, count)
    return Caller("invalid", None, count)
