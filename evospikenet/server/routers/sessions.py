"""Sessions: create, list, read, and list a session's artifacts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from evospikenet.server.auth import require_api_key
from evospikenet.server.catalog import Catalog
from evospikenet.server.errors import ApiError
from evospikenet.server.routers.common import json_response, page_response, validated_body
from evospikenet.server.state import server_state

router = APIRouter(dependencies=[Depends(require_api_key)])


def session_not_found(session_id: str) -> ApiError:
    """The 404 ``SES_001`` answer."""
    return ApiError(404, "SES_001", f"No session {session_id!r}.", kind="not-found")


@router.post("/api/sessions")
async def create_session(request: Request) -> Response:
    state = server_state(request)
    state.contract.parameters("createSession", request)
    body = await validated_body(request, state, "SessionCreate")
    session = await run_in_threadpool(Catalog(state.db).create_session, body["description"])
    return json_response(
        session, 201, headers={"Location": f"/api/sessions/{session['session_id']}"}
    )


@router.get("/api/sessions")
async def list_sessions(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("listSessions", request)
    page = await run_in_threadpool(
        Catalog(state.db).list_sessions, params["limit"], params["cursor"]
    )
    return page_response(request, page)


@router.get("/api/sessions/{session_id}")
async def get_session(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("getSession", request)
    session = await run_in_threadpool(Catalog(state.db).get_session, params["session_id"])
    if session is None:
        raise session_not_found(params["session_id"])
    return json_response(session)


@router.get("/api/sessions/{session_id}/artifacts")
async def list_session_artifacts(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("listSessionArtifacts", request)
    catalog = Catalog(state.db)
    if not await run_in_threadpool(catalog.session_exists, params["session_id"]):
        raise session_not_found(params["session_id"])
    page = await run_in_threadpool(
        lambda: catalog.list_artifacts(
            limit=params["limit"], cursor=params["cursor"], session_id=params["session_id"]
        )
    )
    return page_response(request, page)
