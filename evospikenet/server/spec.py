"""The hand-written OpenAPI contract that the server serves and validates requests against."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any

import yaml

REPO_SPEC = Path(__file__).resolve().parents[2] / "openapi" / "evospikenet.yaml"


def spec_text() -> str:
    """The YAML text: the repository's file, else the copy packaged in the wheel."""
    if REPO_SPEC.is_file():
        return REPO_SPEC.read_text(encoding="utf-8")
    resource = importlib.resources.files("evospikenet") / "_spec" / "evospikenet.yaml"
    return resource.read_text(encoding="utf-8")


@functools.cache
def load_spec() -> dict[str, Any]:
    """The contract as a dict (loaded once)."""
    spec = yaml.safe_load(spec_text())
    if not isinstance(spec, dict) or "paths" not in spec:
        raise RuntimeError("the OpenAPI document has no paths")
    return spec


def api_version() -> str:
    """The contract's ``info.version``."""
    return str(load_spec()["info"]["version"])


def spec_operations(spec: dict[str, Any] | None = None) -> set[tuple[str, str]]:
    """Every (METHOD, path) the contract defines."""
    spec = spec or load_spec()
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in methods
    }


def spec_node(*path: str) -> Any:
    """The contract's value at ``path`` (e.g. ``"components", "schemas", "Limits"``), for
    constants the server must not repeat by hand. A missing path raises ``KeyError`` naming it."""
    node: Any = load_spec()
    for depth, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, TypeError):
            raise KeyError(f"the OpenAPI document has no {'/'.join(path[: depth + 1])}") from None
    return node


def _resolved(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = spec_node(*node["$ref"].removeprefix("#/").split("/"))
    return node


@functools.cache
def _schema_defaults(name: str) -> tuple[tuple[str, Any], ...]:
    properties = _resolved(spec_node("components", "schemas", name)).get("properties", {})
    resolved = {field: _resolved(node) for field, node in properties.items()}
    return tuple((field, node["default"]) for field, node in resolved.items() if "default" in node)


def schema_defaults(name: str) -> dict[str, Any]:
    """The ``default`` of each top-level property of schema ``name`` that states one (so a
    handler never repeats a default the contract states)."""
    return dict(_schema_defaults(name))
