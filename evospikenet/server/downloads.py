"""Download answers: ETag, If-None-Match, one byte Range, Content-Disposition."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.errors import ApiError
from evospikenet.server.zerocopy import BlobFileResponse

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and, for other names, ``filename*`` (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\/' else "_" for c in name)
    fallback = fallback or "download"
    if fallback == name:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def etag_matches(header: str, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak comparison) or is ``*``."""
    if header.strip() == "*":
        return True
    candidates = [part.strip().removeprefix("W/") for part in header.split(",")]
    return etag in candidates


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range asked for, None for the whole file (absent or malformed, which
    RFC 9110 says to ignore); raises 416 ``RANGE_001`` when it lies outside the file."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return start, min(end, size - 1)


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(
        416,
        "RANGE_001",
        f"The requested range is outside the file of {size} bytes.",
        kind="range-not-satisfiable",
        headers={"Content-Range": f"bytes */{size}"},
    )


def download_response(
    blobs: BlobStore, artifact: dict[str, Any], range_header: str | None, if_none_match: str | None
) -> Response:
    """Stream an artifact's bytes (200, 206 or 304)."""
    size = int(artifact["size"])
    etag = f'"{artifact["sha256"]}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(artifact["name"]),
    }
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    byte_range = parse_range(range_header, size)
    if byte_range is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    return BlobFileResponse(
        blobs,
        artifact["sha256"],
        start,
        end if size else start - 1,
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )
