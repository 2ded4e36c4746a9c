"""The ``evospikenet`` logger, switched on by ``EVOSPIKENET_LOG``, and API-key redaction."""

from __future__ import annotations

import logging
import os

__all__ = ["configure_from_env", "logger", "redact"]

logger = logging.getLogger("evospikenet.sdk")
_root = logging.getLogger("evospikenet")
_configured = False


def configure_from_env() -> None:
    """Honour ``EVOSPIKENET_LOG`` (debug, info, warning, error) once: level and a stderr handler."""
    global _configured
    if _configured:
        return
    _configured = True
    level_name = os.environ.get("EVOSPIKENET_LOG", "").strip().upper()
    if not level_name:
        return
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        return
    _root.setLevel(level)
    if not _root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _root.addHandler(handler)


def redact(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` replaced by ``***``."""
    if secret and secret in text:
        return text.replace(secret, "***")
    return text
