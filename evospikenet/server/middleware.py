"""Outermost ASGI middleware: request ids, the JSON-lines access log, and the last-resort 500."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evospikenet.server.errors import problem_body
from evospikenet.server.zerocopy import ZERO_COPY_SEND

access_logger = logging.getLogger("evospikenet.server.access")
error_logger = logging.getLogger("evospikenet.server.error")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Gives every request an id (echoing a sane ``X-Request-ID``), logs it, and turns any
    unhandled exception into a problem+json 500 carrying that id, never a traceback."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: dict[str, Any] = {"code": None, "bytes": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            elif message["type"] == ZERO_COPY_SEND:
                status["bytes"] += message["count"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status["code"] = status["code"] or 499  # logged as 499: the client went away
            access_logger.debug("client disconnected during request %s", request_id)
        except Exception:
            error_logger.exception("unhandled error in request %s", request_id)
            if status["code"] is None:
                body = problem_body(
                    500,
                    "SYS_001",
                    f"An internal error occurred; quote error id {request_id} when reporting it.",
                    instance=scope.get("path"),
                    request_id=request_id,
                    kind="internal",
                )
                payload = json.dumps(body).encode()
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(payload)).encode()),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": payload})
            else:
                raise
        finally:
            if self.access_log:
                client = scope.get("client")
                access_logger.info(
                    json.dumps(
                        {
                            "ts": time.time(),
                            "request_id": request_id,
                            "method": scope.get("method"),
                            "path": scope.get("path"),
                            "status": status["code"],
                            "bytes": status["bytes"],
                            "ms": round((time.perf_counter() - started) * 1000, 2),
                            "client": client[0] if client else None,
                        }
                    )
                )
