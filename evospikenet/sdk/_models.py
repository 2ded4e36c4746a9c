"""What the API returns.

The contract's response types are the generated models (``make generate`` builds them from
``openapi/evospikenet.yaml``), re-exported here under the SDK's names. Each is a ``dict``
holding its JSON exactly as the server sent it, as the SDK document uses it
(``result['generated_text']``, ``result.get('generated_text', '')``, ``json.dumps(result)``,
``result == {...}``, pickling, ``session['created_at']`` as the server's string), with typed
read-only attributes that decode the same values when read (``result.generated_text``,
``session.created_at`` as a ``datetime``, ``info.limits`` as a :class:`Limits`). Fields a newer
server adds are kept. ``request_id`` is the server's ``X-Request-ID`` of the answer.

An answer is checked for its identifying field only (``generated_text``, ``session_id``,
``artifact_id``, ``prompt_id``, health's ``status``); reading another absent field raises
``AttributeError`` (``None`` where the contract allows null). ``strict_response_validation=True``
checks every answer against the whole contract instead.

Only what the SDK makes itself is written here: :class:`FailedGeneration` and
:class:`ClientStats`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from evospikenet_api_client.models import (
    Artifact,
    Health,
    Limits,
    NodeStatus,
    PromptAccepted,
    PromptResult,
    RemoteLog,
    ServerInfo,
    Session,
    SimulationStatus,
)
from evospikenet_api_client.models import GenerateResponse as GenerateResult

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
    "ServerInfo",
    "Session",
    "SimulationStatus",
]


class APIObject(dict[str, Any]):
    """A result the SDK builds itself (not an answer of the server): a plain dict."""

    request_id: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class FailedGeneration(APIObject):
    """A ``batch_generate()`` entry whose prompt failed: ``prompt``, ``error``, ``code``,
    ``status_code``; it has no ``generated_text`` key."""

    ok: ClassVar[bool] = False
    """False: the prompt failed (a :class:`GenerateResult` has True)."""

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
        value = self.get("status_code")
        return value if isinstance(value, int) else None


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
