"""Text generation by the served model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from evospikenet.server.auth import require_api_key
from evospikenet.server.errors import validation_error
from evospikenet.server.routers.common import json_response, validated_body
from evospikenet.server.sse import streaming_generation
from evospikenet.server.state import server_state

router = APIRouter(dependencies=[Depends(require_api_key)])

MIN_SAMPLING_TEMPERATURE = 1e-3


@router.post("/api/generate")
async def generate_text(request: Request) -> Response:
    state = server_state(request)
    state.contract.parameters("generateText", request)
    body = await validated_body(request, state, "GenerateRequest")
    settings = state.settings
    if len(body["prompt"]) > settings.max_prompt_chars:
        raise validation_error(
            "body.prompt", f"is longer than {settings.max_prompt_chars} characters"
        )
    max_length = int(body["max_length"])
    if max_length > settings.max_new_tokens:
        raise validation_error("body.max_length", f"must be at most {settings.max_new_tokens}")
    temperature = float(body["temperature"])
    if temperature < MIN_SAMPLING_TEMPERATURE:
        temperature = 0.0  # vanishing temperatures are greedy decoding (no 1/T overflow)
    top_k = body.get("top_k")
    seed = body.get("seed")
    penalty = body.get("repetition_penalty")
    params: dict[str, Any] = {
        "max_new_tokens": max_length,
        "temperature": temperature,
        "top_k": None if top_k is None else int(top_k),
        "seed": None if seed is None else int(seed),
        "repetition_penalty": None if penalty is None else float(penalty),
    }
    if body["stream"]:
        return streaming_generation(request, state.models, body["prompt"], params)
    return json_response(await state.models.generate(body["prompt"], **params))
