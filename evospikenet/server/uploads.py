"""Streaming multipart upload: parse the request stream ourselves, file bytes straight to disk.

Starlette's ``request.form()`` spools the whole body before the handler runs; here the body is
fed chunk by chunk to python-multipart's callback parser (in a worker thread), text fields are
kept (small, bounded), and the file part goes into a ``BlobWriter`` (a temp file, hashed while
written). Each text field is checked against the contract as soon as it ends, and a part whose
name the contract does not know is refused as soon as its headers end, so a bad field stops the
upload before (or while) the file is written; the temp file is then deleted.

Bounds: at most 32 parts, 8 headers per part of at most 4 KiB each (python-multipart's own
checks, stated here), 64 KiB per text field.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from evospikenet.server.blobstore import BlobStore, BlobTooLarge, BlobWriter
from evospikenet.server.contract import check_content_encoding
from evospikenet.server.errors import ApiError, safe_text, unparsable, validation_error
from evospikenet.server.offload import run_cpu

MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
MAX_PART_HEADERS = 8
MAX_PART_HEADER_LINE_BYTES = 4096 + 128
BODY_OVERHEAD = 256 * 1024  # room for the text fields and part headers around the file
FEED_BYTES = 1024 * 1024
_MEDIA_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)


def too_large(limit: int) -> ApiError:
    """The 413 ``ART_003`` answer."""
    return ApiError(
        413,
        "ART_003",
        f"The upload exceeds the server's limit of {limit} bytes (limits.max_upload_bytes).",
        kind="too-large",
    )


@dataclass
class ParsedUpload:
    """The text fields and the (not yet committed) file of one multipart body."""

    fields: dict[str, str] = field(default_factory=dict)
    file: BlobWriter | None = None
    file_content_type: str = "application/octet-stream"

    def discard(self) -> None:
        """Throw the file bytes away."""
        if self.file is not None:
            self.file.discard()


FieldCheck = Callable[[str, str | None], None]
"""``check(name, value)``: raises a 422 for a part name the contract does not know (``value``
None, called when the part's headers end) or a text value that fails its schema."""


class _Collector:
    def __init__(
        self, blobs: BlobStore, max_file_bytes: int, file_field: str, check: FieldCheck
    ) -> None:
        self.blobs = blobs
        self.check = check
        self.max_file_bytes = max_file_bytes
        self.file_field = file_field
        self.result = ParsedUpload()
        self.ended = False
        self.parts = 0
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name: str | None = None
        self._is_file = False
        self._buffer = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise unparsable(f"the multipart body has more than {MAX_PARTS} parts")
        self._headers = {}
        self._name = None
        self._is_file = False
        self._buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1").strip()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get("content-disposition", ""))
        if disposition != b"form-data" or b"name" not in params:
            raise unparsable("a multipart part lacks 'Content-Disposition: form-data; name=...'")
        try:
            self._name = params[b"name"].decode("utf-8")
        except UnicodeDecodeError:
            shown = safe_text(params[b"name"].decode("utf-8", "replace"))
            raise validation_error(f"body.{shown}", "its name is not UTF-8 text", "text") from None
        self.check(self._name, None)
        self._is_file = self._name == self.file_field
        if self._is_file:
            if self.result.file is not None:
                raise validation_error(f"body.{self.file_field}", "was sent more than once")
            content_type = self._headers.get("content-type", "").split(";", 1)[0].strip()
            if _MEDIA_TYPE.match(content_type):
                self.result.file_content_type = content_type.lower()
            self.result.file = self.blobs.writer(self.max_file_bytes)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            assert self.result.file is not None
            try:
                self.result.file.write(data[start:end])
            except BlobTooLarge:
                raise too_large(self.max_file_bytes) from None
            return
        self._buffer += data[start:end]
        if len(self._buffer) > MAX_FIELD_BYTES:
            raise validation_error(f"body.{self._name}", f"is longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self._is_file or self._name is None:
            return
        field = f"body.{safe_text(self._name)}"
        if self._name in self.result.fields:
            raise validation_error(field, "was sent more than once")
        try:
            value = self._buffer.decode("utf-8")
        except UnicodeDecodeError:
            raise validation_error(field, "is not UTF-8 text", "text") from None
        self.check(self._name, value)
        self.result.fields[self._name] = value

    def on_end(self) -> None:
        self.ended = True


def _boundary(request: Request) -> bytes:
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise unparsable("Content-Type must be multipart/form-data with a boundary")
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise unparsable("the multipart/form-data Content-Type has no usable boundary")
    return boundary


async def read_multipart(
    request: Request,
    blobs: BlobStore,
    *,
    max_file_bytes: int,
    check: FieldCheck,
    file_field: str = "file",
) -> ParsedUpload:
    """Stream the request's multipart body; the file part goes to a temp file in the store.

    Text parts are kept (each at most 64 KiB) once ``check`` accepts them; ``check`` also
    refuses unknown part names (see ``FieldCheck``).

    Raises 400 (unparsable, compressed), 413 (over the limit, from Content-Length before
    reading), 422. On any failure nothing stays on disk. The caller commits or discards
    ``result.file``.
    """
    boundary = _boundary(request)
    check_content_encoding(request)
    max_body = max_file_bytes + BODY_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise too_large(max_file_bytes)
    collector = _Collector(blobs, max_file_bytes, file_field, check)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_end": collector.on_end,
        },
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_LINE_BYTES,
    )

    def feed(chunks: list[bytes]) -> None:
        try:
            for chunk in chunks:
                parser.write(chunk)
        except FormParserError as exc:
            raise unparsable(f"the multipart body is malformed: {exc}") from None

    # The event loop only counts and collects the received chunks (never copies them: it is
    # the server's one serial thread); each FEED_BYTES of them go to a worker thread at once,
    # which parses, hashes and writes them while the loop receives the next FEED_BYTES (one
    # batch in flight: the two overlap, and memory stays bounded).
    received = 0
    pending: list[bytes] = []
    pending_bytes = 0
    in_flight: asyncio.Future[None] | None = None
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body:
                raise too_large(max_file_bytes)
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= FEED_BYTES:
                data, pending, pending_bytes = pending, [], 0
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.ensure_future(run_cpu(feed, data))
        if in_flight is not None:
            await in_flight
        if pending:
            await run_cpu(feed, pending)
        if not collector.ended:
            raise unparsable("the multipart body ended before its closing boundary")
        return collector.result
    except BaseException:
        if in_flight is not None:
            await asyncio.wait([in_flight])  # the worker may still be writing: let it finish
            if not in_flight.cancelled():
                in_flight.exception()  # retrieved: the first error is the one raised
        collector.result.discard()
        raise
