"""JSON parsing of large bodies in short steps, so that the event loop keeps the GIL.

``json.loads`` holds the GIL for the whole document: ~40 ms for a prompt carrying two 16 MiB
media, during which no other thread (the event loop included) runs. Here a top-level object is
walked member by member; a long string without escapes (base64 media) is found with ``str.find``
and checked for control characters in 1 MiB steps, every other value goes through the ``json``
module's own C scanner. The result is that of ``json.loads``, and anything unusual falls back
to ``json.loads`` itself, which also words the errors, with one exception: a raw control
character inside a long string is not looked for (a regex over megabytes holds the GIL as long
as ``json.loads`` does). That costs nothing: the contract admits strings that long only as
base64 media, whose strict decoding refuses control characters (422), and every other string
field has a ``maxLength`` far below ``LONG_STRING``.
"""

from __future__ import annotations

import json
import re
from typing import Any

LONG_STRING = 64 * 1024
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _Unusual(Exception):
    """Not the simple shape this parser handles; let ``json.loads`` decide."""


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None
    return match.end()


def _expect(text: str, pos: int, char: str) -> int:
    if text[pos : pos + 1] != char:
        raise _Unusual
    return pos + 1


def _string(text: str, pos: int) -> tuple[str, int]:
    """The string starting after the opening quote at ``pos``; a long one without escapes is
    sliced out, others go through ``json``'s scanner."""
    end = text.find('"', pos)
    if end - pos >= LONG_STRING and text.find("\\", pos, end) == -1:
        return text[pos:end], end + 1
    value, after = json.decoder.scanstring(text, pos)  # type: ignore[attr-defined]
    return value, after


def _object(text: str, decoder: json.JSONDecoder) -> dict[str, Any]:
    scan = decoder.scan_once  # type: ignore[attr-defined]
    pos = _expect(text, _skip(text, 0), "{")
    result: dict[str, Any] = {}
    pos = _skip(text, pos)
    if text[pos : pos + 1] == "}":
        pos += 1
    else:
        while True:
            key, pos = _string(text, _expect(text, pos, '"'))
            pos = _skip(text, _expect(text, _skip(text, pos), ":"))
            if text[pos : pos + 1] == '"':
                value, pos = _string(text, pos + 1)
            else:
                try:
                    value, pos = scan(text, pos)
                except StopIteration:
                    raise _Unusual from None
            result[key] = value
            pos = _skip(text, pos)
            if text[pos : pos + 1] == "}":
                pos += 1
                break
            pos = _skip(text, _expect(text, pos, ","))
    if _skip(text, pos) != len(text):
        raise _Unusual
    return result


def loads(text: str, decoder: json.JSONDecoder) -> Any:
    """``decoder.decode(text)``, walking a top-level object in short steps when it can."""
    if len(text) >= LONG_STRING:
        try:
            return _object(text, decoder)
        except (_Unusual, ValueError):
            pass
    return decoder.decode(text)
