"""Problem details (RFC 9457): the one error shape, the ``ApiError`` raised by handlers."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

PROBLEM_BASE = "https://evospikenet.dev/problems/"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error answered as problem+json with a stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}


def validation_error(field: str, message: str, kind: str = "invalid") -> ApiError:
    """A 422 ``VAL_001`` naming one field (``body.x``, ``query.y``, ``header.Z``)."""
    return ApiError(
        422,
        "VAL_001",
        f"{field}: {message}",
        kind="validation",
        errors=[{"field": field, "message": message, "type": kind}],
    )


def safe_text(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so that it can be encoded
    as UTF-8 (client strings are echoed in field names and messages)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def unparsable(detail: str) -> ApiError:
    """A 400 ``VAL_002``: the body could not be parsed."""
    return ApiError(400, "VAL_002", detail, kind="unparsable-body")


def problem_body(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    request_id: str | None = None,
    kind: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The JSON object of a problem."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    return body


def request_id_of(request: Request) -> str | None:
    """The id the request-id middleware gave this request."""
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def problem_response(request: Request | None, error: ApiError) -> Response:
    """``error`` as an ``application/problem+json`` response."""
    body = problem_body(
        error.status,
        error.code,
        error.detail,
        instance=request.url.path if request is not None else None,
        request_id=request_id_of(request) if request is not None else None,
        kind=error.kind,
        errors=error.errors,
    )
    # "replace": a lone surrogate echoed from a client string cannot break the encoding
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8", "replace"),
        status_code=error.status,
        media_type="application/problem+json",
        headers=error.headers,
    )
