"""Artifact downloads sent with ``sendfile``: the file's pages go from the page cache to the
socket inside the kernel, never read into Python nor copied through the event loop.

The ASGI "Zero Copy Send" extension (``http.response.zerocopysend``): the server offers it in
``scope["extensions"]`` on plain (not TLS) connections, and an app that sees it may send
``{"type": "http.response.zerocopysend", "file": <binary file>, "offset": int, "count": int}``
instead of the body. ``runner.http_protocol`` offers it (:func:`offer_zero_copy` on uvicorn's
httptools cycle); :class:`BlobFileResponse` uses it, and streams the bytes as before where it is
not offered (TLS, other servers, the blob not in a local file).

Measured (``benchmarks/bench_sdk_transfer.py``): a 1 GiB download cost the server about
0.85 CPU-seconds through ``StreamingResponse`` (a read and a socket write of every byte).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import IO, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from evospikenet.server.blobstore import BlobStore

ZERO_COPY_SEND = "http.response.zerocopysend"


def offer_zero_copy(cycle: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Offer ``http.response.zerocopysend`` on one request of uvicorn's httptools protocol
    (``cycle``: its ``RequestResponseCycle``, before the app runs), when the connection is a
    plain socket: ``loop.sendfile`` then sends the file with ``os.sendfile``."""
    transport = cycle.transport
    if (
        transport.get_extra_info("sslcontext") is not None
        or transport.get_extra_info("socket") is None
    ):
        return
    cycle.scope.setdefault("extensions", {})[ZERO_COPY_SEND] = {}
    cycle.send = _zero_copy_send(cycle, loop, cycle.send)


def _zero_copy_send(
    cycle: Any, loop: asyncio.AbstractEventLoop, send: Callable[[Message], Awaitable[None]]
) -> Callable[[Message], Awaitable[None]]:
    async def send_message(message: Message) -> None:
        if message["type"] != ZERO_COPY_SEND:
            await send(message)
            return
        if cycle.disconnected or cycle.transport.is_closing():
            return
        if not cycle.response_started or cycle.response_complete or cycle.chunked_encoding:
            raise RuntimeError(f"'{ZERO_COPY_SEND}' needs a started response with a Content-Length")
        offset, count = int(message.get("offset", 0)), int(message["count"])
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        try:  # loop.sendfile first waits for the transport's buffer (the head) to drain
            sent = await loop.sendfile(cycle.transport, message["file"], offset, count)
        except OSError:  # the client went away (as uvicorn does for a write: nothing raised)
            cycle.disconnected = True
            cycle.transport.close()
            return
        cycle.expected_content_length -= sent
        if sent < count:  # the file is shorter than it was said to be
            cycle.transport.close()
            raise RuntimeError(f"sendfile sent {sent} of {count} bytes: the file shrank")
        await send(
            {"type": "http.response.body", "body": b"", "more_body": bool(message.get("more_body"))}
        )

    return send_message


class BlobFileResponse(StreamingResponse):
    """A blob's bytes ``start..end`` (inclusive): sent with ``sendfile`` where the server
    offers it and the blob is a local file, else streamed from ``BlobStore.read_range``."""

    def __init__(self, blobs: BlobStore, sha256: str, start: int, end: int, **kwargs: Any) -> None:
        self._blobs, self._sha256 = blobs, sha256
        self._start, self._count = start, max(0, end - start + 1)
        body = blobs.read_range(sha256, start, end) if self._count else iter(())
        super().__init__(body, **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered = ZERO_COPY_SEND in scope.get("extensions", {})
        if not offered or not self._count or scope.get("method") == "HEAD":
            await super().__call__(scope, receive, send)
            return
        file = await run_in_threadpool(self._blobs.open_local, self._sha256)
        if file is None:
            await super().__call__(scope, receive, send)
            return
        try:
            await self._send_file(file, send)
        finally:
            file.close()

    async def _send_file(self, file: IO[bytes], send: Send) -> None:
        close = getattr(self.body_iterator, "aclose", None)
        if close is not None:
            await close()  # the streaming fallback, never started
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {"type": ZERO_COPY_SEND, "file": file, "offset": self._start, "count": self._count}
        )
