"""Every pattern, limit and default the server states beside the contract is pinned to the
contract's value (``openapi/evospikenet.yaml``); the rest are read from it at run time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from evospikenet.server import blobstore, idempotency, remote_log, tables
from evospikenet.server.caller import identity_of
from evospikenet.server.settings import Settings, SettingsError
from evospikenet.server.spec import load_spec, schema_defaults, spec_node


def schema(name: str) -> dict[str, Any]:
    return spec_node("components", "schemas", name)  # type: ignore[no-any-return]


def prop(name: str, field: str) -> dict[str, Any]:
    node = schema(name)["properties"][field]
    if "$ref" in node:
        node = schema(node["$ref"].rsplit("/", 1)[1])
    return node  # type: ignore[no-any-return]


def parameter(path: str, method: str, name: str) -> dict[str, Any]:
    for param in spec_node("paths", path, method, "parameters"):
        if "$ref" in param:
            param = spec_node(*param["$ref"].removeprefix("#/").split("/"))
        if param["name"] == name:
            return param["schema"]  # type: ignore[no-any-return]
    raise AssertionError(f"{method} {path} has no parameter {name}")


def longest(pattern: str) -> int:
    """The largest ``{m,n}`` bound of a pattern like ``^[...]{1,64}$``."""
    return max(int(n) for n in re.findall(r"\{\d+,(\d+)\}", pattern))


def column_length(table: Any, column: str) -> int:
    return int(table.__table__.c[column].type.length)


def test_idempotency_key_pattern_is_the_spec_one() -> None:
    spec_pattern = load_spec()["components"]["parameters"]["IdempotencyKey"]["schema"]["pattern"]
    assert spec_pattern == idempotency.KEY_PATTERN
    assert idempotency._KEY.pattern == spec_pattern
    assert column_length(tables.IdempotencyRow, "key") >= longest(spec_pattern)
    # the scope column holds every identity caller.identify gives
    assert column_length(tables.IdempotencyRow, "scope") >= len("node:" + identity_of("k"))


def test_settings_defaults_are_the_spec_limits() -> None:
    settings = Settings()
    assert settings.max_prompt_chars == prop("GenerateRequest", "prompt")["maxLength"]
    assert settings.max_prompt_chars == prop("PromptRequest", "prompt")["maxLength"]
    assert settings.max_new_tokens == prop("GenerateRequest", "max_length")["maximum"]
    assert (
        settings.max_page_size
        == spec_node("components", "parameters", "Limit")["schema"]["maximum"]
    )


def test_max_wait_seconds_setting_is_bounded_by_the_spec(tmp_path: Path) -> None:
    most = parameter("/api/distributed_brain/result", "get", "wait")["maximum"]
    env = {"EVOSPIKENET_DATA_DIR": str(tmp_path)}
    Settings.from_env({**env, "EVOSPIKENET_MAX_WAIT_SECONDS": str(most)})
    with pytest.raises(SettingsError, match=f"at most {most}"):
        Settings.from_env({**env, "EVOSPIKENET_MAX_WAIT_SECONDS": str(most + 1)})


def test_remote_log_limits_are_the_spec_ones() -> None:
    assert prop("RemoteLogRequest", "lines")["default"] == remote_log.DEFAULT_LINES
    assert prop("RemoteLogRequest", "lines")["maximum"] == remote_log.MAX_LINES
    assert prop("RemoteLogRequest", "log_file_path")["maxLength"] == remote_log.MAX_PATH_CHARS


def test_stored_columns_hold_what_the_spec_admits() -> None:
    ids = longest(schema("ResourceId")["pattern"])
    for table in (tables.SessionRow, tables.ArtifactRow, tables.PromptRow, tables.NodeRow):
        assert column_length(table, "id") >= ids
    assert column_length(tables.ArtifactRow, "name") >= schema("ArtifactName")["maxLength"]
    assert column_length(tables.NodeRow, "host") >= prop("NodeReport", "host")["maxLength"]
    # identifier patterns: one leading character, then up to {0,n} more
    for table, column, name in (
        (tables.ArtifactRow, "artifact_type", "ArtifactType"),
        (tables.ArtifactRow, "llm_type", "LlmType"),
        (tables.NodeRow, "type", "NodeType"),
    ):
        assert column_length(table, column) >= 1 + longest(schema(name)["pattern"]), column


def test_blob_names_use_the_spec_sha256_pattern() -> None:
    assert blobstore._SHA256.pattern == prop("ArtifactUpload", "sha256")["pattern"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GenerateRequest", {"max_length": 50, "temperature": 1.0, "stream": False}),
        ("PromptRequest", {"priority": 5}),
        ("RemoteLogRequest", {"lines": 100}),
        ("SessionCreate", {}),
    ],
)
def test_body_defaults_come_from_the_spec(name: str, expected: dict[str, Any]) -> None:
    defaults = schema_defaults(name)
    assert defaults == {
        field: node["default"]
        for field, node in schema(name)["properties"].items()
        if "default" in node
    }
    assert defaults == expected  # today's values, so a change to them is seen in review


def test_spec_node_names_a_missing_path() -> None:
    with pytest.raises(KeyError, match="components/schemas/NoSuchThing"):
        spec_node("components", "schemas", "NoSuchThing", "pattern")
