"""Errors and limits shared by the media decoders (vision, auditory)."""

from __future__ import annotations

DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024
"""The server's default ``max_media_bytes`` (16 MiB): larger media are refused before decoding."""


class MediaError(ValueError):
    """Media that cannot be used (undecodable, unsupported, too large); the message says why."""


def check_size(kind: str, data: bytes, max_bytes: int) -> None:
    """Raise :class:`MediaError` when ``data`` is empty or larger than ``max_bytes``."""
    if not data:
        raise MediaError(f"the {kind} is empty")
    if len(data) > max_bytes:
        raise MediaError(
            f"the {kind} is {len(data)} bytes, more than the node's limit of {max_bytes} bytes"
        )
