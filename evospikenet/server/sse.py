"""Streamed generation as server-sent events: ``chunk`` events as text is decoded, then
``done`` (the non-streamed answer's fields) or ``error`` (a problem's fields).

The stream is produced while the model runs; when the client disconnects, Starlette cancels
it, which cancels the generation request, and the model stops once no request of its batch is
left (``ModelManager``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from evospikenet.server.errors import ApiError, problem_body, request_id_of
from evospikenet.server.idempotency import mark_failed
from evospikenet.server.model_manager import ModelManager

log = logging.getLogger("evospikenet.server.generate")

MEDIA_TYPE = "text/event-stream"
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_event(name: str, data: Mapping[str, Any]) -> bytes:
    """One event: its name and its data as one line of JSON (JSON escapes every newline)."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # "replace": a lone surrogate echoed from the prompt cannot break the encoding
    return f"event: {name}\ndata: {payload}\n\n".encode("utf-8", "replace")


def _problem_event(request: Request, error: ApiError) -> bytes:
    mark_failed(request.scope)  # a retry with the same Idempotency-Key generates again
    body = problem_body(
        error.status,
        error.code,
        error.detail,
        instance=request.url.path,
        request_id=request_id_of(request),
        kind=error.kind,
        errors=error.errors,
    )
    return sse_event("error", body)


async def generation_events(
    request: Request, models: ModelManager, prompt: str, params: dict[str, Any]
) -> AsyncIterator[bytes]:
    """The events of one streamed generation."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    task = asyncio.create_task(models.generate(prompt, on_text=queue.put_nowait, **params))
    task.add_done_callback(lambda _: queue.put_nowait(None))  # after every chunk it sent
    try:
        while (chunk := await queue.get()) is not None:
            yield sse_event("chunk", {"text": chunk})
        yield sse_event("done", task.result())
    except ApiError as error:
        yield _problem_event(request, error)
    except Exception:
        request_id = request_id_of(request)
        log.exception("streamed generation failed in request %s", request_id)
        detail = f"An internal error occurred; quote error id {request_id} when reporting it."
        yield _problem_event(request, ApiError(500, "SYS_001", detail, kind="internal"))
    finally:
        task.cancel()  # the client left (or the stream ended): stop waiting for the model


def streaming_generation(
    request: Request, models: ModelManager, prompt: str, params: dict[str, Any]
) -> StreamingResponse:
    """A ``text/event-stream`` answer running the generation; refusals (no model, a prompt the
    model cannot take) are raised now, as ordinary problem answers."""
    models.admit(prompt)
    return StreamingResponse(
        generation_events(request, models, prompt, params),
        media_type=MEDIA_TYPE,
        headers=_HEADERS,
    )
