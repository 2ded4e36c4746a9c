"""Streamed generation without I/O: server-sent events decoded from the bytes of a
``text/event-stream`` body as they arrive, and read into the SDK's typed events.

``chunk`` events become :class:`GenerateChunk`, ``done`` the :class:`GenerateResult` of the
whole generation, ``error`` the SDK error of the problem it carries. Both clients' streams
(``GenerateStream``, ``AsyncGenerateStream``) feed bytes in here.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

import httpx

from evospikenet_api_client.models import GenerateChunk

from ._base_client import status_error
from ._errors import APIConnectionError, APIResponseValidationError
from ._models import GenerateResult
from ._operations import EVENT_STREAM, Op

__all__ = ["GenerateChunk", "GenerationEvents", "SSEDecoder", "ServerSentEvent"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class ServerSentEvent:
    """One event: its name (``message`` when unnamed) and its data lines joined by newlines."""

    event: str
    data: str


class SSEDecoder:
    """Server-sent events from a ``text/event-stream`` body fed in pieces of any size.

    Lines end at CR, LF or CRLF only (``str.splitlines`` would also break inside the data at
    U+2028 and other separators); comments and ``id``/``retry`` fields are ignored.
    """

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")("strict")
        self._pending = ""
        self._event = ""
        self._data: list[str] = []

    def feed(self, data: bytes, *, final: bool = False) -> list[ServerSentEvent]:
        """The events completed by ``data`` (``final``: the body ended)."""
        text = self._pending + self._text.decode(data, final)
        # a CR at the end may be the first half of a CRLF: keep it for the next piece
        keep = 1 if text.endswith("\r") and not final else 0
        lines = _LINE_BREAK.split(text[: len(text) - keep])
        self._pending = lines.pop() + text[len(text) - keep :]
        if final and self._pending:
            lines.append(self._pending)
            self._pending = ""
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            event = ServerSentEvent(self._event or "message", "\n".join(self._data))
            has_data = bool(self._data)
            self._event, self._data = "", []
            return event if has_data else None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


class GenerationEvents:
    """Reads one streamed generation: bytes in, :class:`GenerateChunk` events out, the final
    :class:`GenerateResult` kept in ``result``; an ``error`` event raises its SDK error.

    A chunk is checked whole (its text is all it has); the final result, like every answer,
    only for its identifying fields unless ``strict`` (``strict_response_validation``).
    """

    def __init__(self, op: Op[None], response: httpx.Response, *, strict: bool = False) -> None:
        self._op = op
        self._response = response
        self._strict = strict
        self._request_id = response.headers.get("x-request-id")
        self._decoder = SSEDecoder()
        self.result: GenerateResult | None = None
        media_type = response.headers.get("content-type", "").partition(";")[0].strip()
        if media_type.lower() != EVENT_STREAM:
            raise self._invalid(f"is not one: its Content-Type is {media_type or 'missing'!r}")

    def feed(self, data: bytes) -> list[GenerateChunk]:
        """The text chunks completed by ``data``."""
        try:
            events = self._decoder.feed(data)
        except UnicodeDecodeError as exc:
            raise self._invalid(f"is not UTF-8 ({exc})") from None
        return [chunk for event in events if (chunk := self._read(event)) is not None]

    def end(self) -> None:
        """The body ended: raise unless the final ``done`` event came."""
        for event in self._decoder.feed(b"", final=True):
            self._read(event)
        if self.result is None:
            raise APIConnectionError(
                f"The stream ended before its final event — {self._op.method} {self._op.path}",
                method=self._op.method,
                url=self._op.path,
            )

    def _read(self, event: ServerSentEvent) -> GenerateChunk | None:
        if event.event not in ("chunk", "done", "error"):
            return None  # an event a newer server may add
        try:
            payload = json.loads(event.data)
            if event.event == "error":
                body = event.data.encode()
                raise status_error(
                    self._op.method, self._op.path, self._response, body, status=payload["status"]
                )
            if event.event == "done":
                self.result = GenerateResult.from_dict(payload)
                if self._strict:
                    self.result.validate_strict()
                self.result.request_id = self._request_id
                return None
            chunk = GenerateChunk.from_dict(payload)
            chunk.validate_strict()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._invalid(f"has a malformed {event.event!r} event ({exc!r})") from None
        chunk.request_id = self._request_id
        return chunk

    def _invalid(self, problem: str) -> APIResponseValidationError:
        return APIResponseValidationError(
            f"The server's event stream {problem} — {self._op.method} {self._op.path}",
            status_code=self._response.status_code,
            request_id=self._request_id,
            method=self._op.method,
            url=self._op.path,
        )
