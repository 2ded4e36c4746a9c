"""Each call of the API, described once for both clients: its arguments checked (ValueError
naming the field), its request built by the generated package, and how its answer is read.

Methods, paths, query parameters, headers and bodies all come from the generated
``build_request`` functions; answers are decoded by the generated ``parse_response``.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import httpx

from evospikenet_api_client.api.artifacts import (
    download_artifact,
    get_artifact,
    list_artifacts,
    upload_artifact,
)
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
    ArtifactUpload,
    GenerateRequest,
    PromptRequest,
    RemoteLogRequest,
    SessionCreate,
)
from evospikenet_api_client.types import UNSET, File, Unset

from . import _contract as contract
from ._artifacts import DIGEST_PLACEHOLDER, UploadSource, UploadStream
from ._config import Timeout
from ._models import (
    Artifact,
    GenerateResult,
    Health,
    PromptAccepted,
    PromptResult,
    RemoteLog,
    ServerInfo,
    Session,
    SimulationStatus,
)
from ._progress import Progress
from ._sendfile import UPLOAD_EXTENSION

__all__ = ["Op", "Page", "RequestOptions"]

T = TypeVar("T")
OCTET_STREAM = "application/octet-stream"
EVENT_STREAM = "text/event-stream"


class _Decoded(Protocol):
    request_id: str | None


D = TypeVar("D", bound=_Decoded)


def new_idempotency_key() -> str:
    """A fresh key for one logical mutating call; reused by all its retries."""
    return f"sdk-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class RequestOptions:
    """How the engine sends one call. ``None`` means the client's setting.

    ``idempotency_key`` is the key the request carries (its header comes from the generated
    request); a mutating call with one may be retried, one without may not.
    """

    timeout: Timeout | None = None
    max_retries: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Op(Generic[T]):
    """One API call: the generated request (``httpx`` keyword arguments), how to read a
    successful answer, and the per-call options."""

    request: dict[str, Any]
    parse: Callable[[httpx.Response], T]
    options: RequestOptions = field(default_factory=RequestOptions)

    @property
    def method(self) -> str:
        """The HTTP method, upper case."""
        return str(self.request["method"]).upper()

    @property
    def path(self) -> str:
        """The path relative to the base URL."""
        return str(self.request["url"])


def check_str(field: str, value: object, *, allow_empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless allowed); else ValueError naming ``field``."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{field}: must not be empty")
    return value


def check_id(field: str, value: object) -> str:
    """An opaque id as the contract defines it; else ValueError naming ``field``."""
    text = check_str(field, value)
    if not contract.ID_PATTERN.match(text):
        raise ValueError(f"{field}: not a valid id ({contract.ID_PATTERN.pattern}): {text!r}")
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


def check_artifact_type(value: object) -> str:
    """A lowercase identifier such as ``model``; else ValueError."""
    text = check_str("artifact_type", value)
    if not contract.ARTIFACT_TYPE_PATTERN.match(text):
        raise ValueError(
            f"artifact_type: must be a lowercase identifier such as 'model', 'config', "
            f"'tokenizer' ({contract.ARTIFACT_TYPE_PATTERN.pattern}), got {text!r}"
        )
    return text


def check_llm_type(value: object) -> str:
    """An architecture name such as ``SpikingEvoTextLM``; else ValueError."""
    text = check_str("llm_type", value)
    if not contract.LLM_TYPE_PATTERN.match(text):
        raise ValueError(f"llm_type: must look like 'SpikingEvoTextLM', got {text!r}")
    return text


def _opt(value: T | None) -> T | Unset:
    return UNSET if value is None else value


def _one(parse: Callable[[httpx.Response], D]) -> Callable[[httpx.Response], D]:
    def read(response: httpx.Response) -> D:
        result = parse(response)
        result.request_id = response.headers.get("x-request-id")
        return result

    return read


def _page(parse: Callable[[httpx.Response], list[T]]) -> Callable[[httpx.Response], Page[T]]:
    def read(response: httpx.Response) -> Page[T]:
        return Page(parse(response), response.headers.get("x-next-cursor") or None)

    return read


def health(timeout: Timeout | None = None, max_retries: int | None = None) -> Op[Health]:
    """``getHealth`` (``timeout`` and ``max_retries`` override the client's for this call)."""
    return Op(
        get_health.build_request(),
        _one(get_health.parse_response),
        RequestOptions(timeout=timeout, max_retries=max_retries),
    )


def server_info() -> Op[ServerInfo]:
    """``getServerInfo``."""
    return Op(get_server_info.build_request(), _one(get_server_info.parse_response))


@dataclass(frozen=True)
class Sampling:
    """``generateText``'s optional sampling fields, checked; None leaves a field to the
    server (its default, or the served model's)."""

    temperature: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None

    @classmethod
    def of(
        cls,
        temperature: object = None,
        top_k: object = None,
        seed: object = None,
        repetition_penalty: object = None,
    ) -> Sampling:
        """Checked fields; ValueError naming the bad one."""
        return cls(
            temperature=_number("temperature", temperature, above=0.0),
            top_k=check_int("top_k", top_k, minimum=1) if top_k is not None else None,
            seed=(
                check_int("seed", seed, minimum=0, maximum=contract.SEED_MAX)
                if seed is not None
                else None
            ),
            repetition_penalty=_number(
                "repetition_penalty",
                repetition_penalty,
                minimum=contract.REPETITION_PENALTY_MIN,
                maximum=contract.REPETITION_PENALTY_MAX,
            ),
        )


def _number(
    name: str,
    value: object,
    *,
    above: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | None:
    """``value`` as a float, None kept; ValueError naming ``name`` when out of bounds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{name}: must be a number, got {value!r}")
    if above is not None and not value > above:
        raise ValueError(f"{name}: must be a number > {above:g}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name}: must be a number in [{minimum:g}, {maximum:g}], got {value!r}")
    return float(value)


def generate(prompt: object, max_length: object, sampling: Sampling) -> Op[GenerateResult]:
    """``generateText``."""
    body = _generate_body(prompt, max_length, sampling)
    key = new_idempotency_key()
    return Op(
        generate_text.build_request(body=body, idempotency_key=key),
        _one(generate_text.parse_response),
        RequestOptions(idempotency_key=key),
    )


def generate_stream(prompt: object, max_length: object, sampling: Sampling) -> Op[None]:
    """``generateText`` with ``stream``: its ``text/event-stream`` body is read by the caller."""
    body = _generate_body(prompt, max_length, sampling, stream=True)
    key = new_idempotency_key()
    request = generate_text.build_request(body=body, idempotency_key=key)
    request["headers"]["Accept"] = EVENT_STREAM
    return Op(request, _no_body, RequestOptions(idempotency_key=key))


def _generate_body(
    prompt: object, max_length: object, sampling: Sampling, *, stream: bool = False
) -> GenerateRequest:
    return GenerateRequest(
        prompt=check_str("prompt", prompt),
        max_length=check_int("max_length", max_length, minimum=1),
        temperature=_opt(sampling.temperature),
        top_k=_opt(sampling.top_k),
        seed=_opt(sampling.seed),
        repetition_penalty=_opt(sampling.repetition_penalty),
        stream=True if stream else UNSET,
    )


def submit(
    prompt: str | None,
    image_b64: str | None,
    audio_b64: str | None,
    priority: int | None,
    session_id: str | None,
) -> Op[PromptAccepted]:
    """``submitPrompt`` (media already base64-encoded)."""
    if priority is not None:
        priority = check_int(
            "priority", priority, minimum=contract.PRIORITY_MIN, maximum=contract.PRIORITY_MAX
        )
    body = PromptRequest(
        prompt=_opt(prompt),
        image=_opt(image_b64),
        audio=_opt(audio_b64),
        priority=_opt(priority),
        session_id=_opt(check_id("session_id", session_id) if session_id is not None else None),
    )
    key = new_idempotency_key()
    return Op(
        submit_prompt.build_request(body=body, idempotency_key=key),
        _one(submit_prompt.parse_response),
        RequestOptions(idempotency_key=key),
    )


def prompt_result(prompt_id: str | None, wait: float, timeout: Timeout) -> Op[PromptResult]:
    """``getPromptResult`` (long-polls ``wait`` seconds; ``timeout`` allows for it)."""
    pid = check_id("prompt_id", prompt_id) if prompt_id is not None else None
    wait_arg: float | Unset = round(wait, 3) if wait > 0 else UNSET
    return Op(
        get_prompt_result.build_request(prompt_id=_opt(pid), wait=wait_arg),
        _one(get_prompt_result.parse_response),
        RequestOptions(timeout=timeout),
    )


def simulation_status() -> Op[SimulationStatus]:
    """``getSimulationStatus``."""
    return Op(get_simulation_status.build_request(), _one(get_simulation_status.parse_response))


def remote_log(
    user: object, ip: object, key_path: object, log_file_path: object, lines: int | None
) -> Op[RemoteLog]:
    """``getRemoteLog``."""
    body = RemoteLogRequest(
        user=check_str("user", user),
        ip=check_str("ip", ip),
        key_path=check_str("key_path", key_path, allow_empty=True),
        log_file_path=check_str("log_file_path", log_file_path),
        lines=_opt(check_int("lines", lines, minimum=1) if lines is not None else None),
    )
    key = new_idempotency_key()
    return Op(
        get_remote_log.build_request(body=body, idempotency_key=key),
        _one(get_remote_log.parse_response),
        RequestOptions(idempotency_key=key),
    )


def new_session(description: object) -> Op[Session]:
    """``createSession``."""
    body = SessionCreate(description=check_str("description", description, allow_empty=True))
    key = new_idempotency_key()
    return Op(
        create_session.build_request(body=body, idempotency_key=key),
        _one(create_session.parse_response),
        RequestOptions(idempotency_key=key),
    )


def session(session_id: object) -> Op[Session]:
    """``getSession``."""
    sid = check_id("session_id", session_id)
    return Op(get_session.build_request(sid), _one(get_session.parse_response))


def _limit_and_cursor(limit: int | None, cursor: str | None) -> tuple[int | Unset, str | Unset]:
    lim = (
        check_int("page_size", limit, minimum=1, maximum=contract.MAX_PAGE_SIZE)
        if limit is not None
        else None
    )
    cur = check_str("cursor", cursor) if cursor is not None else None
    if cur is not None and not contract.CURSOR_PATTERN.match(cur):
        raise ValueError(f"cursor: not a cursor returned by the server: {cur!r}")
    return _opt(lim), _opt(cur)


def sessions_page(limit: int | None, cursor: str | None) -> Op[Page[Session]]:
    """``listSessions``: one page."""
    lim, cur = _limit_and_cursor(limit, cursor)
    return Op(
        list_sessions.build_request(limit=lim, cursor=cur), _page(list_sessions.parse_response)
    )


def session_artifacts_page(
    session_id: object, limit: int | None, cursor: str | None
) -> Op[Page[Artifact]]:
    """``listSessionArtifacts``: one page."""
    sid = check_id("session_id", session_id)
    lim, cur = _limit_and_cursor(limit, cursor)
    return Op(
        list_session_artifacts.build_request(sid, limit=lim, cursor=cur),
        _page(list_session_artifacts.parse_response),
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


def artifacts_page(
    filters: ArtifactFilter, limit: int | None, cursor: str | None
) -> Op[Page[Artifact]]:
    """``listArtifacts``: one page, newest first."""
    lim, cur = _limit_and_cursor(limit, cursor)
    return Op(
        list_artifacts.build_request(
            artifact_type=_opt(filters.artifact_type),
            session_id=_opt(filters.session_id),
            llm_type=_opt(filters.llm_type),
            name=_opt(filters.name),
            limit=lim,
            cursor=cur,
        ),
        _page(list_artifacts.parse_response),
    )


def artifact(artifact_id: object) -> Op[Artifact]:
    """``getArtifact``."""
    aid = check_id("artifact_id", artifact_id)
    return Op(get_artifact.build_request(aid), _one(get_artifact.parse_response))


@dataclass(frozen=True)
class UploadForm:
    """The text fields of an artifact upload, checked."""

    session_id: str
    artifact_type: str
    name: str
    llm_type: str | None

    @classmethod
    def of(
        cls, session_id: object, artifact_type: object, name: object, llm_type: object
    ) -> UploadForm:
        """Checked fields; ValueError naming the bad one."""
        text = check_str("name", name)
        if len(text) > contract.ARTIFACT_NAME_MAX or not contract.ARTIFACT_NAME_PATTERN.match(text):
            raise ValueError(
                f"name: at most {contract.ARTIFACT_NAME_MAX} characters, no control characters"
            )
        return cls(
            session_id=check_id("session_id", session_id),
            artifact_type=check_artifact_type(artifact_type),
            name=text,
            llm_type=check_llm_type(llm_type) if llm_type is not None else None,
        )


def upload(
    form: UploadForm,
    source: UploadSource,
    progress: Progress | None,
    stream: type[UploadStream],
    timeout: Timeout,
) -> Op[Artifact]:
    """``uploadArtifact`` in one pass: the contract's parts in its order, the file streamed
    and hashed as it is sent, its ``sha256`` after it for the server to verify (``stream``:
    :class:`UploadStream` or its async form). One random multipart boundary serves every
    retry, so each sends identical bytes (the server compares bodies sent under one
    Idempotency-Key). The client's own transport sends a file on disk over plain http with
    ``sendfile`` (see :mod:`._sendfile`)."""
    body = ArtifactUpload(
        session_id=form.session_id,
        artifact_type=form.artifact_type,
        name=form.name,
        file=File(payload=io.BytesIO(), file_name=source.filename, mime_type=OCTET_STREAM),
        llm_type=_opt(form.llm_type),
        sha256=DIGEST_PLACEHOLDER,
    )
    key = new_idempotency_key()
    request = upload_artifact.build_request(body=body, idempotency_key=key)
    content = stream(request.pop("files"), source, progress, secrets.token_hex(16))
    request["content"] = content
    request["headers"]["Content-Type"] = content.content_type
    request["headers"]["Content-Length"] = str(content.length)
    request["extensions"] = {UPLOAD_EXTENSION: content}  # sent with sendfile where it can be
    return Op(
        request,
        _one(upload_artifact.parse_response),
        RequestOptions(timeout=timeout, idempotency_key=key),
    )


def download(artifact_id: str, resume_from: int, timeout: Timeout) -> Op[None]:
    """``downloadArtifact`` as a stream: from byte ``resume_from`` (a ``Range`` request) when
    it is above 0. Its body is read by the caller, never decoded here."""
    request = download_artifact.build_request(
        artifact_id, range_=f"bytes={resume_from}-" if resume_from > 0 else UNSET
    )
    request["headers"].update({"Accept": OCTET_STREAM, "Accept-Encoding": "identity"})
    return Op(request, _no_body, RequestOptions(timeout=timeout))


def _no_body(response: httpx.Response) -> None:
    return None
