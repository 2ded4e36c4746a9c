"""Request mechanics shared by every call of both clients: sending the generated request with
explicit per-call options (timeout, retries, idempotency key), error mapping, decoding the answer
once, statistics and logging. API methods only describe calls; the engines send them.

The async engine and client (``_async_client.py``) are the source; ``_client.py`` is derived
from them by ``scripts/unasync.py``. What needs no I/O lives here, once.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import httpx

from evospikenet import __version__
from evospikenet_api_client.errors import UnexpectedStatus

from ._config import ClientConfig, Timeout
from ._errors import (
    APIConnectionError,
    APIConnectTimeoutError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ErrorResponse,
    EvoSpikeNetAPIError,
    FieldError,
    status_error_class,
)
from ._logging import logger, redact
from ._operations import Op, Page, RequestOptions
from ._retry import RetryPolicy, parse_retry_after
from ._stats import RequestStats

__all__ = ["EngineBase", "http_client_kwargs", "httpx_timeout", "user_agent"]

T = TypeVar("T")
_MAX_ERROR_BODY = 64 * 1024
# 409 with this code: the first request with the same Idempotency-Key is still running; the
# server asks to retry shortly (and will then replay its answer).
IDEMPOTENCY_IN_PROGRESS = "IDEM_002"
# What the generated parsers raise on a 2xx body that does not match the contract.
_DECODE_ERRORS = (KeyError, ValueError, TypeError, AttributeError, UnexpectedStatus)


def user_agent() -> str:
    """The User-Agent the SDK sends."""
    return f"evospikenet-sdk/{__version__} python/{platform.python_version()}"


def httpx_timeout(timeout: Timeout) -> httpx.Timeout:
    """The httpx form of a :class:`Timeout`."""
    return httpx.Timeout(
        connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
    )


def http_client_kwargs(config: ClientConfig) -> dict[str, Any]:
    """Arguments of the ``httpx.Client``/``httpx.AsyncClient`` a client makes for itself.

    Only the connection pool's settings: every request carries its own URL, headers and
    timeout. ``trust_env`` stays on, so ``HTTP(S)_PROXY``, ``NO_PROXY`` and ``SSL_CERT_FILE``
    are honoured as in httpx; redirects are not followed (the key goes to ``base_url`` only).
    """
    return {
        "timeout": httpx_timeout(config.timeout),
        "verify": config.verify,
        "follow_redirects": False,
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value else None


def status_error(
    method: str, url: str, response: httpx.Response, body: bytes, *, status: int | None = None
) -> APIStatusError:
    """The SDK error for a 4xx/5xx answer, filled from its problem+json body when there is one
    (``status``: a problem's own status, for one that arrived inside an event stream)."""
    status = response.status_code if status is None else status
    headers = dict(response.headers.items())
    problem: dict[str, Any] = {}
    try:
        parsed = json.loads(body) if body else None
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        pass
    detail = problem.get("detail")
    if not isinstance(detail, str):
        detail = (
            json.dumps(detail)
            if detail is not None
            else (body[:500].decode("utf-8", "replace") or None)
        )
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    title = problem.get("title") if isinstance(problem.get("title"), str) else None
    request_id = _header(response.headers, "x-request-id") or (
        problem.get("request_id") if isinstance(problem.get("request_id"), str) else None
    )
    errors = [
        FieldError({k: str(v) for k, v in item.items()})
        for item in problem.get("errors") or []
        if isinstance(item, dict)
    ]
    reason = title or response.reason_phrase or "HTTP error"
    message = f"{status} {reason}"
    if detail:
        message += f": {detail}"
    if errors:
        message += " (" + "; ".join(f"{e.field}: {e.message}" for e in errors) + ")"
    if code:
        message += f" [{code}]"
    message += f" — {method} {url}"
    if request_id:
        message += f" (request_id={request_id})"
    cls = status_error_class(status)
    return cls(
        message,
        status_code=status,
        code=code,
        detail=detail,
        request_id=request_id,
        retry_after=parse_retry_after(headers),
        method=method,
        url=url,
        errors=errors,
        response=ErrorResponse(status, headers, body[:_MAX_ERROR_BODY], response.reason_phrase),
    )


def transport_error(
    method: str, url: str, exc: Exception, timeout: Timeout | None
) -> EvoSpikeNetAPIError:
    """The SDK error for an httpx transport failure."""
    where = f"{method} {url}"
    if isinstance(exc, httpx.ConnectTimeout):
        limit = timeout.connect if timeout else None
        return APIConnectTimeoutError(
            f"Could not connect within {limit} s — {where}", method=method, url=url
        )
    if isinstance(exc, httpx.TimeoutException):
        phase = type(exc).__name__.replace("Timeout", "").lower() or "request"
        limit = getattr(timeout, phase, None) if timeout else None
        return APITimeoutError(
            f"No {phase} progress within {limit} s — {where}", method=method, url=url
        )
    if isinstance(exc, httpx.ConnectError):
        return APIConnectionError(
            f"Could not connect to the EvoSpikeNet API server ({exc}) — {where}; is it running? "
            "(client.wait_for_server() waits for it)",
            method=method,
            url=url,
        )
    return APIConnectionError(
        f"The connection failed before a complete answer ({type(exc).__name__}: {exc}) — {where}",
        method=method,
        url=url,
    )


def validate_strictly(result: object) -> None:
    """Check a decoded answer (a model, or a page of them) against the whole contract:
    ``KeyError`` naming a missing field's path, ``ValueError`` a bad one."""
    for item in result.items if isinstance(result, Page) else [result]:
        validate = getattr(item, "validate_strict", None)
        if validate is not None:
            validate()


class EngineBase:
    """What the sync and async engines share: configuration, policy, request preparation,
    decoding, bookkeeping."""

    def __init__(self, config: ClientConfig, stats: RequestStats) -> None:
        self.config = config
        self.stats = stats
        self.policy = RetryPolicy(
            max_retries=config.max_retries,
            backoff_initial=config.backoff_initial,
            backoff_max=config.backoff_max,
            retry_after_max=config.retry_after_max,
        )
        headers = {"User-Agent": user_agent(), "Accept": "application/json"}
        headers.update(config.default_headers)
        if config.api_key:
            headers["X-API-Key"] = config.api_key
        self._headers = headers

    def prepare(self, op: Op[Any]) -> dict[str, Any]:
        """``op``'s generated request as ``httpx`` arguments: the absolute URL, the client's
        headers under the request's own, and the call's timeout."""
        kwargs = dict(op.request)
        kwargs["method"] = op.method
        kwargs["url"] = self.config.base_url + op.path
        kwargs["headers"] = {**self._headers, **op.request.get("headers", {})}
        kwargs["timeout"] = httpx_timeout(self.timeout_of(op.options))
        return kwargs

    def timeout_of(self, options: RequestOptions) -> Timeout:
        """The call's timeout: its own, else the client's."""
        return options.timeout if options.timeout is not None else self.config.timeout

    def decode(self, op: Op[T], response: httpx.Response) -> T:
        """The answer decoded by the generated parser (its body is parsed once, there);
        APIResponseValidationError when it lacks an identifying field or, with
        ``strict_response_validation``, when it does not match the contract in any way."""
        try:
            result = op.parse(response)
            if self.config.strict_response_validation:
                validate_strictly(result)
            return result
        except json.JSONDecodeError as exc:
            problem = f"is not JSON ({exc})"
        except _DECODE_ERRORS as exc:
            what = f"lacks {exc}" if isinstance(exc, KeyError) else f"({type(exc).__name__}: {exc})"
            problem = f"is not what the API promises: it {what}"
        raise APIResponseValidationError(
            f"The server's answer {problem} — {op.method} {op.path}",
            status_code=response.status_code,
            request_id=_header(response.headers, "x-request-id"),
            method=op.method,
            url=op.path,
        )

    def _log(self, message: str, *args: object) -> None:
        if logger.isEnabledFor(10):
            logger.debug(redact(message % args, self.config.api_key))

    def next_delay(
        self,
        op: Op[Any],
        retry_index: int,
        error: EvoSpikeNetAPIError,
        response: httpx.Response | None,
    ) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to raise it."""
        options = op.options
        limit = self.policy.max_retries if options.max_retries is None else options.max_retries
        if retry_index >= limit:
            return None
        if not self.policy.may_retry(op.method, options.idempotency_key is not None):
            return None
        if isinstance(error, APIStatusError):
            assert response is not None
            in_progress = error.status_code == 409 and error.code == IDEMPOTENCY_IN_PROGRESS
            if not in_progress and not self.policy.should_retry_status(
                error.status_code, response.headers
            ):
                return None
            return self.policy.delay(retry_index, error.retry_after)
        if isinstance(error, APIConnectionError | APITimeoutError):
            return self.policy.delay(retry_index)
        return None

    def finish(
        self, op: Op[Any], response: httpx.Response, started: float, attempt: int
    ) -> EvoSpikeNetAPIError | None:
        """Count and log an answered attempt; its error when the status is 4xx/5xx."""
        elapsed = time.perf_counter() - started
        self.stats.record_attempt(elapsed, response.status_code)
        self._log(
            "%s %s -> %d in %.1f ms (attempt %d, request_id=%s)",
            op.method,
            op.path,
            response.status_code,
            elapsed * 1000,
            attempt + 1,
            response.headers.get("x-request-id"),
        )
        if response.status_code >= 400:
            return status_error(op.method, op.path, response, response.content)
        return None

    def failed(
        self, op: Op[Any], exc: Exception, started: float, attempt: int
    ) -> EvoSpikeNetAPIError:
        """Count and log an attempt that got no answer; its SDK error."""
        self.stats.record_attempt(time.perf_counter() - started, None)
        error = transport_error(op.method, op.path, exc, self.timeout_of(op.options))
        self._log("%s %s failed (attempt %d): %s", op.method, op.path, attempt + 1, error)
        return error

    def broken_stream(self, op: Op[Any], exc: Exception) -> EvoSpikeNetAPIError:
        """The error to raise when a streamed answer breaks after its first byte (streams are
        never retried from there)."""
        return self.give_up(transport_error(op.method, op.path, exc, self.timeout_of(op.options)))

    def give_up(self, error: EvoSpikeNetAPIError) -> EvoSpikeNetAPIError:
        """Count a call that ends in ``error``; return it to raise."""
        self.stats.record_error()
        return error

    def will_retry(self, op: Op[Any], delay: float, error: EvoSpikeNetAPIError) -> None:
        """Count and log a retry."""
        self.stats.record_retry()
        self._log("retrying %s %s in %.2f s after: %s", op.method, op.path, delay, error)
