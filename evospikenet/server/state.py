"""The running server's parts, reachable from every request as ``server_state(request)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from evospikenet.server.auth_throttle import AuthThrottle, FailedAuthThrottle
from evospikenet.server.client_address import Network

if TYPE_CHECKING:
    from evospikenet.server.blobstore import BlobStore
    from evospikenet.server.brain.service import BrainService
    from evospikenet.server.contract import Contract
    from evospikenet.server.db import Database
    from evospikenet.server.idempotency import IdempotencyStore
    from evospikenet.server.model_manager import ModelManager
    from evospikenet.server.ratelimit import Limiter
    from evospikenet.server.settings import Settings


@dataclass
class ServerState:
    """Settings, storage and services of one app instance."""

    settings: Settings
    db: Database
    blobs: BlobStore
    contract: Contract
    spec: dict[str, Any]
    brain: BrainService
    models: ModelManager
    idempotency: IdempotencyStore
    rate_limiter: Limiter | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    auth_throttle: AuthThrottle = field(default_factory=FailedAuthThrottle)
    trusted_proxies: tuple[Network, ...] = ()


def server_state(request: Request) -> ServerState:
    """The ``ServerState`` of the app serving ``request``."""
    return request.app.state.server  # type: ignore[no-any-return]
