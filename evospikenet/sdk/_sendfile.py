"""Artifact uploads whose file part leaves with ``sendfile``: the kernel copies the file to the
socket, and a thread hashes it from a memory map meanwhile.

httpx sends a body by copying every piece through Python (read, then ``sendall``); for a large
file that copy is most of the client's CPU. :class:`SendfileUploadTransport` wraps the
client's transport and takes over only an upload request that carries its
:class:`~evospikenet.sdk._artifacts.UploadStream` under :data:`UPLOAD_EXTENSION`, over plain
``http://`` (no proxy: a proxied URL is routed by httpx to its proxy transport before this
one), from a regular file. It speaks HTTP/1.1 through h11 (httpcore's own parser) on a
connection of its own and answers with an ``httpx.Response``; failures are the httpx
exceptions the client's retry loop expects. Everything else goes to the wrapped transport.

A server that answers before the body is complete (401, 413, …) is heard: the answer is read
when the socket turns readable while the send is blocked, or after the send fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import mmap
import os
import selectors
import socket
import stat
import threading
import time
from typing import Any, TypeVar, cast

import h11
import httpx

from ._artifacts import DIGEST_SEGMENT, FILE_SEGMENT, UploadStream

__all__ = [
    "UPLOAD_EXTENSION",
    "AsyncSendfileUploadTransport",
    "SendfileUploadTransport",
    "send_upload",
    "sendfile_applies",
    "with_sendfile_uploads",
]

#: The request extension under which an upload hands its :class:`UploadStream` to the transport.
UPLOAD_EXTENSION = "evospikenet.upload"
#: Bytes per ``sendfile`` call (progress is reported after each).
SENDFILE_PIECE = 8 * 1024 * 1024
#: Bytes hashed per ``update`` (hashlib releases the GIL on each).
HASH_PIECE = 1024 * 1024
#: Bytes of the file mapped at a time for hashing.
HASH_WINDOW = 4 * 1024 * 1024
#: The longest upload answer read (it is a small JSON document).
MAX_ANSWER_BYTES = 8 * 1024 * 1024
#: The socket timeout that stands for "none" (a year).
NO_TIMEOUT = 365 * 24 * 3600.0
#: How often a blocked send checks whether the async caller was cancelled.
CANCEL_CHECK_SECONDS = 1.0
_RECV = 64 * 1024


class _AnsweredEarly(Exception):
    """The server answered before the body was complete."""


class _Cancelled(Exception):
    """The async caller was cancelled."""


class _FileRegion:
    """A stand-in for the file's bytes in h11's body accounting (its length only)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def sendfile_applies(request: httpx.Request) -> UploadStream | None:
    """The upload to send with ``sendfile``, or None when ``request`` is anything else (not an
    upload, not plain http, not a regular file, no ``os.sendfile``)."""
    upload = request.extensions.get(UPLOAD_EXTENSION)
    if not isinstance(upload, UploadStream) or request.url.scheme != "http":
        return None
    if not hasattr(os, "sendfile"):
        return None
    try:
        fd = upload.source.stream.fileno()
        return upload if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return None


HTTPClient = TypeVar("HTTPClient", httpx.Client, httpx.AsyncClient)


def with_sendfile_uploads(client: HTTPClient) -> HTTPClient:
    """``client`` with its default transport wrapped in :class:`SendfileUploadTransport` (or
    the async form). Only the default transport: the proxy transports httpx mounted from
    ``HTTP(S)_PROXY``/``NO_PROXY`` stay as they are, which passing ``transport=`` to the
    constructor would have disabled. A client whose default transport is not where httpx
    0.23-0.28 keeps it is returned unchanged (uploads then go through httpx)."""
    inner = getattr(client, "_transport", None)
    if isinstance(client, httpx.Client) and isinstance(inner, httpx.BaseTransport):
        client._transport = SendfileUploadTransport(inner)
    elif isinstance(client, httpx.AsyncClient) and isinstance(inner, httpx.AsyncBaseTransport):
        client._transport = AsyncSendfileUploadTransport(inner)
    return client


class SendfileUploadTransport(httpx.BaseTransport):
    """``inner`` for every request, except uploads :func:`sendfile_applies` to."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``."""
        upload = sendfile_applies(request)
        if upload is None:
            return self._inner.handle_request(request)
        return send_upload(request, upload)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncSendfileUploadTransport(httpx.AsyncBaseTransport):
    """The async form: the upload runs in a worker thread, never on the event loop."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``."""
        upload = sendfile_applies(request)
        if upload is None:
            return await self._inner.handle_async_request(request)
        try:
            return await asyncio.to_thread(send_upload, request, upload)
        except asyncio.CancelledError:
            upload.cancelled.set()  # the thread stops within CANCEL_CHECK_SECONDS
            raise

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


def send_upload(request: httpx.Request, upload: UploadStream) -> httpx.Response:
    """One exchange on a new connection: the head and parts with ``sendall``, the file with
    ``sendfile``, then the whole answer (the connection is closed after it)."""
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    sock = _connect(request, timeouts.get("connect"))
    with sock:
        conn = h11.Connection(h11.CLIENT)
        sock.settimeout(_waiting(timeouts.get("write")))
        try:
            _send_request(sock, conn, request, upload)
        except _AnsweredEarly:
            pass
        except _Cancelled:
            raise httpx.WriteError("the upload was cancelled", request=request) from None
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:
            answer = _answer_after_failed_send(sock, conn, request)
            if answer is None:
                raise httpx.WriteError(str(exc), request=request) from exc
            return answer
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from exc
        sock.settimeout(_waiting(timeouts.get("read")))
        return _read_answer(sock, conn, request)


def _waiting(timeout: float | None) -> float:
    """A socket timeout for ``timeout`` (None: wait without end). Never None: a socket with a
    timeout is non-blocking underneath, so a blocked send can watch for an early answer and a
    cancel even when the caller set no timeout."""
    return NO_TIMEOUT if timeout is None else timeout


def _connect(request: httpx.Request, timeout: float | None) -> socket.socket:
    address = (request.url.host, request.url.port or 80)
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except TimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
    except OSError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _send_request(
    sock: socket.socket, conn: h11.Connection, request: httpx.Request, upload: UploadStream
) -> None:
    head = h11.Request(
        method=request.method, target=request.url.raw_path, headers=request.headers.raw
    )
    sock.sendall(conn.send(head) or b"")
    hasher: _Hasher | None = None
    try:
        for segment in upload.segments:
            if isinstance(segment, bytes):
                sock.sendall(conn.send(h11.Data(data=segment)) or b"")
            elif segment == FILE_SEGMENT:
                hasher = _Hasher(upload)
                _send_file(sock, conn, upload)
            elif segment == DIGEST_SEGMENT:
                assert hasher is not None, "the digest part follows the file part"
                digest = hasher.result()
                sock.sendall(conn.send(h11.Data(data=digest.encode())) or b"")
        sock.sendall(conn.send(h11.EndOfMessage()) or b"")
    finally:
        if hasher is not None:
            hasher.cancel()


def _send_file(sock: socket.socket, conn: h11.Connection, upload: UploadStream) -> None:
    source = upload.source
    region = cast(bytes, _FileRegion(source.size))  # h11 passes it through untouched
    for item in conn.send_with_data_passthrough(h11.Data(data=region)) or []:
        if not isinstance(item, _FileRegion):
            sock.sendall(item)
            continue
        if upload.progress is not None:
            upload.progress.reset(source.size)
        _sendfile(sock, source.stream.fileno(), source.start, source.size, upload)


def _sendfile(sock: socket.socket, fd: int, offset: int, count: int, upload: UploadStream) -> None:
    """``count`` bytes of ``fd`` from ``offset`` to the socket, waiting as the socket's timeout
    allows; :class:`_AnsweredEarly` when the server answers while the send waits."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        while count > 0:
            _check_cancelled(upload)
            try:
                sent = os.sendfile(sock.fileno(), fd, offset, min(count, SENDFILE_PIECE))
            except BlockingIOError:
                _wait_writable(selector, sock.gettimeout(), upload)
                continue
            if sent == 0:
                raise h11.LocalProtocolError(
                    f"file: it ended {count} bytes early (it shrank while it was sent)"
                )
            offset += sent
            count -= sent
            if upload.progress is not None:
                upload.progress.update(sent)


def _wait_writable(
    selector: selectors.BaseSelector, timeout: float | None, upload: UploadStream
) -> None:
    """Until the socket takes more (TimeoutError after ``timeout``), checking for a cancel
    at least every second; :class:`_AnsweredEarly` when the server has answered."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise TimeoutError("timed out")
        wait = CANCEL_CHECK_SECONDS if left is None else min(left, CANCEL_CHECK_SECONDS)
        events = selector.select(wait)
        if any(mask & selectors.EVENT_READ for _, mask in events):
            raise _AnsweredEarly()
        if events:
            return
        _check_cancelled(upload)


def _check_cancelled(upload: UploadStream) -> None:
    if upload.cancelled.is_set():
        raise _Cancelled()


class _Hasher:
    """The sha256 of the upload's file bytes, computed by a thread from a memory map."""

    def __init__(self, upload: UploadStream) -> None:
        self._source = upload.source
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="evospikenet-sha256", daemon=True)
        self._thread.start()

    def result(self) -> str:
        """The hex digest, once the whole file is hashed."""
        self._thread.join()
        if self._error is not None:  # not an OSError: the connection itself is fine
            raise h11.LocalProtocolError(f"file: could not be hashed: {self._error}")
        return self._digest.hexdigest()

    def cancel(self) -> None:
        """Stop early (the send failed) and wait for the thread."""
        self._cancelled.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            if self._source.size:
                self._hash_mapped()
        except BaseException as exc:  # handed to result()
            self._error = exc

    def _hash_mapped(self) -> None:
        """Hash through windows of :data:`HASH_WINDOW` mapped one at a time, so the mapped
        (resident) part of the file stays small however large the file is."""
        fd = self._source.stream.fileno()
        at, end = self._source.start, self._source.start + self._source.size
        if os.fstat(fd).st_size < end:
            raise OSError(f"it holds {os.fstat(fd).st_size} bytes, {end} were expected")
        while at < end:
            base = at - at % mmap.ALLOCATIONGRANULARITY
            length = min(HASH_WINDOW, end - base)
            with mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=base) as window:
                view = memoryview(window)
                try:
                    for piece in range(at - base, length, HASH_PIECE):
                        if self._cancelled.is_set():
                            return
                        self._digest.update(view[piece : min(piece + HASH_PIECE, length)])
                finally:
                    view.release()
            at = base + length


def _answer_after_failed_send(
    sock: socket.socket, conn: h11.Connection, request: httpx.Request
) -> httpx.Response | None:
    """The answer a server sent before it closed on a body it would not take, if any."""
    try:
        return _read_answer(sock, conn, request)
    except httpx.TransportError:
        return None


def _read_answer(
    sock: socket.socket, conn: h11.Connection, request: httpx.Request
) -> httpx.Response:
    try:
        head = _next_response(sock, conn)
        body = bytearray()
        while not isinstance(event := _next_event(sock, conn), h11.EndOfMessage):
            if isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_ANSWER_BYTES:
                    raise httpx.RemoteProtocolError(
                        f"the upload's answer exceeds {MAX_ANSWER_BYTES} bytes", request=request
                    )
            elif isinstance(event, h11.ConnectionClosed):
                raise h11.RemoteProtocolError("the server closed the connection mid-answer")
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
    except h11.RemoteProtocolError as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except OSError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    return httpx.Response(
        head.status_code,
        headers=head.headers.raw_items(),
        stream=httpx.ByteStream(bytes(body)),
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        request=request,
    )


def _next_response(sock: socket.socket, conn: h11.Connection) -> h11.Response:
    while True:
        event = _next_event(sock, conn)
        if isinstance(event, h11.Response):
            return event
        if isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("the server closed the connection without answering")


def _next_event(sock: socket.socket, conn: h11.Connection) -> Any:
    while (event := conn.next_event()) is h11.NEED_DATA:
        conn.receive_data(sock.recv(_RECV))
    return event
