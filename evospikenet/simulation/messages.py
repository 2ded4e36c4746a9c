"""Message encoding on the wire: JSON objects, optionally authenticated with a shared key.

Without a key a message is its UTF-8 JSON. With a key (``EVOSPIKENET_SIM_KEY``, the same on
the server and every node) it is ``hex(HMAC-SHA256(key, json)) + "." + json`` and messages with a
missing or wrong tag are refused, so a peer that can reach the Zenoh endpoint but does not hold
the key cannot inject prompts, results or heartbeats. Media travel as standard base64 strings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_TAG_HEX = 64


class MessageError(ValueError):
    """A message that cannot be decoded or whose authentication tag is wrong."""


class Codec:
    """Encode and decode messages; ``key`` turns HMAC authentication on."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and len(key) < 16:
            raise ValueError("the simulation key must be at least 16 bytes")
        self._key = key

    @property
    def authenticated(self) -> bool:
        """True when messages carry and require an HMAC tag."""
        return self._key is not None

    def encode(self, message: dict[str, Any]) -> bytes:
        """The wire bytes of ``message``."""
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if self._key is None:
            return body
        tag = hmac.new(self._key, body, hashlib.sha256).hexdigest().encode("ascii")
        return tag + b"." + body

    def decode(self, data: bytes) -> dict[str, Any]:
        """The message in ``data``; :class:`MessageError` when it is malformed or forged."""
        if len(data) > MAX_MESSAGE_BYTES:
            raise MessageError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
        body = data
        if self._key is not None:
            tag, dot, body = data[:_TAG_HEX], data[_TAG_HEX : _TAG_HEX + 1], data[_TAG_HEX + 1 :]
            expected = hmac.new(self._key, body, hashlib.sha256).hexdigest().encode("ascii")
            if dot != b"." or not hmac.compare_digest(tag, expected):
                raise MessageError("message refused: missing or wrong authentication tag")
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MessageError(f"message is not UTF-8 JSON: {exc}") from None
        if not isinstance(message, dict):
            raise MessageError("message is not a JSON object")
        return message


def b64encode(data: bytes | None) -> str | None:
    """Standard base64 text of ``data`` (None stays None)."""
    return None if data is None else base64.b64encode(data).decode("ascii")


def b64decode(text: Any, field: str) -> bytes | None:
    """The bytes of a base64 field (None stays None); :class:`MessageError` naming ``field``."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise MessageError(f"{field} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MessageError(f"{field} is not valid base64") from None


def require(message: dict[str, Any], field: str, kind: type) -> Any:
    """``message[field]`` if it has type ``kind``; :class:`MessageError` otherwise."""
    value = message.get(field)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MessageError(f"message field {field!r} must be {kind.__name__}")
    return value
