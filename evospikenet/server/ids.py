"""Public ids: ``ses_``/``art_``/``prm_`` followed by 32 hex digits."""

from __future__ import annotations

import uuid


def new_id(prefix: str) -> str:
    """A fresh random id with ``prefix`` (``ses``, ``art``, ``prm``)."""
    return f"{prefix}_{uuid.uuid4().hex}"
