"""Request validation against the contract's own JSON Schemas (the spec is the one truth).

Bodies are checked with JSON Schema 2020-12 exactly as the spec states them: explicit nulls for
non-nullable fields, booleans for integers and strings for numbers are rejected; whole floats
such as ``487.0`` are integers, as JSON Schema says. Query, path and header parameters are
converted from text by their schema type, then checked the same way. Every failing field is named
(``body.max_length``, ``query.limit``, ``header.Idempotency-Key``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.requests import Request

from evospikenet.server.errors import ApiError, unparsable

SPEC_URI = "urn:evospikenet:openapi"


def _field(prefix: str, path: list[Any]) -> str:
    return ".".join([prefix, *(str(part) for part in path)])


def _describe(error: ValidationError, prefix: str) -> list[dict[str, str]]:
    path = list(error.absolute_path)
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [
            {"field": _field(prefix, [*path, name]), "message": "is required", "type": "missing"}
            for name in error.validator_value
            if name not in instance
        ]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        return [
            {
                "field": _field(prefix, [*path, name]),
                "message": "is not a known field",
                "type": "extra_forbidden",
            }
            for name in error.instance
            if name not in known
        ]
    if error.validator == "anyOf" and all("required" in option for option in error.validator_value):
        names = [name for option in error.validator_value for name in option["required"]]
        return [
            {
                "field": _field(prefix, path),
                "message": f"at least one of {', '.join(names)} is required",
                "type": "missing",
            }
        ]
    message = error.message
    if error.validator == "type" and error.instance is None:
        message = "must not be null"
    if len(message) > 300:
        message = message[:300] + "..."
    return [{"field": _field(prefix, path), "message": message, "type": str(error.validator)}]


class Contract:
    """Validators for the schemas and operations of one OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self._registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._operations: dict[str, dict[str, Any]] = {}
        for item in spec["paths"].values():
            shared = item.get("parameters", [])
            for operation in item.values():
                if isinstance(operation, dict) and "operationId" in operation:
                    params = [self._deref(p) for p in [*shared, *operation.get("parameters", [])]]
                    self._operations[operation["operationId"]] = {"parameters": params}

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry
            )
            self._validators[pointer] = validator
        return validator

    def errors_for(self, pointer: str, value: Any, prefix: str) -> list[dict[str, str]]:
        """Every failing field of ``value`` against the schema at ``pointer``."""
        found: list[dict[str, str]] = []
        for error in self._validator(pointer).iter_errors(value):
            for item in _describe(error, prefix):
                if item not in found:
                    found.append(item)
        return sorted(found, key=lambda item: item["field"])

    def validate_schema(self, name: str, value: Any, prefix: str = "body") -> None:
        """Raise a 422 naming every failing field of ``value`` against schema ``name``."""
        errors = self.errors_for(f"/components/schemas/{name}", value, prefix)
        if errors:
            raise _validation(errors)

    def parameters(self, operation_id: str, request: Request) -> dict[str, Any]:
        """The operation's path, query and header parameters, converted, checked, defaulted."""
        values: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        for param in self._operations[operation_id]["parameters"]:
            name, where = param["name"], param["in"]
            schema = self._deref(param.get("schema", {}))
            if where == "query":
                raw = request.query_params.getlist(name)
                text = raw[-1] if raw else None
            elif where == "path":
                text = request.path_params.get(name)
            elif where == "header":
                text = request.headers.get(name)
            else:
                continue
            field = f"{where}.{name}"
            if text is None:
                if param.get("required"):
                    errors.append({"field": field, "message": "is required", "type": "missing"})
                elif "default" in schema:
                    values[name] = schema["default"]
                else:
                    values[name] = None
                continue
            converted, problem = _convert(text, schema.get("type"))
            if problem:
                errors.append({"field": field, "message": problem, "type": "type"})
                continue
            for error in Draft202012Validator(schema, registry=self._registry).iter_errors(
                converted
            ):
                errors.extend(_describe(error, field))
            values[name] = converted
        if errors:
            raise _validation(errors)
        return values


def _validation(errors: list[dict[str, str]]) -> ApiError:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    return ApiError(422, "VAL_001", f"Invalid request: {detail}", kind="validation", errors=errors)


def _convert(text: str, kind: Any) -> tuple[Any, str | None]:
    if kind == "integer":
        try:
            return int(text), None
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None, "must be an integer"
            if math.isfinite(number) and number.is_integer():
                return int(number), None
            return None, "must be an integer"
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return None, "must be a number"
        if not math.isfinite(number):
            return None, "must be a finite number"
        return number, None
    if kind == "boolean":
        if text in {"true", "false"}:
            return text == "true", None
        return None, "must be true or false"
    return text, None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, max_bytes: int) -> Any:
    """The JSON body: 400 ``VAL_002`` when it is not UTF-8 JSON, 413 past ``max_bytes``."""
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise unparsable(f"Content-Type must be application/json, got {media_type or 'none'}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "MEDIA_001", f"the body exceeds {max_bytes} bytes", kind="too-large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(
                413, "MEDIA_001", f"the body exceeds {max_bytes} bytes", kind="too-large"
            )
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        raise unparsable("the request body is empty; a JSON object is required")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise unparsable("the request body is not valid UTF-8") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise unparsable(f"the request body is not valid JSON: {exc}") from None
