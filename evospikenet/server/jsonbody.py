"""JSON parsing of large bodies without megabyte-long GIL holds.

``json.loads`` decodes and scans the whole document in one call that holds the GIL: ~40 ms (and
~90 MB of fresh memory) for a prompt carrying two 16 MiB media, during which no other thread,
the event loop included, runs. Here the body's long strings without escapes (base64 media) are
found with ``bytes.find``, cut out of the document, and the small rest is parsed by the ``json``
module. Long strings of the members named in ``keep`` come back as ``LongString`` (the body's
bytes, never decoded to ``str``; the caller decodes them as base64); any other long string is
decoded to ``str`` as ``json.loads`` would.

The result is that of ``json.loads``, with one exception: a long string's raw bytes are not
checked for control characters or (in ``keep`` members) for UTF-8. That costs nothing: the
contract admits strings that long only as base64 media, whose strict decoding refuses both
(422), and every other string field has a ``maxLength`` far below ``LONG_STRING``.

A body is collected as the list of its chunks (``BodyBuffer``): the event loop, the server's one
serial thread, only appends them. A worker thread then copies a large body into anonymous memory
(``mmap``), one chunk at a time. ``bytearray(43 MiB)`` would zero every page in one call (~35 ms
under the GIL), and freeing it unmaps them, again under the GIL (~5-15 ms); an ``mmap`` gets
zeroed pages from the kernel as each chunk is copied in (~1 ms per MiB in page faults on a small
virtual machine), and unmaps with the GIL released.
"""

from __future__ import annotations

import json
import mmap
import uuid
from typing import Any, TypeAlias

from evospikenet.server.offload import Steps

LONG_STRING = 64 * 1024
MAX_STRINGS = 10_000
"""Bodies with more strings than this are parsed by ``json.loads`` itself (no long strings to
cut out are worth a Python loop over that many quotes)."""
FIND_STEP = 1024 * 1024
"""Bodies are searched this many bytes at a time: one ``find`` over a 21 MiB string holds the
GIL ~1 ms (an ``mmap``'s ~5 times that of ``bytes``), a step ~0.05 ms."""
MAPPED_BYTES = 256 * 1024
"""Bodies at least this long are copied into an ``mmap`` (see ``BodyBuffer``)."""

Body: TypeAlias = bytes | mmap.mmap
"""A request body's bytes, as ``BodyBuffer.contents`` gives them."""


class BodyBuffer:
    """A request body collected chunk by chunk, without long GIL holds (module docstring)."""

    def __init__(self) -> None:
        self.size = 0
        self._chunks: list[bytes] = []

    def append(self, chunk: bytes) -> None:
        """Keep ``chunk`` (no copy: cheap enough for the event loop)."""
        self._chunks.append(chunk)
        self.size += len(chunk)

    def contents(self) -> Steps[Body]:
        """The body, exactly ``size`` bytes; from ``MAPPED_BYTES`` on in an ``mmap``, copied a
        chunk per step (see ``offload.run_cpu_steps``). The chunks are released as they are
        copied, so a body is held about once, not twice."""
        chunks, self._chunks = self._chunks, []
        if self.size < MAPPED_BYTES:
            return b"".join(chunks)
        data = mmap.mmap(-1, self.size)
        position = 0
        chunks.reverse()
        while chunks:
            chunk = chunks.pop()
            data[position : position + len(chunk)] = chunk
            position += len(chunk)
            yield
        return data


class LongString:
    """A long JSON string without escapes, as the body's bytes (a view, not a copy)."""

    __slots__ = ("data",)

    def __init__(self, data: memoryview) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"LongString({len(self.data)} bytes)"


def _find(raw: Body, byte: bytes, start: int, end: int) -> int:
    """``raw.find(byte, start, end)`` for one byte, in steps of ``FIND_STEP``."""
    while start < end:
        found = raw.find(byte, start, min(start + FIND_STEP, end))
        if found >= 0:
            return found
        start += FIND_STEP
    return -1


def _long_spans(raw: Body) -> list[tuple[int, int]] | None:
    """(start, end) of every string content at least ``LONG_STRING`` bytes long without a
    backslash; None when the body has too many strings to look."""
    spans: list[tuple[int, int]] = []
    inside = False
    start = pos = quotes = 0
    while (quote := _find(raw, b'"', pos, len(raw))) >= 0:
        pos = quote + 1
        quotes += 1
        if quotes > 2 * MAX_STRINGS:
            return None
        if not inside:
            inside, start = True, pos
            continue
        backslashes = 0
        while quote - 1 - backslashes >= start and raw[quote - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2:
            continue  # an escaped quote inside the string
        inside = False
        if quote - start >= LONG_STRING and _find(raw, b"\\", start, quote) == -1:
            spans.append((start, quote))
    return spans


def loads(raw: Body, decoder: json.JSONDecoder, keep: frozenset[str] = frozenset()) -> Any:
    """``decoder.decode(str(raw, "utf-8"))``, with long strings cut out first (see the module
    docstring). Raises ``UnicodeDecodeError`` or ``ValueError`` as ``json.loads`` would."""
    spans = _long_spans(raw) if len(raw) >= LONG_STRING else None
    if not spans:
        return decoder.decode(str(raw, "utf-8"))
    token = f"\ue000{uuid.uuid4().hex}:"
    parts: list[bytes] = []
    cut = 0
    for index, (start, end) in enumerate(spans):
        parts += [raw[cut:start], f"{token}{index}".encode()]
        cut = end
    parts.append(raw[cut:])
    skeleton = decoder.decode(b"".join(parts).decode("utf-8"))
    view = memoryview(raw)

    def restore(value: Any, member: str | None) -> Any:
        if isinstance(value, str) and value.startswith(token):
            start, end = spans[int(value[len(token) :])]
            if member in keep:
                return LongString(view[start:end])
            return raw[start:end].decode("utf-8")
        return value

    return _walk(skeleton, restore)


def _walk(document: Any, restore: Any) -> Any:
    """``document`` with every string (keys too) passed through ``restore(value, member)``,
    where ``member`` is the top-level key a value sits under directly (else None)."""
    if isinstance(document, dict):
        top = {restore(k, None): restore(v, restore(k, None)) for k, v in document.items()}
        stack: list[Any] = [v for v in top.values() if isinstance(v, dict | list)]
    elif isinstance(document, list):
        top = [restore(v, None) for v in document]  # type: ignore[assignment]
        stack = [v for v in top if isinstance(v, dict | list)]
    else:
        return restore(document, None)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = [(restore(k, None), restore(v, None)) for k, v in node.items()]
            node.clear()
            node.update(items)
            stack.extend(v for _, v in items if isinstance(v, dict | list))
        else:
            node[:] = [restore(v, None) for v in node]
            stack.extend(v for v in node if isinstance(v, dict | list))
    return top
