"""The server serves the hand-written contract, and implements exactly its operations."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from evospikenet.server.app import create_app
from evospikenet.server.settings import Settings
from evospikenet.server.spec import spec_operations

SPEC_FILE = Path(__file__).resolve().parents[2] / "openapi" / "evospikenet.yaml"
NOT_IN_CONTRACT = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}


def _routes(routes) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found |= _routes(inner.routes)
        elif getattr(route, "methods", None) and route.path not in NOT_IN_CONTRACT:
            found |= {(m, route.path) for m in route.methods if m != "HEAD"}
    return found


def test_served_spec_equals_the_file(server):
    served = httpx.get(f"{server.base_url}/openapi.json").json()
    assert served == yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))


def test_routes_equal_the_spec_operations(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, load_models=False))
    assert _routes(app.router.routes) == spec_operations()
