"""Bounds on what a client controls before any handler runs: header count, query parameter
count, and how long a request body may stall between two chunks. A body still awaited when the
server begins to stop (SIGTERM) is answered 503 ``SYS_002`` problem+json within
``SHUTDOWN_POLL_SECONDS``, instead of a plain-text 500 when the graceful period ends.

Byte sizes of the request line and headers are bounded by the HTTP protocol (16 KiB for the
whole head, see ``runner.http_protocol``); bodies by each handler's own limit.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evospikenet.server.errors import ApiError, problem_response

MAX_HEADERS = 100
MAX_QUERY_PARAMS = 64
SHUTDOWN_POLL_SECONDS = 0.5


def _too_many_headers(count: int) -> ApiError:
    return ApiError(
        431,
        "HTTP_431",
        f"The request has {count} header fields; at most {MAX_HEADERS} are accepted.",
        kind="headers-too-large",
    )


def _too_many_query_parameters(count: int) -> ApiError:
    message = f"has {count} parameters; at most {MAX_QUERY_PARAMS} are accepted"
    return ApiError(
        422,
        "VAL_001",
        f"Invalid request: query: {message}",
        kind="validation",
        errors=[{"field": "query", "message": message, "type": "too-many"}],
    )


def body_stalled(seconds: float) -> ApiError:
    """The 408 for a body that stopped arriving."""
    return ApiError(
        408,
        "HTTP_408",
        f"The request body stalled: nothing arrived for {seconds:g} s.",
        kind="request-timeout",
        headers={"Connection": "close"},
    )


def shutting_down() -> ApiError:
    """The 503 for a request whose body was still arriving when the server began to stop."""
    return ApiError(
        503,
        "SYS_002",
        "The server is shutting down; send the request again.",
        kind="unavailable",
        headers={"Connection": "close", "Retry-After": "5"},
    )


def _closing(scope: Scope) -> bool:
    """Whether this server has begun to stop (``BrainService.begin_shutdown``)."""
    state = getattr(getattr(scope.get("app"), "state", None), "server", None)
    return bool(getattr(getattr(state, "brain", None), "closing", False))


class RequestLimitsMiddleware:
    """431 past ``MAX_HEADERS`` header fields, 422 past ``MAX_QUERY_PARAMS`` query parameters,
    408 when no body bytes arrive for ``body_idle_seconds`` while a body is still expected."""

    def __init__(self, app: ASGIApp, *, body_idle_seconds: float) -> None:
        self.app = app
        self.body_idle_seconds = body_idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error: ApiError | None = None
        if len(scope["headers"]) > MAX_HEADERS:
            error = _too_many_headers(len(scope["headers"]))
        else:
            query: bytes = scope.get("query_string", b"")
            count = sum(1 for pair in query.split(b"&") if pair)
            if count > MAX_QUERY_PARAMS:
                error = _too_many_query_parameters(count)
        if error is not None:
            await problem_response(Request(scope), error)(scope, receive, send)
            return
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done or self.body_idle_seconds <= 0:
                return await receive()
            deadline = anyio.current_time() + self.body_idle_seconds
            while True:  # short slices notice a shutdown; a cancelled receive loses nothing
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    raise body_stalled(self.body_idle_seconds)
                with anyio.move_on_after(min(SHUTDOWN_POLL_SECONDS, remaining)):
                    message = await receive()
                    break
                if _closing(scope):  # stalled while the server stops: answer, do not wait
                    raise shutting_down()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, watching_send)
        except ApiError as exc:  # raised by timed_receive outside a handler (e.g. idempotency)
            if started:
                raise
            await problem_response(Request(scope), exc)(scope, receive, send)
