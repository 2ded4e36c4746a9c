"""``jsonbody.loads`` answers as ``json.loads`` does (the same value or an error), cutting long
strings out first; long strings of ``keep`` members come back undecoded."""

from __future__ import annotations

import json

import pytest

from evospikenet.server.jsonbody import LONG_STRING, LongString, loads

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
