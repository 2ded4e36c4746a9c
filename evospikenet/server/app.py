"""``create_app(settings)``: the FastAPI application serving the hand-written contract."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from evospikenet import __version__
from evospikenet.server.auth_throttle import make_auth_throttle
from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.service import BrainService
from evospikenet.server.catalog import Catalog
from evospikenet.server.client_address import parse_networks
from evospikenet.server.contract import Contract
from evospikenet.server.db import Database
from evospikenet.server.errors import ApiError, problem_response
from evospikenet.server.idempotency import IdempotencyMiddleware, IdempotencyStore
from evospikenet.server.limits import RequestLimitsMiddleware
from evospikenet.server.middleware import RequestContextMiddleware
from evospikenet.server.model_manager import ModelManager
from evospikenet.server.ratelimit import make_rate_limiter
from evospikenet.server.remote_hosts import NodesFile
from evospikenet.server.replicas import claim_database, share_changes
from evospikenet.server.routers import artifacts, distributed_brain, generate, health, sessions
from evospikenet.server.s3store import open_blob_store
from evospikenet.server.settings import Settings
from evospikenet.server.spec import load_spec
from evospikenet.server.state import ServerState

log = logging.getLogger("evospikenet.server")

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

Plugin = Callable[[FastAPI, ServerState], AbstractAsyncContextManager[Any]]
"""An extension started with the server and stopped with it (e.g. the simulation's bridge)."""


def _allowed_methods(spec: dict[str, Any], path: str) -> list[str]:
    """Every method the contract defines for ``path`` (Starlette's own Allow lists only the
    first matching route's methods)."""
    methods: set[str] = set()
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods.update(m.upper() for m in item if m in _HTTP_METHODS)
    return sorted(methods)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return problem_response(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error = ApiError(404, "HTTP_404", f"No route {request.url.path}.", kind="no-such-route")
        elif exc.status_code == 405:
            allowed = _allowed_methods(app.openapi(), request.url.path)
            error = ApiError(
                405,
                "HTTP_405",
                f"{request.method} is not allowed on {request.url.path}; "
                f"allowed: {', '.join(allowed)}.",
                kind="method-not-allowed",
                headers={"Allow": ", ".join(allowed)},
            )
        else:
            error = ApiError(exc.status_code, f"HTTP_{exc.status_code}", str(exc.detail))
        return problem_response(request, error)

    async def on_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", "invalid")),
                "type": str(e.get("type", "invalid")),
            }
            for e in exc.errors()
        ]
        return problem_response(
            request, ApiError(422, "VAL_001", "Invalid request.", kind="validation", errors=errors)
        )

    async def on_database_down(request: Request, exc: Exception) -> Response:
        log.error("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        error = ApiError(
            503,
            "SYS_002",
            "The database is unavailable right now; try again shortly.",
            kind="unavailable",
            headers={"Retry-After": "5"},
        )
        return problem_response(request, error)

    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)


def collect_orphans(blobs: BlobStore, database: Database, grace_seconds: float) -> int:
    """Delete blobs and temp files that a crash or a failed request left behind (only those
    provably abandoned, see ``BlobStore.remove_unreferenced``); returns how many. One process
    at a time sweeps a blob folder (others skip the pass); rows are asked about candidates only.
    """
    with database.try_lock(f"sweep:{blobs.root.resolve()}") as mine:
        if not mine:
            return 0
        removed = blobs.remove_unreferenced(
            Catalog(database).referenced_among, grace_seconds=grace_seconds
        )
    if removed:
        log.warning("removed %d abandoned blob(s) or temp file(s)", removed)
    return removed


def build_state(settings: Settings) -> ServerState:
    """The server's parts (nothing is opened yet)."""
    spec = load_spec()
    database = Database(settings.resolved_database_url)
    blobs = open_blob_store(settings.data_dir, settings.blob_url, settings.s3_cache_bytes)
    idempotency = IdempotencyStore(database, settings.idempotency_ttl_seconds)

    rate_limiter = (
        make_rate_limiter(database, settings.rate_limit_per_minute, settings.rate_limit_burst)
        if settings.rate_limit_enabled
        else None
    )

    auth_throttle = make_auth_throttle(
        database, settings.auth_failures_per_minute, settings.auth_failure_burst
    )

    def periodic_purge() -> None:
        idempotency.purge_expired()
        if rate_limiter is not None:
            rate_limiter.prune()
        auth_throttle.prune()
        collect_orphans(blobs, database, settings.orphan_grace_seconds)

    state = ServerState(
        settings=settings,
        db=database,
        blobs=blobs,
        contract=Contract(spec),
        spec=spec,
        brain=BrainService(
            settings,
            database,
            blobs,
            purge_also=periodic_purge,
            every_pass=idempotency.renew_leases,
        ),
        models=ModelManager(database, blobs, enabled=settings.load_models),
        idempotency=idempotency,
        rate_limiter=rate_limiter,
        auth_throttle=auth_throttle,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    if settings.nodes_file is not None:
        nodes = NodesFile(settings.nodes_file)
        nodes.hosts()  # fail at start-up on a missing or invalid nodes file
        state.extras["nodes_file"] = nodes
    return state


def open_storage(state: ServerState) -> None:
    """Create folders and migrate the database. Nothing is deleted here: other processes may
    share the folder and the database; the janitor's first pass (right after start) collects
    what is provably abandoned."""
    state.settings.data_dir.mkdir(parents=True, exist_ok=True)
    claim_database(state)  # SQLite: refuse a second process on the same file
    state.blobs.open()
    state.db.migrate()


def create_app(settings: Settings | None = None, plugins: Sequence[Plugin] = ()) -> FastAPI:
    """The application. Storage opens (and migrations run) when the app starts."""
    settings = settings or Settings.from_env()
    settings.check_startable()
    state = build_state(settings)
    spec = state.spec

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(open_storage, state)
        if not settings.auth_enabled:
            log.warning(
                "no API keys configured (EVOSPIKENET_API_KEYS): the API is open to every "
                "client that can reach %s",
                settings.host,
            )
        await state.brain.start()
        state.models.start()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(share_changes(state))  # other processes' changes
            for plugin in plugins:
                await stack.enter_async_context(plugin(app, state))
            try:
                yield
            finally:
                await state.brain.stop()
                state.models.shutdown()
        state.blobs.close()
        state.db.dispose()

    app = FastAPI(
        title=spec["info"]["title"],
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        redirect_slashes=False,
    )
    app.openapi = lambda: spec  # type: ignore[method-assign]
    app.state.server = state
    _install_error_handlers(app)
    for module in (health, generate, distributed_brain, sessions, artifacts):
        app.include_router(module.router)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        RequestLimitsMiddleware, body_idle_seconds=settings.body_idle_timeout_seconds
    )
    app.add_middleware(RequestContextMiddleware, access_log=settings.access_log)
    return app
