"""Hostile strings in every string field of every operation, generated from the contract.

The cases are not listed by hand: every string parameter (query, path, header) and every string
property of every request body (JSON and multipart) of the loaded spec gets a lone surrogate, a
NUL and an over-long value. Each must be a 4xx problem naming that field, and after each the
data folder (blobs, temp files) and the database (every table's row count) are as before.

The base request of each operation is the spec's own example (or, without one, each required
property's first example), with the seeded real ids for ``*_id`` fields and a small valid
medium for every base64 field, so that without the hostile value it would pass validation
(checked first) and would store something.
"""

from __future__ import annotations

import base64
import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from live_server import TEST_KEY, LiveServer
from sqlalchemy import create_engine, inspect, text

from evospikenet.server.spec import load_spec

SPEC = load_spec()
MEDIA_LIMIT = 1024
DEFAULT_LONG = 4096
HOSTILE_KINDS = ("surrogate", "nul", "long")


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class Field:
    """One string field of one operation."""

    operation_id: str
    method: str
    path: str
    where: str  # query, path, header, body
    name: str
    schema: dict[str, Any]
    media_type: str | None = None  # of the body, for where == "body"

    @property
    def label(self) -> str:
        return f"{self.operation_id}:{self.where}.{self.name}"


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def string_fields() -> list[Field]:
    """Every string field of every operation in the contract."""
    found: list[Field] = []
    for method, path, operation in _operations():
        op_id = operation["operationId"]
        for param in map(_deref, operation.get("parameters", [])):
            schema = _deref(param["schema"])
            if schema.get("type") == "string":
                found.append(Field(op_id, method, path, param["in"], param["name"], schema))
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            for name, prop in _deref(content["schema"]).get("properties", {}).items():
                schema = _deref(prop)
                if schema.get("type") == "string" and schema.get("format") != "binary":
                    found.append(Field(op_id, method, path, "body", name, schema, media_type))
    return found


FIELDS = string_fields()


def test_the_sweep_covers_every_operation_with_string_input():
    with_strings = {
        op["operationId"]
        for _, _, op in _operations()
        if op.get("parameters") or op.get("requestBody")
    }
    assert {f.operation_id for f in FIELDS} == with_strings
    assert len(FIELDS) >= 35


# --- requests ------------------------------------------------------------------------------


def _hostile(field: Field, kind: str) -> bytes:
    """The hostile value as the bytes that go on the wire for ``field``'s location."""
    if kind == "long":
        value = "A" * (field.schema.get("maxLength", DEFAULT_LONG - 1) + 1)
    else:
        value = "a\ud800" if kind == "surrogate" else "a\x00"
    if field.where == "body" and field.media_type == "application/json":
        return json.dumps(value).encode()
    # a lone surrogate outside JSON: its UTF-8-style bytes, which are not valid UTF-8
    raw = value.encode("utf-8", "surrogatepass")
    if field.where in {"query", "path"}:
        return quote(raw, safe="").encode()
    return raw


def _example_value(name: str, schema: dict[str, Any], ids: dict[str, str]) -> Any:
    if name in ids:
        return ids[name]
    schema = _deref(schema)
    if schema.get("contentEncoding") == "base64":
        return base64.b64encode(b"hostile-media-" + uuid.uuid4().bytes).decode()
    for key in ("examples", "enum"):
        if key in schema:
            return schema[key][0]
    return schema.get("default", "x")


def _base_body(operation: dict[str, Any], media_type: str, ids: dict[str, str]) -> dict[str, Any]:
    content = operation["requestBody"]["content"][media_type]
    schema = _deref(content["schema"])
    body = dict(content.get("example", {}))
    for name in schema.get("required", []):
        body.setdefault(name, _example_value(name, schema["properties"][name], ids))
    for name, prop in schema.get("properties", {}).items():
        if name in ids or _deref(prop).get("contentEncoding") == "base64":
            body[name] = _example_value(name, prop, ids)
    return {
        k: v for k, v in body.items() if _deref(schema["properties"][k]).get("format") != "binary"
    }


def _multipart(fields: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + b"hostile file bytes "
        + uuid.uuid4().bytes
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def build_request(
    live: LiveServer,
    method: str,
    path: str,
    operation: dict[str, Any],
    ids: dict[str, str],
    hostile: tuple[Field, bytes] | None = None,
) -> tuple[str, str, list[tuple[str, bytes]], bytes]:
    """(method, target, headers, body) of a valid request, with one field made hostile."""
    target_field, raw = hostile if hostile else (None, b"")
    headers: list[tuple[str, bytes]] = [("X-API-Key", TEST_KEY.encode())]
    query: list[str] = []
    url = path
    for param in map(_deref, operation.get("parameters", [])):
        name, where = param["name"], param["in"]
        is_target = target_field is not None and (target_field.where, target_field.name) == (
            where,
            name,
        )
        if where == "path":
            value = raw.decode() if is_target else quote(ids[name], safe="")
            url = url.replace("{" + name + "}", value)
        elif is_target and where == "query":
            query.append(f"{name}={raw.decode()}")
        elif is_target and where == "header":
            headers.append((name, raw))
    body = b""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        values = _base_body(operation, "application/json", ids)
        text_body = json.dumps(values)
        if target_field is not None and target_field.where == "body":
            values[target_field.name] = "\x00PLACEHOLDER\x00"
            text_body = json.dumps(values).replace('"\\u0000PLACEHOLDER\\u0000"', raw.decode())
        body = text_body.encode()
        headers.append(("Content-Type", b"application/json"))
    elif "multipart/form-data" in content:
        values = {
            k: str(v).encode() for k, v in _base_body(operation, "multipart/form-data", ids).items()
        }
        if target_field is not None and target_field.where == "body":
            values[target_field.name] = raw
        body, content_type = _multipart(values)
        headers.append(("Content-Type", content_type.encode()))
    if query:
        url += "?" + "&".join(query)
    return method, url, headers, body


def send(live: LiveServer, request: tuple[str, str, list[tuple[str, bytes]], bytes]):
    """Send over a plain socket (http.client passes NUL and non-UTF-8 header bytes through)."""
    method, url, headers, body = request
    connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        connection.putrequest(method, url, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


# --- the stored state ---------------------------------------------------------------------


def snapshot(live: LiveServer) -> dict[str, Any]:
    """Every file under blobs/ and tmp/, and every table's row count."""
    files = sorted(
        str(p.relative_to(live.data_dir))
        for folder in ("blobs", "tmp")
        for p in (live.data_dir / folder).rglob("*")
        if p.is_file()
    )
    url = live.env.get("DATABASE_URL") or f"sqlite:///{live.data_dir / 'evospikenet.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            rows = {
                t: connection.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar() for t in tables
            }
    finally:
        engine.dispose()
    return {"files": files, "rows": rows}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    """A server with a small media limit, and real ids in it."""
    live = LiveServer(
        tmp_path_factory.mktemp("hostile") / "data",
        api_key=TEST_KEY,
        env={"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_MAX_MEDIA_BYTES": str(MEDIA_LIMIT)},
    )
    live.start()
    headers = {"X-API-Key": TEST_KEY}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=30) as c:
        session_id = c.post("/api/sessions", json={"description": "seed"}).json()["session_id"]
        artifact_id = c.post(
            "/api/artifacts",
            data={"session_id": session_id, "artifact_type": "dataset", "name": "seed.bin"},
            files={"file": ("seed.bin", b"seed")},
        ).json()["artifact_id"]
        prompt_id = c.post("/api/distributed_brain/prompt", json={"prompt": "seed"}).json()[
            "prompt_id"
        ]
    ids = {
        "session_id": session_id,
        "artifact_id": artifact_id,
        "prompt_id": prompt_id,
        "node_id": "node-hostile-1",
    }
    operations = {op["operationId"]: (m, p, op) for m, p, op in _operations()}
    # every base request passes validation (and may store something), so a rejection below
    # is the hostile value's doing
    for op_id in sorted({f.operation_id for f in FIELDS}):
        method, path, operation = operations[op_id]
        status, _, body = send(live, build_request(live, method, path, operation, ids))
        assert status not in {400, 413, 422}, (op_id, status, body[:300])
    yield live, ids, operations
    live.close()


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
@pytest.mark.parametrize("field", FIELDS, ids=[f.label for f in FIELDS])
def test_hostile_string_is_a_problem_naming_the_field_and_stores_nothing(seeded, field, kind):
    live, ids, operations = seeded
    method, path, operation = operations[field.operation_id]
    before = snapshot(live)
    request = build_request(live, method, path, operation, ids, (field, _hostile(field, kind)))
    status, content_type, body = send(live, request)
    assert 400 <= status < 500, (status, body[:500])
    name = f"{field.where}.{field.name}"
    if content_type.startswith("application/problem+json"):
        problem = json.loads(body)
        assert name in [e["field"] for e in problem.get("errors", [])], problem
    else:
        # only the HTTP parser itself refuses a NUL in a header, before the app sees it
        assert (field.where, kind, status) == ("header", "nul", 400), (status, body[:300])
    assert snapshot(live) == before
