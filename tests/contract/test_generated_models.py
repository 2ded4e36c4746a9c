"""The generated models fit the contract: each schema's model knows the schema's fields and
required fields, its identifying fields are ones the contract requires, and no field hides a
``dict`` method (the models are dicts)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from spec_loader import load_spec

SCHEMAS = {
    name: schema
    for name, schema in load_spec()["components"]["schemas"].items()
    if schema.get("type") == "object" and "properties" in schema
}


def model_of(name: str) -> Any:
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return getattr(importlib.import_module(f"evospikenet_api_client.models.{module}"), name)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_model_knows_its_schema(name: str) -> None:
    schema, model = SCHEMAS[name], model_of(name)
    if any(p.get("format") == "binary" for p in schema["properties"].values()):
        pytest.skip("a multipart body stays the generator's attrs class")
    assert issubclass(model, dict)
    assert model._fields == frozenset(schema["properties"])
    assert set(model._required_fields) == set(schema.get("required", []))
    assert set(model._identifying_fields) <= set(schema.get("required", []))
    clashes = set(schema["properties"]) & set(dir(dict))
    assert not clashes, f"{name}: fields named like dict methods: {clashes}"


def test_the_identifying_fields_of_the_results() -> None:
    identifying = {name: getattr(model_of(name), "_identifying_fields", ()) for name in SCHEMAS}
    assert {name: fields for name, fields in identifying.items() if fields} == {
        "GenerateResponse": ("generated_text",),
        "Session": ("session_id",),
        "Artifact": ("artifact_id",),
        "PromptAccepted": ("prompt_id",),
        "Health": ("status",),
    }
