"""``jsonbody.loads`` answers as ``json.loads`` does (the same value or an error), cutting long
strings out first; long strings of ``keep`` members come back undecoded."""

from __future__ import annotations

import base64
import hashlib
import json
import mmap
import os
from collections.abc import Iterator

import httpx
import pytest

from evospikenet.server.jsonbody import (
    FIND_STEP,
    LONG_STRING,
    MAPPED_BYTES,
    BodyBuffer,
    LongString,
    loads,
)
from evospikenet.server.offload import run_steps

DECODER = json.JSONDecoder()
LONG = "QUJD" * (LONG_STRING // 4 + 1)


def _plain(document: bytes):
    try:
        return "ok", json.loads(document.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return "error", None


def _ours(document: bytes, keep: frozenset[str] = frozenset()):
    try:
        value = loads(document, DECODER, keep)
    except ValueError:
        return "error", None
    return "ok", value


DOCUMENTS = [
    {"prompt": "こんにちは", "image": LONG, "audio": LONG, "priority": 5},
    {"a": [LONG, {"b": LONG, LONG: 1}], "c": None, "d": [1.5e3, True, False]},
    {"escaped": LONG + '"quote"' + LONG, "tab": "a\tb", "nul": "a\u0000"},
    {'quote"': LONG, "back\\slash": LONG + "\\"},
    [LONG, "x", LONG],
    {"nested": {"deeper": [[LONG]]}},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_value_as_json_loads(document):
    raw = json.dumps(document, ensure_ascii=False).encode()
    assert _ours(raw) == _plain(raw) == ("ok", json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": "' + LONG.encode() + b'"',  # unterminated object
        b'{"a": "' + LONG.encode() + b'"} x',  # extra data
        b'{"a": "' + LONG.encode() + b'", }',  # trailing comma
        b'{"a": ' + LONG.encode() + b"}",  # a bare word
        b'{"a": "' + LONG.encode() + b'", "b": "\xff"}',  # not UTF-8 outside the long string
        b'{"a": "\\' + LONG.encode() + b'"}',  # an invalid escape
        b'{"a": "' + LONG.encode(),  # unterminated string
    ],
)
def test_same_errors_as_json_loads(raw):
    assert _ours(raw) == _plain(raw) == ("error", None)


def test_kept_members_come_back_as_undecoded_bytes():
    raw = json.dumps({"image": LONG, "other": LONG, "short": "AAAA"}).encode()
    value = loads(raw, DECODER, frozenset({"image", "short"}))
    assert isinstance(value["image"], LongString) and bytes(value["image"].data) == LONG.encode()
    assert value["other"] == LONG and value["short"] == "AAAA"


def test_many_strings_take_the_plain_path():
    raw = json.dumps({"items": ["x"] * 30_000, "image": LONG}).encode()
    assert loads(raw, DECODER, frozenset({"image"})) == json.loads(raw)


def test_strings_longer_than_a_search_step():
    huge = "QUJD" * (FIND_STEP // 2)  # 2 steps of base64, then an escape past the first step
    document = {"image": huge, "text": huge + '\\"' + huge, "tail": "x"}
    raw = json.dumps(document).encode()
    value = loads(raw, DECODER, frozenset({"image"}))
    assert bytes(value["image"].data) == huge.encode()
    assert value["text"] == document["text"] and value["tail"] == "x"


@pytest.mark.parametrize("size", [0, 1, MAPPED_BYTES - 1, MAPPED_BYTES, 3 * MAPPED_BYTES + 5])
def test_body_buffer_holds_exactly_what_was_appended(size):
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    buffer = BodyBuffer()
    for start in range(0, len(data), 7_000):
        buffer.append(data[start : start + 7_000])
    contents = run_steps(buffer.contents())
    assert isinstance(contents, mmap.mmap) == (size >= MAPPED_BYTES)
    assert buffer.size == len(contents) == size and contents[:] == data


def test_a_mapped_body_parses_as_bytes_do():
    raw = json.dumps({"image": LONG, "prompt": "é", "n": [1, 2], "pad": "x" * MAPPED_BYTES})
    buffer = BodyBuffer()
    buffer.append(raw.encode())
    mapped = run_steps(buffer.contents())
    assert isinstance(mapped, mmap.mmap)
    assert loads(mapped, DECODER) == json.loads(raw)
    value = loads(mapped, DECODER, frozenset({"image"}))
    assert bytes(value["image"].data) == LONG.encode() and value["prompt"] == "é"


@pytest.mark.parametrize("declared", [True, False])
def test_media_prompts_store_the_exact_bytes(make_server, declared):
    """A ~3 MiB prompt over loopback, with a Content-Length or chunked: the stored image is the
    sent one, byte for byte."""
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    image = os.urandom(2 * 1024 * 1024 + 1)
    raw = json.dumps({"prompt": "p", "image": base64.b64encode(image).decode()}).encode()
    content: bytes | Iterator[bytes] = raw
    if not declared:
        content = (raw[start : start + 100_000] for start in range(0, len(raw), 100_000))
    r = httpx.post(
        f"{live.base_url}/api/distributed_brain/prompt",
        content=content,
        headers={**live.headers, "Content-Type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 202, r.text
    stored = live.data_dir / "blobs" / _blob_name(hashlib.sha256(image).hexdigest())
    assert stored.read_bytes() == image


def _blob_name(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:4]}/{digest}"
