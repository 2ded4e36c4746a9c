"""Each JSON call of the API, described once for both clients: arguments checked (ValueError
naming the field), the generated operation to send, and the result type to build."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from evospikenet_api_client import Client
from evospikenet_api_client.api.artifacts import get_artifact, list_artifacts
from evospikenet_api_client.api.distributed_brain import (
    get_prompt_result,
    get_remote_log,
    get_simulation_status,
    submit_prompt,
)
from evospikenet_api_client.api.generation import generate_text
from evospikenet_api_client.api.health import get_health, get_server_info
from evospikenet_api_client.api.sessions import (
    create_session,
    get_session,
    list_session_artifacts,
    list_sessions,
)
from evospikenet_api_client.models import (
    GenerateRequest,
    PromptRequest,
    RemoteLogRequest,
    SessionCreate,
)
from evospikenet_api_client.types import UNSET, Unset

from ._base_client import new_idempotency_key
from ._config import Timeout
from ._types import (
    APIObject,
    Artifact,
    GenerateResult,
    Health,
    PromptAccepted,
    PromptResult,
    RemoteLog,
    ServerInfo,
    Session,
    SimulationStatus,
    build_list,
    build_object,
)

__all__ = ["Op", "Page"]

T = TypeVar("T")
ObjT = TypeVar("ObjT", bound=APIObject)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LLM_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Op(Generic[T]):
    """One API call: how to send it on either client and how to read its answer."""

    method: str
    url: str
    send: Callable[[Client], Any]
    asend: Callable[[Client], Awaitable[Any]]
    build: Callable[[Any, Mapping[str, str]], T]
    idempotency_key: str | None = None
    timeout: Timeout | None = None


def check_str(field: str, value: object, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless allowed); else ValueError naming ``field``."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{field}: must not be empty")
    return value


def check_id(field: str, value: object) -> str:
    """An opaque id (``[A-Za-z0-9_-]{1,64}``); else ValueError naming ``field``."""
    text = check_str(field, value)
    if not _ID.match(text):
        raise ValueError(f"{field}: not a valid id (1-64 of A-Z a-z 0-9 _ -): {text!r}")
    return text


def check_int(field: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An int within bounds (whole floats accepted); else ValueError naming ``field``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field}: expected an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{field}: must be {bound}, got {value}")
    return value


def _opt(value: T | None) -> T | Unset:
    return UNSET if value is None else value


def _one(cls: type[ObjT]) -> Callable[[Any, Mapping[str, str]], ObjT]:
    def build(data: Any, headers: Mapping[str, str]) -> ObjT:
        obj = build_object(cls, data)
        obj.request_id = headers.get("x-request-id")
        return obj

    return build


def _page(cls: type[ObjT]) -> Callable[[Any, Mapping[str, str]], Page[ObjT]]:
    def build(data: Any, headers: Mapping[str, str]) -> Page[ObjT]:
        items = build_list(cls, data)
        return Page(items, headers.get("x-next-cursor") or None)

    return build


def health(timeout: Timeout | None = None) -> Op[Health]:
    """``GET /api/health`` (``timeout`` overrides the client's for this call)."""
    return Op(
        "GET",
        "/api/health",
        lambda c: get_health.sync_detailed(client=c),
        lambda c: get_health.asyncio_detailed(client=c),
        _one(Health),
        timeout=timeout,
    )


def server_info() -> Op[ServerInfo]:
    """``GET /api/info``."""
    return Op(
        "GET",
        "/api/info",
        lambda c: get_server_info.sync_detailed(client=c),
        lambda c: get_server_info.asyncio_detailed(client=c),
        _one(ServerInfo),
    )


def generate(
    prompt: object,
    max_length: object,
    temperature: float | None,
    top_k: int | None,
    seed: int | None,
) -> Op[GenerateResult]:
    """``POST /api/generate``."""
    text = check_str("prompt", prompt)
    length = check_int("max_length", max_length, minimum=1)
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not temperature > 0
    ):
        raise ValueError(f"temperature: must be a number > 0, got {temperature!r}")
    k = check_int("top_k", top_k, minimum=1) if top_k is not None else None
    s = check_int("seed", seed, minimum=0, maximum=2**32 - 1) if seed is not None else None
    body = GenerateRequest(
        prompt=text,
        max_length=length,
        temperature=_opt(float(temperature) if temperature is not None else None),
        top_k=_opt(k),
        seed=_opt(s),
    )
    key = new_idempotency_key()
    return Op(
        "POST",
        "/api/generate",
        lambda c: generate_text.sync_detailed(client=c, body=body, idempotency_key=key),
        lambda c: generate_text.asyncio_detailed(client=c, body=body, idempotency_key=key),
        _one(GenerateResult),
        idempotency_key=key,
    )


def submit(
    prompt: str | None,
    image_b64: str | None,
    audio_b64: str | None,
    priority: int | None,
    session_id: str | None,
) -> Op[PromptAccepted]:
    """``POST /api/distributed_brain/prompt`` (media already base64-encoded)."""
    body = PromptRequest(
        prompt=_opt(prompt),
        image=_opt(image_b64),
        audio=_opt(audio_b64),
        priority=_opt(
            check_int("priority", priority, minimum=0, maximum=9) if priority is not None else None
        ),
        session_id=_opt(check_id("session_id", session_id) if session_id is not None else None),
    )
    key = new_idempotency_key()
    return Op(
        "POST",
        "/api/distributed_brain/prompt",
        lambda c: submit_prompt.sync_detailed(client=c, body=body, idempotency_key=key),
        lambda c: submit_prompt.asyncio_detailed(client=c, body=body, idempotency_key=key),
        _one(PromptAccepted),
        idempotency_key=key,
    )


def prompt_result(prompt_id: str | None, wait: float, read_timeout: Timeout) -> Op[PromptResult]:
    """``GET /api/distributed_brain/result`` (long-polls ``wait`` seconds)."""
    pid = check_id("prompt_id", prompt_id) if prompt_id is not None else None
    wait_arg: float | Unset = round(wait, 3) if wait > 0 else UNSET
    return Op(
        "GET",
        "/api/distributed_brain/result",
        lambda c: get_prompt_result.sync_detailed(client=c, prompt_id=_opt(pid), wait=wait_arg),
        lambda c: get_prompt_result.asyncio_detailed(client=c, prompt_id=_opt(pid), wait=wait_arg),
        _one(PromptResult),
        timeout=read_timeout,
    )


def simulation_status() -> Op[SimulationStatus]:
    """``GET /api/distributed_brain/status``."""
    return Op(
        "GET",
        "/api/distributed_brain/status",
        lambda c: get_simulation_status.sync_detailed(client=c),
        lambda c: get_simulation_status.asyncio_detailed(client=c),
        _one(SimulationStatus),
    )


def remote_log(
    user: object, ip: object, key_path: object, log_file_path: object, lines: int | None
) -> Op[RemoteLog]:
    """``POST /api/distributed_brain/remote_log``."""
    body = RemoteLogRequest(
        user=check_str("user", user),
        ip=check_str("ip", ip),
        key_path=check_str("key_path", key_path, allow_empty=True),
        log_file_path=check_str("log_file_path", log_file_path),
        lines=_opt(check_int("lines", lines, minimum=1) if lines is not None else None),
    )
    key = new_idempotency_key()
    return Op(
        "POST",
        "/api/distributed_brain/remote_log",
        lambda c: get_remote_log.sync_detailed(client=c, body=body, idempotency_key=key),
        lambda c: get_remote_log.asyncio_detailed(client=c, body=body, idempotency_key=key),
        _one(RemoteLog),
        idempotency_key=key,
    )


def new_session(description: object) -> Op[Session]:
    """``POST /api/sessions``."""
    body = SessionCreate(description=check_str("description", description, allow_empty=True))
    key = new_idempotency_key()
    return Op(
        "POST",
        "/api/sessions",
        lambda c: create_session.sync_detailed(client=c, body=body, idempotency_key=key),
        lambda c: create_session.asyncio_detailed(client=c, body=body, idempotency_key=key),
        _one(Session),
        idempotency_key=key,
    )


def session(session_id: object) -> Op[Session]:
    """``GET /api/sessions/{session_id}``."""
    sid = check_id("session_id", session_id)
    return Op(
        "GET",
        f"/api/sessions/{quote(sid)}",
        lambda c: get_session.sync_detailed(sid, client=c),
        lambda c: get_session.asyncio_detailed(sid, client=c),
        _one(Session),
    )


def _limit_and_cursor(limit: int | None, cursor: str | None) -> tuple[int | Unset, str | Unset]:
    lim = check_int("limit", limit, minimum=1) if limit is not None else None
    cur = check_str("cursor", cursor) if cursor is not None else None
    if cur is not None and not _CURSOR.match(cur):
        raise ValueError(f"cursor: not a cursor returned by the server: {cur!r}")
    return _opt(lim), _opt(cur)


def sessions_page(limit: int | None, cursor: str | None) -> Op[Page[Session]]:
    """``GET /api/sessions``: one page."""
    lim, cur = _limit_and_cursor(limit, cursor)
    return Op(
        "GET",
        "/api/sessions",
        lambda c: list_sessions.sync_detailed(client=c, limit=lim, cursor=cur),
        lambda c: list_sessions.asyncio_detailed(client=c, limit=lim, cursor=cur),
        _page(Session),
    )


def session_artifacts_page(
    session_id: object, limit: int | None, cursor: str | None
) -> Op[Page[Artifact]]:
    """``GET /api/sessions/{session_id}/artifacts``: one page."""
    sid = check_id("session_id", session_id)
    lim, cur = _limit_and_cursor(limit, cursor)
    return Op(
        "GET",
        f"/api/sessions/{quote(sid)}/artifacts",
        lambda c: list_session_artifacts.sync_detailed(sid, client=c, limit=lim, cursor=cur),
        lambda c: list_session_artifacts.asyncio_detailed(sid, client=c, limit=lim, cursor=cur),
        _page(Artifact),
    )


@dataclass(frozen=True)
class ArtifactFilter:
    """The filters of an artifact listing, checked."""

    artifact_type: str | None = None
    session_id: str | None = None
    llm_type: str | None = None
    name: str | None = None

    @classmethod
    def of(
        cls,
        artifact_type: object = None,
        session_id: object = None,
        llm_type: object = None,
        name: object = None,
    ) -> ArtifactFilter:
        """Checked filters; ValueError naming the bad one."""
        return cls(
            artifact_type=check_artifact_type(artifact_type) if artifact_type is not None else None,
            session_id=check_id("session_id", session_id) if session_id is not None else None,
            llm_type=check_llm_type(llm_type) if llm_type is not None else None,
            name=check_str("name", name) if name is not None else None,
        )


def check_artifact_type(value: object) -> str:
    """A lowercase identifier such as ``model``; else ValueError."""
    text = check_str("artifact_type", value)
    if not _TYPE.match(text):
        raise ValueError(
            f"artifact_type: must be a lowercase identifier such as 'model', 'config', "
            f"'tokenizer' (a-z, 0-9, _; starting with a letter), got {text!r}"
        )
    return text


def check_llm_type(value: object) -> str:
    """An architecture name such as ``SpikingEvoTextLM``; else ValueError."""
    text = check_str("llm_type", value)
    if not _LLM_TYPE.match(text):
        raise ValueError(f"llm_type: must look like 'SpikingEvoTextLM', got {text!r}")
    return text


def artifacts_page(
    filters: ArtifactFilter, limit: int | None, cursor: str | None
) -> Op[Page[Artifact]]:
    """``GET /api/artifacts``: one page, newest first."""
    lim, cur = _limit_and_cursor(limit, cursor)
    kwargs: dict[str, Any] = {
        "artifact_type": _opt(filters.artifact_type),
        "session_id": _opt(filters.session_id),
        "llm_type": _opt(filters.llm_type),
        "name": _opt(filters.name),
        "limit": lim,
        "cursor": cur,
    }
    return Op(
        "GET",
        "/api/artifacts",
        lambda c: list_artifacts.sync_detailed(client=c, **kwargs),
        lambda c: list_artifacts.asyncio_detailed(client=c, **kwargs),
        _page(Artifact),
    )


def artifact(artifact_id: object) -> Op[Artifact]:
    """``GET /api/artifacts/{artifact_id}``."""
    aid = check_id("artifact_id", artifact_id)
    return Op(
        "GET",
        f"/api/artifacts/{quote(aid)}",
        lambda c: get_artifact.sync_detailed(aid, client=c),
        lambda c: get_artifact.asyncio_detailed(aid, client=c),
        _one(Artifact),
    )


def upload_form(
    session_id: object, artifact_type: object, name: object, llm_type: object
) -> dict[str, str]:
    """The text fields of an artifact upload, checked; ValueError naming the bad one."""
    fields = {
        "session_id": check_id("session_id", session_id),
        "artifact_type": check_artifact_type(artifact_type),
        "name": check_str("name", name),
    }
    if len(fields["name"]) > 255 or any(ord(ch) < 32 or ord(ch) == 127 for ch in fields["name"]):
        raise ValueError("name: at most 255 characters, no control characters")
    if llm_type is not None:
        fields["llm_type"] = check_llm_type(llm_type)
    return fields
