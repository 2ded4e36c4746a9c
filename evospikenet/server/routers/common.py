"""Small helpers shared by the routers: JSON answers, paging headers, bounded JSON bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse

from evospikenet.server.catalog import Page
from evospikenet.server.contract import INLINE_PARSE_BYTES, parse_json, read_body
from evospikenet.server.jsonbody import LongString
from evospikenet.server.offload import run_cpu
from evospikenet.server.spec import schema_defaults
from evospikenet.server.state import ServerState

JSON_BODY_LIMIT = 1024 * 1024
OPAQUE_PLACEHOLDER = "AAAA"
"""Stands in for a long media string during schema validation (see ``validated_body``)."""
OPAQUE_MIN_CHARS = 64


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(content, status_code=status_code, headers=headers)


def page_response(request: Request, page: Page) -> JSONResponse:
    """A list answer with ``X-Next-Cursor`` and ``Link: rel="next"`` when more exist."""
    headers: dict[str, str] = {}
    if page.next_cursor is not None:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query.append(("cursor", page.next_cursor))
        headers["X-Next-Cursor"] = page.next_cursor
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return JSONResponse(page.items, headers=headers)


async def validated_body(
    request: Request,
    state: ServerState,
    schema: str,
    max_bytes: int = JSON_BODY_LIMIT,
    *,
    opaque: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON body, parsed (400) and checked against the contract's ``schema`` (422), with
    the schema's defaults filled in for the fields it leaves out.

    Large bodies are parsed and checked in a worker thread, off the event loop. Long strings
    in the ``opaque`` fields (base64 media) are left out of the schema check (its regex takes
    seconds over megabytes) and may come back as ``jsonbody.LongString`` (undecoded bytes); the
    caller decodes them strictly, which checks the same rules.
    """
    raw = await read_body(request, max_bytes)

    def check() -> dict[str, Any]:
        body = parse_json(raw, frozenset(opaque))
        checked = body
        if isinstance(body, dict):
            long_fields = {
                name: OPAQUE_PLACEHOLDER
                for name in opaque
                if isinstance(body.get(name), str | LongString)
                and len(body[name]) >= OPAQUE_MIN_CHARS
            }
            checked = {**body, **long_fields}
        state.contract.validate_schema(schema, checked)
        return {**schema_defaults(schema), **body}

    if len(raw) <= INLINE_PARSE_BYTES:
        return check()
    return await run_cpu(check)
