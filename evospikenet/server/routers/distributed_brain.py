"""Distributed brain: submit prompts, read results (long-poll), node status, remote logs."""

from __future__ import annotations

import binascii
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from evospikenet.server.auth import require_api_key, require_node_or_api_key
from evospikenet.server.catalog import Catalog
from evospikenet.server.errors import ApiError, validation_error
from evospikenet.server.jsonbody import LongString
from evospikenet.server.offload import Steps, run_cpu_steps
from evospikenet.server.remote_hosts import remote_log_answer
from evospikenet.server.routers.common import json_response, validated_body
from evospikenet.server.routers.sessions import session_not_found
from evospikenet.server.state import ServerState, server_state

router = APIRouter()


B64_CHUNK_CHARS = 64 * 1024
"""Base64 is decoded in steps of this many characters: each step holds the GIL ~0.25 ms (the
final join of the pieces releases it)."""


def decode_media(value: str | LongString, field: str, limit: int) -> Steps[bytes]:
    """Strictly decode one base64 media field, a piece per step (``offload.run_cpu_steps``).

    Checks exactly what the contract's ``Base64Media`` pattern says (the standard alphabet,
    a length that is a multiple of 4, padding only at the end), in short steps, and the size
    before decoding anything: 413 ``MEDIA_001`` past ``limit`` bytes, 422 naming the field.
    """
    if isinstance(value, LongString):
        data: bytes | memoryview = value.data
    else:
        try:
            data = value.encode("ascii")
        except UnicodeEncodeError:
            raise validation_error(field, "is not valid base64", "base64") from None
    padding = 2 if data[-2:] == b"==" else 1 if data[-1:] == b"=" else 0
    size = len(data) // 4 * 3 - padding
    if size > limit:
        raise ApiError(
            413,
            "MEDIA_001",
            f"{field} decodes to more than {limit} bytes (limits.max_media_bytes).",
            kind="too-large",
            errors=[{"field": field, "message": f"exceeds {limit} bytes", "type": "too-large"}],
        )
    if len(data) % 4:
        raise validation_error(field, "is not valid base64 (its length is not a multiple of 4)")
    parts: list[bytes] = []
    for start in range(0, len(data), B64_CHUNK_CHARS):
        piece = data[start : start + B64_CHUNK_CHARS]
        last = start + B64_CHUNK_CHARS >= len(data)
        try:
            if not last and piece[-1:] == b"=":
                raise binascii.Error("padding before the end")
            parts.append(binascii.a2b_base64(piece, strict_mode=True))
        except (binascii.Error, ValueError):
            raise validation_error(field, "is not valid base64", "base64") from None
        yield
    return b"".join(parts)


def _prompt_body_limit(state: ServerState) -> int:
    media = (state.settings.max_media_bytes * 4) // 3 + 8
    return 2 * media + state.settings.max_prompt_chars * 6 + 64 * 1024


@router.post("/api/distributed_brain/prompt", dependencies=[Depends(require_api_key)])
async def submit_prompt(request: Request) -> Response:
    """Every field is checked and every medium decoded before anything is written."""
    state = server_state(request)
    state.contract.parameters("submitPrompt", request)
    media_fields = state.contract.fields_of_type("PromptRequest", "Base64Media")
    body = await validated_body(
        request, state, "PromptRequest", _prompt_body_limit(state), opaque=media_fields
    )
    text = body.get("prompt")
    if text is not None and len(text) > state.settings.max_prompt_chars:
        raise validation_error(
            "body.prompt", f"is longer than {state.settings.max_prompt_chars} characters"
        )
    limit = state.settings.max_media_bytes
    media: dict[str, bytes] = {}
    for name in media_fields:
        if isinstance(body.get(name), str | LongString):
            media[name] = await run_cpu_steps(decode_media(body[name], f"body.{name}", limit))
    session_id = body.get("session_id")
    if session_id is not None and not await run_in_threadpool(
        Catalog(state.db).session_exists, session_id
    ):
        raise session_not_found(session_id)
    accepted = await run_in_threadpool(
        lambda: state.brain.queue.submit(
            text=text,
            image=media.get("image"),
            audio=media.get("audio"),
            priority=int(body["priority"]),
            session_id=session_id,
        )
    )
    accepted = {"message": "Prompt queued.", **accepted}
    location = f"/api/distributed_brain/result?prompt_id={accepted['prompt_id']}"
    return json_response(accepted, 202, headers={"Location": location})


@router.get("/api/distributed_brain/result", dependencies=[Depends(require_api_key)])
async def get_prompt_result(request: Request) -> Response:
    state = server_state(request)
    params = state.contract.parameters("getPromptResult", request)
    prompt_id = params["prompt_id"]
    if prompt_id is None:
        return json_response(await run_in_threadpool(state.brain.queue.latest_completed))
    wait = min(float(params["wait"] or 0), state.settings.max_wait_seconds)
    result = await state.brain.wait_for_result(prompt_id, wait)
    if result is None:
        raise ApiError(404, "PROMPT_001", f"No prompt {prompt_id!r}.", kind="not-found")
    return json_response(result)


def simulation_status(state: ServerState) -> dict[str, Any]:
    """The body of ``GET /api/distributed_brain/status`` (blocking)."""
    nodes = state.brain.nodes.list()
    counts = state.brain.queue.counts()
    return {
        "nodes": nodes,
        "active_nodes": sum(1 for node in nodes if node["status"] != "offline"),
        **counts,
    }


@router.get("/api/distributed_brain/status", dependencies=[Depends(require_api_key)])
async def get_simulation_status(request: Request) -> Response:
    state = server_state(request)
    return json_response(await run_in_threadpool(simulation_status, state))


@router.post("/api/distributed_brain/status", dependencies=[Depends(require_node_or_api_key)])
async def report_node_status(request: Request) -> Response:
    state = server_state(request)
    state.contract.parameters("reportNodeStatus", request)
    body = await validated_body(request, state, "NodeReport")
    node = await run_in_threadpool(
        lambda: state.brain.nodes.report(
            node_id=body["node_id"],
            rank=int(body["rank"]),
            node_type=body["type"],
            status=body["status"],
            prompts_done=None if body.get("prompts_done") is None else int(body["prompts_done"]),
            spike_rate=body.get("spike_rate"),
            host=body.get("host"),
        )
    )
    return json_response(node)


@router.post("/api/distributed_brain/remote_log", dependencies=[Depends(require_api_key)])
async def get_remote_log(request: Request) -> Response:
    state = server_state(request)
    state.contract.parameters("getRemoteLog", request)
    body = await validated_body(request, state, "RemoteLogRequest")
    return json_response(await remote_log_answer(state, body))
