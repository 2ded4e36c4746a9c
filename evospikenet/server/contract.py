"""Request validation against the contract's own JSON Schemas (the spec is the one truth).

Bodies are checked with JSON Schema 2020-12 exactly as the spec states them: explicit nulls for
non-nullable fields, booleans for integers and strings for numbers are rejected; whole floats
such as ``487.0`` are integers, as JSON Schema says. Query, path and header parameters are
converted from text by their schema type, then checked the same way. Every failing field is named
(``body.max_length``, ``query.limit``, ``header.Idempotency-Key``).

Every string a client sends must also be storable text, whatever the schema says: no NUL, no
lone surrogate (``"\\ud800"`` in JSON), query values that percent-decode to UTF-8, header values
without control characters whose bytes are UTF-8. Such a value is a 422 naming the field.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.requests import Request

from evospikenet.server import jsonbody
from evospikenet.server.errors import ApiError, safe_text, unparsable
from evospikenet.server.offload import run_cpu_steps, run_steps

SPEC_URI = "urn:evospikenet:openapi"
INLINE_PARSE_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop; larger ones in a worker thread."""
MAX_QUERY_PARAMS = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEADER_INVALID = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # not allowed in an RFC 9110 field value


def _field(prefix: str, path: list[Any]) -> str:
    return ".".join([prefix, *(safe_text(str(part)) for part in path)])


def text_problem(text: str) -> str | None:
    """Why ``text`` is not storable text (a NUL, a lone surrogate), or None. Fast on long ASCII
    strings such as base64 media (``isascii`` is O(1), ``in`` is a memchr)."""
    if "\x00" in text:
        return "must not contain NUL (U+0000)"
    if not text.isascii() and _SURROGATE.search(text):
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def text_errors(value: Any, prefix: str) -> list[dict[str, str]]:
    """An error for every string in a JSON value (object keys too) that is not storable text."""
    found: list[dict[str, str]] = []
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        field, node = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                found.append({"field": field, "message": problem, "type": "text"})
        elif isinstance(node, dict):
            for key, item in node.items():
                name = f"{field}.{safe_text(key)}"
                problem = text_problem(key)
                if problem:
                    found.append({"field": name, "message": f"its name {problem}", "type": "text"})
                stack.append((name, item))
        elif isinstance(node, list):
            stack.extend((f"{field}.{index}", item) for index, item in enumerate(node))
    return found


def _query_values(
    raw: bytes, declared: set[str]
) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """The query string percent-decoded strictly as UTF-8 (Starlette silently replaces bad
    bytes with U+FFFD); errors for declared parameters whose bytes are not UTF-8."""
    values: dict[str, list[str]] = {}
    errors: list[dict[str, str]] = []
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "replace")
        if name not in declared:
            continue
        try:
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            errors.append(
                {"field": f"query.{name}", "message": "is not UTF-8 text", "type": "text"}
            )
            continue
        values.setdefault(name, []).append(value)
    return values, errors


def _header_value(text: str) -> tuple[str, str | None]:
    """A header parameter's text (its bytes read as UTF-8) or why it is refused."""
    if _HEADER_INVALID.search(text):
        return text, "contains a control character"
    if text.isascii():
        return text, None
    try:
        return text.encode("latin-1").decode("utf-8"), None
    except UnicodeError:
        return text, "is not UTF-8 text"


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
        """Raise a 422 naming every failing field of ``value`` against schema ``name`` (and
        every string in it that is not storable text)."""
        errors = text_errors(value, prefix)
        errors += [
            e
            for e in self.errors_for(f"/components/schemas/{name}", value, prefix)
            if e not in errors
        ]
        if errors:
            raise _validation(sorted(errors, key=lambda item: item["field"]))

    def check_known_property(self, schema: str, name: str, prefix: str = "body") -> None:
        """Raise a 422 when ``schema`` has no property ``name`` (the server knows no others,
        whether or not the schema is closed)."""
        if name not in self.spec["components"]["schemas"][schema].get("properties", {}):
            field = f"{prefix}.{safe_text(name)}"
            raise _validation(
                [{"field": field, "message": "is not a known field", "type": "extra_forbidden"}]
            )

    def validate_property(self, schema: str, name: str, value: Any, prefix: str = "body") -> None:
        """Raise a 422 when ``value`` fails property ``name`` of schema ``schema``."""
        self.check_known_property(schema, name, prefix)
        field = f"{prefix}.{name}"
        errors = text_errors(value, field)
        errors += self.errors_for(f"/components/schemas/{schema}/properties/{name}", value, field)
        if errors:
            raise _validation(errors)

    def fields_of_type(self, schema: str, ref: str) -> tuple[str, ...]:
        """The properties of ``schema`` that are a ``$ref`` to schema ``ref``."""
        target = f"#/components/schemas/{ref}"
        properties = self.spec["components"]["schemas"][schema].get("properties", {})
        return tuple(name for name, node in properties.items() if node.get("$ref") == target)

    def parameters(self, operation_id: str, request: Request) -> dict[str, Any]:
        """The operation's path, query and header parameters, converted, checked, defaulted."""
        values: dict[str, Any] = {}
        params = self._operations[operation_id]["parameters"]
        declared = {p["name"] for p in params if p["in"] == "query"}
        query, errors = _query_values(request.scope.get("query_string", b""), declared)
        refused = {e["field"] for e in errors}
        for param in params:
            name, where = param["name"], param["in"]
            schema = self._deref(param.get("schema", {}))
            field = f"{where}.{name}"
            problem: str | None = None
            if where == "query":
                raw = query.get(name)
                text = raw[-1] if raw else None
            elif where == "path":
                text = request.path_params.get(name)
            elif where == "header":
                text = request.headers.get(name)
                if text is not None:
                    text, problem = _header_value(text)
            else:
                continue
            if text is not None and problem is None:
                problem = text_problem(text)
            if problem:
                errors.append({"field": field, "message": problem, "type": "text"})
                continue
            if text is None and field in refused:
                continue
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


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def check_content_encoding(request: Request) -> None:
    """400 ``VAL_002`` for a compressed body: the server never inflates request bodies (no
    decompression bombs), so it cannot read one."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in {"", "identity"}:
        raise unparsable(
            f"Content-Encoding {safe_text(encoding)[:40]!r} is not supported; send the body "
            "uncompressed"
        )


async def read_body(request: Request, max_bytes: int) -> jsonbody.Body:
    """The JSON body: 400 ``VAL_002`` for a Content-Type other than JSON or a compressed body,
    413 ``MEDIA_001`` past ``max_bytes``.

    Chunks are kept in a ``jsonbody.BodyBuffer`` as they arrive; a large body is put together
    in a worker thread, without megabyte-long GIL holds."""
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise unparsable(f"Content-Type must be application/json, got {media_type or 'none'}")
    check_content_encoding(request)
    declared = request.headers.get("content-length")
    length = int(declared) if declared is not None and declared.isdigit() else None
    if length is not None and length > max_bytes:
        raise ApiError(413, "MEDIA_001", f"the body exceeds {max_bytes} bytes", kind="too-large")
    body = jsonbody.BodyBuffer()
    async for chunk in request.stream():
        if body.size + len(chunk) > max_bytes:
            raise ApiError(
                413, "MEDIA_001", f"the body exceeds {max_bytes} bytes", kind="too-large"
            )
        body.append(chunk)
    if body.size < jsonbody.MAPPED_BYTES:
        return run_steps(body.contents())
    return await run_cpu_steps(body.contents())


def parse_json(raw: jsonbody.Body, keep: frozenset[str] = frozenset()) -> Any:
    """The parsed body: 400 ``VAL_002`` when it is empty, not UTF-8 or not JSON (blocking).
    Long strings of the top-level members in ``keep`` come back as ``jsonbody.LongString``."""
    if not raw:
        raise unparsable("the request body is empty; a JSON object is required")
    try:
        return jsonbody.loads(raw, _DECODER, keep)
    except UnicodeDecodeError:
        raise unparsable("the request body is not valid UTF-8") from None
    except RecursionError:
        raise unparsable("the request body nests too deeply") from None
    except ValueError as exc:
        raise unparsable(f"the request body is not valid JSON: {exc}") from None
