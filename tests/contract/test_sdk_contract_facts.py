"""Every fact of the contract the SDK checks by itself (``evospikenet/sdk/_contract.py``) equals
the spec's value at the JSON pointer written under it."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from spec_loader import load_spec

from evospikenet.sdk import _contract

SOURCE = Path(_contract.__file__)


def facts() -> list[tuple[str, str]]:
    """``(name, pointer)`` for each constant, the pointer being its docstring's first word."""
    body = ast.parse(SOURCE.read_text(encoding="utf-8")).body
    found = []
    for node, following in itertools.pairwise(body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "__all__":
                continue
            assert isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant), (
                f"{name}: document the spec's JSON pointer under it"
            )
            found.append((name, str(following.value.value).split()[0]))
    return found


def resolve(spec: dict[str, Any], pointer: str) -> Any:
    value: Any = spec
    for part in pointer.lstrip("/").split("/"):
        value = value[part.replace("~1", "/").replace("~0", "~")]
    return value


def test_every_constant_is_pinned() -> None:
    assert {name for name, _ in facts()} == set(_contract.__all__)


@pytest.mark.parametrize(("name", "pointer"), facts())
def test_constant_equals_the_spec(name: str, pointer: str) -> None:
    value = getattr(_contract, name)
    expected = resolve(load_spec(), pointer)
    if isinstance(value, re.Pattern):
        value = value.pattern
    assert value == expected, f"{name} is {value!r}; the spec's {pointer} is {expected!r}"
