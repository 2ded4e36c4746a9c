"""The OpenAPI contract is valid and every operation documents what a client needs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from spec_loader import load_spec, operations, resolve

SPEC = load_spec()
OPERATIONS = list(operations(SPEC))
IDS = [f"{method.upper()} {path}" for method, path, _ in OPERATIONS]

# The operations of issue 2, with the original's paths where they are known.
EXPECTED = {
    ("get", "/api/health"): "getHealth",
    ("get", "/api/info"): "getServerInfo",
    ("post", "/api/generate"): "generateText",
    ("post", "/api/distributed_brain/prompt"): "submitPrompt",
    ("get", "/api/distributed_brain/result"): "getPromptResult",
    ("get", "/api/distributed_brain/status"): "getSimulationStatus",
    ("post", "/api/distributed_brain/status"): "reportNodeStatus",
    ("post", "/api/distributed_brain/remote_log"): "getRemoteLog",
    ("post", "/api/sessions"): "createSession",
    ("get", "/api/sessions"): "listSessions",
    ("get", "/api/sessions/{session_id}"): "getSession",
    ("get", "/api/sessions/{session_id}/artifacts"): "listSessionArtifacts",
    ("post", "/api/artifacts"): "uploadArtifact",
    ("get", "/api/artifacts"): "listArtifacts",
    ("get", "/api/artifacts/{artifact_id}"): "getArtifact",
    ("get", "/api/artifacts/{artifact_id}/download"): "downloadArtifact",
}
# Published by the original (see docs/original-api.md); everything else is our choice.
ORIGINAL = {
    ("get", "/api/health"),
    ("post", "/api/generate"),
    ("post", "/api/distributed_brain/prompt"),
    ("get", "/api/distributed_brain/result"),
    ("get", "/api/distributed_brain/status"),
    ("post", "/api/distributed_brain/remote_log"),
    ("get", "/api/artifacts"),
    ("get", "/api/artifacts/{artifact_id}/download"),
}


def response_codes(operation: dict[str, Any]) -> set[str]:
    return set(operation["responses"])


def test_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"] == "3.1.0"
    validate(SPEC)


def test_operations_are_exactly_the_expected_ones() -> None:
    found = {(method, path): op["operationId"] for method, path, op in OPERATIONS}
    assert found == EXPECTED


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_operation_has_tag_summary_and_known_tag(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    declared = {tag["name"] for tag in SPEC["tags"]}
    assert operation.get("tags"), "every operation needs a tag"
    assert set(operation["tags"]) <= declared
    assert operation.get("summary")


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_x_compat_marks_exactly_the_unpublished_operations(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    if (method, path) in ORIGINAL:
        assert "x-compat" not in operation
    else:
        assert operation.get("x-compat") == "chosen"


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_error_is_a_shared_problem_response(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    for code, response in operation["responses"].items():
        if int(code) < 400:
            continue
        assert "$ref" in response, f"{code} must $ref a shared response"
        resolved = resolve(SPEC, response)
        schema = resolved["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_documented_errors_cover_what_the_operation_can_return(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    codes = response_codes(operation)
    authenticated = operation.get("security", SPEC["security"]) != []
    if authenticated:
        assert {"401", "403"} <= codes
    else:
        assert path == "/api/health"
    assert {"429", "503"} <= codes
    if "requestBody" in operation or operation.get("parameters"):
        assert "422" in codes
    if "requestBody" in operation:
        assert "400" in codes
    if "{" in path:
        assert "404" in codes


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=IDS)
def test_every_post_accepts_an_idempotency_key(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    refs = [param.get("$ref") for param in operation.get("parameters", [])]
    has_key = "#/components/parameters/IdempotencyKey" in refs
    assert has_key == (method == "post")
    if method == "post":
        assert "409" in response_codes(operation)


def test_retry_after_is_documented_for_429_and_503() -> None:
    responses = SPEC["components"]["responses"]
    for name in ("TooManyRequests", "ServiceUnavailable"):
        assert "Retry-After" in responses[name]["headers"]


def test_problem_schema_follows_rfc_9457_with_a_code_and_field_errors() -> None:
    problem = SPEC["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert re.fullmatch(problem["properties"]["code"]["pattern"], "VAL_001")


def test_api_key_header_secures_everything_but_health() -> None:
    scheme = SPEC["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    assert SPEC["security"] == [{"ApiKeyAuth": []}]
    unsecured = [path for _, path, op in OPERATIONS if op.get("security") == []]
    assert unsecured == ["/api/health"]


def test_links_connect_create_to_read_flows() -> None:
    def links(path: str, method: str, status: str) -> dict[str, Any]:
        return SPEC["paths"][path][method]["responses"][status]["links"]

    session_links = links("/api/sessions", "post", "201")
    assert session_links["UploadArtifact"]["operationId"] == "uploadArtifact"
    assert session_links["GetSession"]["operationId"] == "getSession"
    upload_links = links("/api/artifacts", "post", "201")
    assert upload_links["DownloadArtifact"]["operationId"] == "downloadArtifact"
    prompt_links = links("/api/distributed_brain/prompt", "post", "202")
    assert prompt_links["GetPromptResult"]["parameters"] == {
        "prompt_id": "$response.body#/prompt_id"
    }


def test_artifact_type_is_a_lowercase_identifier_with_documented_well_known_values() -> None:
    artifact_type = SPEC["components"]["schemas"]["ArtifactType"]
    for value in (
        "model",
        "config",
        "tokenizer",
        "dataset",
        "checkpoint",
        "log",
        "simulation_data",
    ):
        assert re.fullmatch(artifact_type["pattern"], value)
        assert f"`{value}`" in artifact_type["description"]
    assert not re.fullmatch(artifact_type["pattern"], "Model")
    assert not re.fullmatch(artifact_type["pattern"], "../model")


def test_binary_fields_use_format_binary_not_content_media_type() -> None:
    upload = SPEC["components"]["schemas"]["ArtifactUpload"]["properties"]["file"]
    assert upload == {**upload, "type": "string", "format": "binary"}
    download = SPEC["paths"]["/api/artifacts/{artifact_id}/download"]["get"]["responses"]
    for status in ("200", "206"):
        schema = download[status]["content"]["application/octet-stream"]["schema"]
        assert schema == {"type": "string", "format": "binary"}


def test_opaque_ids_cursors_and_base64_have_patterns() -> None:
    schemas = SPEC["components"]["schemas"]
    parameters = SPEC["components"]["parameters"]
    assert schemas["ResourceId"]["pattern"]
    assert parameters["Cursor"]["schema"]["pattern"]
    assert schemas["Base64Media"]["pattern"]


def test_prompt_request_requires_at_least_one_modality() -> None:
    from jsonschema import Draft202012Validator

    schema = SPEC["components"]["schemas"]["PromptRequest"]
    schema = {
        **schema,
        "properties": {
            **schema["properties"],
            "image": {"type": "string"},
            "audio": {"type": "string"},
            "session_id": {},
        },
    }
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"prompt": "hello"})
    assert validator.is_valid({"image": "aGVsbG8="})
    assert validator.is_valid({"audio": "aGVsbG8=", "priority": 1})
    assert not validator.is_valid({})
    assert not validator.is_valid({"priority": 3})
