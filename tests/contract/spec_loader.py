"""Loads the hand-written OpenAPI contract for the contract tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "evospikenet.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load_spec() -> dict[str, Any]:
    """The parsed contract."""
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the contract."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (one level is all the contract uses)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target
