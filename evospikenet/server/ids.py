"""Public ids (``ses_``/``art_``/``prm_`` + 32 hex) and page cursors."""

from __future__ import annotations

import re
import uuid

from evospikenet.server.errors import validation_error

_CURSOR = re.compile(r"^c([0-9]{1,19})$")


def new_id(prefix: str) -> str:
    """A fresh random id with ``prefix`` (``ses``, ``art``, ``prm``)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def encode_cursor(pk: int) -> str:
    """The cursor that continues after the row with primary key ``pk`` (newest first)."""
    return f"c{pk}"


def decode_cursor(cursor: str | None) -> int | None:
    """The primary key a cursor continues after; 422 for a cursor this server never issued."""
    if cursor is None:
        return None
    match = _CURSOR.match(cursor)
    if match is None:
        raise validation_error("query.cursor", "is not a cursor issued by this server")
    return int(match.group(1))
