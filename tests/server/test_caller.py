"""Who is calling: one answer (``server/caller.py``) for authentication and idempotency."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer
from sqlalchemy import create_engine, text

from evospikenet.server.caller import ANONYMOUS, Caller, identify, identity_of

SERVER = Path(__file__).resolve().parents[2] / "evospikenet" / "server"
API, NODE = ("api-secret",), ("node-secret",)


def _headers(*keys: str) -> list[tuple[bytes, bytes]]:
    raw = [(b"content-type", b"application/json")]
    return raw + [(b"x-api-key", key.encode()) for key in keys]


@pytest.mark.parametrize(
    ("api_keys", "node_keys", "presented", "expected"),
    [
        ((), (), ("anything",), Caller("anonymous", ANONYMOUS)),
        ((), (), ("a", "b"), Caller("anonymous", ANONYMOUS)),
        (API, NODE, ("api-secret",), Caller("api_key", identity_of("api-secret"), 1)),
        (API, NODE, ("node-secret",), Caller("node_key", "node:" + identity_of("node-secret"), 1)),
        (API, NODE, (), Caller("missing", None, 0)),
        (API, NODE, ("",), Caller("missing", None, 1)),
        (API, NODE, ("wrong",), Caller("invalid", None, 1)),
        (API, NODE, ("api-secret", "api-secret"), Caller("duplicate", None, 2)),
        (API, NODE, ("wrong", "api-secret"), Caller("duplicate", None, 2)),
        ((), NODE, (), Caller("anonymous", ANONYMOUS, 0)),
        ((), NODE, ("wrong",), Caller("anonymous", ANONYMOUS, 1)),
        ((), NODE, ("node-secret",), Caller("node_key", "node:" + identity_of("node-secret"), 1)),
        ((), NODE, ("node-secret", "x"), Caller("duplicate", None, 2)),
    ],
)
def test_identify(
    api_keys: tuple[str, ...], node_keys: tuple[str, ...], presented: tuple[str, ...], expected
) -> None:
    caller = identify(_headers(*presented), api_keys, node_keys)
    assert caller == expected
    assert caller.accepted is (expected.identity is not None)


def test_header_name_is_case_insensitive() -> None:
    raw = [(b"X-Api-Key", b"api-secret")]
    assert identify(raw, API, NODE).identity == identity_of("api-secret")


def _server_imports(module: str) -> set[str]:
    tree = ast.parse((SERVER / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("evospikenet")}


def test_caller_is_a_leaf_and_breaks_the_auth_idempotency_cycle() -> None:
    assert _server_imports("caller") == set()
    assert "evospikenet.server.auth" not in _server_imports("idempotency")
    assert "evospikenet.server.caller" in _server_imports("idempotency")
    assert "evospikenet.server.caller" in _server_imports("auth")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory):
    env = {"EVOSPIKENET_NODE_KEYS": NODE[0], "EVOSPIKENET_LOAD_MODELS": "false"}
    live = LiveServer(tmp_path_factory.mktemp("caller") / "data", api_key=API[0], env=env)
    live.start()
    yield live
    live.close()


@pytest.mark.parametrize(
    "keys", [("api-secret", "api-secret"), ("wrong", "api-secret"), ("api-secret", "wrong")]
)
def test_duplicate_api_key_headers_are_refused_naming_the_header(keyed: LiveServer, keys) -> None:
    headers = [("X-API-Key", key) for key in keys]
    r = httpx.get(f"{keyed.base_url}/api/info", headers=headers)
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["code"] == "AUTH_002"
    assert "X-API-Key header was sent 2 times" in body["detail"]
    assert "api-secret" not in r.text
    # a POST with an Idempotency-Key is refused the same way, and nothing is stored
    headers.append(("Idempotency-Key", f"dup-{'-'.join(keys)}"))
    for _ in range(2):
        r = httpx.post(f"{keyed.base_url}/api/sessions", json={"description": "d"}, headers=headers)
        assert r.status_code == 401 and "Idempotent-Replayed" not in r.headers


def test_duplicate_idempotency_key_headers_are_422(keyed: LiveServer) -> None:
    headers = [("X-API-Key", API[0]), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")]
    r = httpx.post(f"{keyed.base_url}/api/sessions", json={"description": "d"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert "was sent 2 times" in r.json()["detail"]


def _idempotency_scopes(live: LiveServer) -> dict[str, str]:
    url = live.env.get("DATABASE_URL") or f"sqlite:///{live.data_dir / 'evospikenet.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT key, scope FROM idempotency_keys")).all()
    finally:
        engine.dispose()
    return {key: scope for key, scope in rows}


def test_idempotency_scopes_node_keys_as_auth_names_them(keyed: LiveServer) -> None:
    report = {"node_id": "n1", "rank": 0, "type": "coordinator", "status": "idle"}
    url = f"{keyed.base_url}/api/distributed_brain/status"
    node = {"X-API-Key": NODE[0], "Idempotency-Key": "node-report-1"}
    first = httpx.post(url, json=report, headers=node)
    second = httpx.post(url, json=report, headers=node)
    assert first.status_code == second.status_code == 200, first.text
    assert second.headers.get("Idempotent-Replayed") == "true"
    api = {"X-API-Key": API[0], "Idempotency-Key": "api-session-1"}
    created = httpx.post(f"{keyed.base_url}/api/sessions", json={"description": "s"}, headers=api)
    assert created.status_code == 201
    scopes = _idempotency_scopes(keyed)
    assert scopes["node-report-1"] == identify(_headers(NODE[0]), API, NODE).identity
    assert scopes["node-report-1"] == "node:" + identity_of(NODE[0])
    assert scopes["api-session-1"] == identity_of(API[0])
