"""What the API returns: dicts (as the SDK document uses them) with typed properties.

``result['generated_text']``, ``result.get('generated_text', '')`` and
``models[0]['artifact_id']`` work as in the document; ``result.generated_text`` and
``models[0].artifact_id`` are the typed spelling of the same values. Unknown keys from a newer
server are kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

__all__ = [
    "APIObject",
    "Artifact",
    "ClientStats",
    "FailedGeneration",
    "GenerateResult",
    "Health",
    "Limits",
    "NodeStatus",
    "PromptAccepted",
    "PromptResult",
    "RemoteLog",
    "ResponseShapeError",
    "ServerInfo",
    "Session",
    "SimulationStatus",
    "build_list",
    "build_object",
]

TERMINAL_PROMPT_STATES = frozenset({"completed", "failed"})


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class ResponseShapeError(ValueError):
    """A successful answer lacks what the SDK needs (a JSON object with the required keys)."""


class APIObject(dict[str, Any]):
    """A JSON object from the API. ``request_id`` is the server's ``X-Request-ID`` for it."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()
    request_id: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class Health(APIObject):
    """``GET /api/health``: overall and per-component state."""

    REQUIRED = ("status",)

    @property
    def status(self) -> str:
        """``healthy``, ``degraded`` or ``unhealthy``."""
        return str(self.get("status", ""))

    @property
    def version(self) -> str | None:
        """The server's version."""
        return _opt_str(self.get("version"))

    @property
    def components(self) -> dict[str, dict[str, Any]]:
        """Each component's ``{status, detail}``."""
        value = self.get("components")
        return value if isinstance(value, dict) else {}


class Limits(APIObject):
    """The server's limits (``ServerInfo.limits``)."""

    @property
    def max_prompt_chars(self) -> int | None:
        """Longest prompt, in characters."""
        return _opt_int(self.get("max_prompt_chars"))

    @property
    def max_upload_bytes(self) -> int | None:
        """Largest artifact upload, in bytes."""
        return _opt_int(self.get("max_upload_bytes"))

    @property
    def max_media_bytes(self) -> int | None:
        """Largest decoded image or audio of a prompt, in bytes."""
        return _opt_int(self.get("max_media_bytes"))

    @property
    def max_wait_seconds(self) -> float | None:
        """Longest long-poll wait, in seconds."""
        value = self.get("max_wait_seconds")
        return float(value) if isinstance(value, int | float) else None

    @property
    def max_page_size(self) -> int | None:
        """Largest page of a list."""
        return _opt_int(self.get("max_page_size"))

    @property
    def max_new_tokens(self) -> int | None:
        """Largest ``max_length`` of a generation."""
        return _opt_int(self.get("max_new_tokens"))


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ServerInfo(APIObject):
    """``GET /api/info``: versions, the model being served, and limits."""

    @property
    def version(self) -> str | None:
        """The server's version."""
        return _opt_str(self.get("version"))

    @property
    def api_version(self) -> str | None:
        """The API contract's version."""
        return _opt_str(self.get("api_version"))

    @property
    def model(self) -> dict[str, Any] | None:
        """The served model (llm_type, session_id, artifact_ids, config, ...), or None."""
        value = self.get("model")
        return value if isinstance(value, dict) else None

    @property
    def model_error(self) -> str | None:
        """Why the newest model could not be loaded, when it could not."""
        return _opt_str(self.get("model_error"))

    @property
    def limits(self) -> Limits:
        """The server's limits."""
        value = self.get("limits")
        return Limits(value if isinstance(value, dict) else {})


class GenerateResult(APIObject):
    """``generate()``: the text and how it was made."""

    REQUIRED = ("generated_text",)
    ok = True

    @property
    def generated_text(self) -> str:
        """The new text (the prompt is not repeated)."""
        return str(self["generated_text"])

    @property
    def prompt(self) -> str:
        """The prompt as sent."""
        return str(self.get("prompt", ""))

    @property
    def llm_type(self) -> str | None:
        """The architecture that generated it."""
        return _opt_str(self.get("llm_type"))

    @property
    def model_session_id(self) -> str | None:
        """The model session that was used."""
        return _opt_str(self.get("model_session_id"))

    @property
    def prompt_tokens(self) -> int | None:
        """Prompt tokens the model saw."""
        return _opt_int(self.get("prompt_tokens"))

    @property
    def generated_tokens(self) -> int | None:
        """New tokens generated."""
        return _opt_int(self.get("generated_tokens"))

    @property
    def prompt_truncated(self) -> bool:
        """True when the prompt was cut to fit the model's context."""
        return bool(self.get("prompt_truncated", False))


class FailedGeneration(APIObject):
    """A ``batch_generate()`` entry whose prompt failed: ``prompt``, ``error``, ``code``,
    ``status_code``; it has no ``generated_text`` key."""

    ok = False

    @property
    def prompt(self) -> str:
        """The prompt that failed."""
        return str(self.get("prompt", ""))

    @property
    def error(self) -> str:
        """Why it failed."""
        return str(self.get("error", ""))

    @property
    def code(self) -> str | None:
        """The server's problem code, when there was an answer."""
        return _opt_str(self.get("code"))

    @property
    def status_code(self) -> int | None:
        """The HTTP status, when there was an answer."""
        return _opt_int(self.get("status_code"))


class PromptAccepted(APIObject):
    """``submit_prompt()``: the queued prompt's id and state."""

    REQUIRED = ("prompt_id",)

    @property
    def prompt_id(self) -> str:
        """The id to poll with."""
        return str(self["prompt_id"])

    @property
    def state(self) -> str | None:
        """``queued`` on acceptance."""
        return _opt_str(self.get("state"))

    @property
    def message(self) -> str | None:
        """The server's message."""
        return _opt_str(self.get("message"))

    @property
    def created_at(self) -> datetime | None:
        """When the server accepted it."""
        return _time(self.get("created_at"))


class PromptResult(APIObject):
    """A prompt's state and, once completed, its ``response``."""

    @property
    def prompt_id(self) -> str | None:
        """The prompt's id."""
        return _opt_str(self.get("prompt_id"))

    @property
    def state(self) -> str | None:
        """``queued``, ``running``, ``completed`` or ``failed``."""
        return _opt_str(self.get("state"))

    @property
    def response(self) -> str | None:
        """The simulation's answer once completed."""
        return _opt_str(self.get("response"))

    @property
    def error(self) -> str | None:
        """Why the prompt failed, once failed."""
        return _opt_str(self.get("error"))

    @property
    def timestamp(self) -> datetime | None:
        """When the prompt reached a terminal state."""
        return _time(self.get("timestamp"))

    @property
    def attempts(self) -> int | None:
        """How many times a node took the prompt."""
        return _opt_int(self.get("attempts"))

    @property
    def is_terminal(self) -> bool:
        """True once completed or failed (or, from an older server, once a response exists)."""
        if self.state is not None:
            return self.state in TERMINAL_PROMPT_STATES
        return self.get("response") is not None

    @property
    def failed(self) -> bool:
        """True when the prompt failed."""
        return self.state == "failed"


class NodeStatus(APIObject):
    """One simulation node as the server last heard from it."""

    @property
    def id(self) -> str:
        """The node's id."""
        return str(self.get("id", ""))

    @property
    def rank(self) -> int | None:
        """The node's rank (0 is the coordinator)."""
        return _opt_int(self.get("rank"))

    @property
    def type(self) -> str | None:
        """The node's role."""
        return _opt_str(self.get("type"))

    @property
    def status(self) -> str | None:
        """``starting``, ``idle``, ``busy`` or ``offline``."""
        return _opt_str(self.get("status"))

    @property
    def last_heartbeat(self) -> datetime | None:
        """When the node last reported."""
        return _time(self.get("last_heartbeat"))


class SimulationStatus(APIObject):
    """``get_simulation_status()``: nodes, queue and the last prompt."""

    @property
    def nodes(self) -> list[NodeStatus]:
        """Every known node."""
        value = self.get("nodes")
        return (
            [NodeStatus(n) for n in value if isinstance(n, dict)] if isinstance(value, list) else []
        )

    @property
    def active_nodes(self) -> int:
        """Nodes not offline."""
        return _opt_int(self.get("active_nodes")) or 0

    @property
    def queue_depth(self) -> int | None:
        """Prompts waiting for a node."""
        return _opt_int(self.get("queue_depth"))

    @property
    def last_prompt_status(self) -> str | None:
        """The state of the most recent prompt."""
        return _opt_str(self.get("last_prompt_status"))


class RemoteLog(APIObject):
    """``get_remote_log()``: the last lines of a node's log."""

    @property
    def log_content(self) -> str:
        """The lines."""
        return str(self.get("log_content", ""))

    @property
    def lines(self) -> int | None:
        """How many lines came back."""
        return _opt_int(self.get("lines"))

    @property
    def host(self) -> str | None:
        """The host they came from."""
        return _opt_str(self.get("host"))


class Session(APIObject):
    """An experiment session."""

    REQUIRED = ("session_id",)

    @property
    def session_id(self) -> str:
        """The session's id."""
        return str(self["session_id"])

    @property
    def description(self) -> str:
        """What the experiment is."""
        return str(self.get("description", ""))

    @property
    def created_at(self) -> datetime | None:
        """When it was created."""
        return _time(self.get("created_at"))

    @property
    def artifact_count(self) -> int | None:
        """How many artifacts it holds."""
        return _opt_int(self.get("artifact_count"))


class Artifact(APIObject):
    """A stored artifact's metadata."""

    REQUIRED = ("artifact_id",)

    @property
    def artifact_id(self) -> str:
        """The artifact's id."""
        return str(self["artifact_id"])

    @property
    def session_id(self) -> str:
        """The session it belongs to."""
        return str(self.get("session_id", ""))

    @property
    def artifact_type(self) -> str:
        """``model``, ``config``, ``tokenizer``, ..."""
        return str(self.get("artifact_type", ""))

    @property
    def name(self) -> str:
        """Its display name."""
        return str(self.get("name", ""))

    @property
    def llm_type(self) -> str | None:
        """The model architecture recorded with it."""
        return _opt_str(self.get("llm_type"))

    @property
    def size(self) -> int | None:
        """Its size in bytes."""
        return _opt_int(self.get("size"))

    @property
    def sha256(self) -> str | None:
        """Lowercase hex sha256 of its bytes."""
        return _opt_str(self.get("sha256"))

    @property
    def created_at(self) -> datetime | None:
        """When it was uploaded."""
        return _time(self.get("created_at"))


class ClientStats(APIObject):
    """``get_stats()``: requests (HTTP attempts), errors, retries, status codes, latency (ms)."""

    @property
    def requests(self) -> int:
        """HTTP attempts sent."""
        return int(self.get("requests", 0))

    @property
    def errors(self) -> int:
        """Calls that ended in an error."""
        return int(self.get("errors", 0))

    @property
    def retries(self) -> int:
        """Attempts repeated after a transient failure."""
        return int(self.get("retries", 0))

    @property
    def latency_ms(self) -> dict[str, float]:
        """``count``, ``mean``, ``p50``, ``p90``, ``p99``, ``max``."""
        value = self.get("latency_ms")
        return value if isinstance(value, dict) else {}


ObjT = TypeVar("ObjT", bound=APIObject)


def build_object(cls: type[ObjT], data: Any) -> ObjT:
    """``data`` as a ``cls``; ResponseShapeError when it is not an object with ``cls.REQUIRED``.

    Only what the SDK and the document rely on is required, so answers of the original server
    (fewer fields) are accepted; extra fields are kept.
    """
    if not isinstance(data, dict):
        raise ResponseShapeError(f"expected a JSON object, got {type(data).__name__}")
    missing = [key for key in cls.REQUIRED if key not in data]
    if missing:
        raise ResponseShapeError(f"the answer lacks {', '.join(missing)}")
    return cls(data)


def build_list(cls: type[ObjT], data: Any) -> list[ObjT]:
    """``data`` as a list of ``cls``; ResponseShapeError when it is not such a JSON array."""
    if not isinstance(data, list):
        raise ResponseShapeError(f"expected a JSON array, got {type(data).__name__}")
    return [build_object(cls, item) for item in data]
