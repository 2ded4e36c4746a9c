"""Health (no auth) and server info."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from evospikenet import __version__
from evospikenet.server.auth import rate_limit_only, require_api_key
from evospikenet.server.routers.common import json_response
from evospikenet.server.spec import api_version
from evospikenet.server.state import ServerState, server_state

router = APIRouter()


def _component(status: str, detail: str | None) -> dict[str, Any]:
    return {"status": status, "detail": detail}


def _check_database(state: ServerState) -> dict[str, Any]:
    try:
        state.db.ping()
    except Exception as exc:
        return _component("unhealthy", f"database does not answer: {type(exc).__name__}")
    return _component("healthy", state.db.engine.dialect.name)


def _check_blobs(state: ServerState) -> dict[str, Any]:
    try:
        state.blobs.check()
    except Exception as exc:
        return _component("unhealthy", f"blob store is not writable: {type(exc).__name__}")
    return _component("healthy", None)


def _check_simulation(state: ServerState) -> dict[str, Any]:
    try:
        live = len(state.brain.nodes.live_ids())
    except Exception as exc:
        return _component("unhealthy", f"node registry unreadable: {type(exc).__name__}")
    if live == 0:
        return _component("degraded", "0 simulation nodes online; prompts stay queued")
    return _component("healthy", f"{live} simulation node(s) online")


def health_report(state: ServerState) -> dict[str, Any]:
    """The body of ``GET /api/health`` (blocking checks; run it in a thread)."""
    components = {
        "database": _check_database(state),
        "blob_store": _check_blobs(state),
        "model": _component(*state.models.health()),
        "simulation": _check_simulation(state),
    }
    if (
        components["database"]["status"] == "unhealthy"
        or components["blob_store"]["status"] == "unhealthy"
    ):
        overall = "unhealthy"
    elif any(c["status"] != "healthy" for c in components.values()):
        overall = "degraded"
    else:
        overall = "healthy"
    return {
        "status": overall,
        "version": __version__,
        "api_version": api_version(),
        "components": components,
    }


@router.get("/api/health", dependencies=[Depends(rate_limit_only)])
async def get_health(request: Request) -> Response:
    state = server_state(request)
    return json_response(await run_in_threadpool(health_report, state))


@router.get("/api/info", dependencies=[Depends(require_api_key)])
async def get_server_info(request: Request) -> Response:
    state = server_state(request)
    settings = state.settings
    return json_response(
        {
            "version": __version__,
            "api_version": api_version(),
            "model": state.models.info(),
            "model_error": state.models.error,
            "limits": {
                "max_prompt_chars": settings.max_prompt_chars,
                "max_upload_bytes": settings.max_upload_bytes,
                "max_media_bytes": settings.max_media_bytes,
                "max_wait_seconds": settings.max_wait_seconds,
                "max_page_size": settings.max_page_size,
                "max_new_tokens": settings.max_new_tokens,
            },
        }
    )
