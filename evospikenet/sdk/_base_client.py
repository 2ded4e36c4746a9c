"""Request mechanics shared by every call of both clients: retries, timeouts, idempotency keys,
error mapping, statistics and logging. API methods only describe calls; this module sends them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

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
from ._retry import RetryPolicy, parse_retry_after
from ._stats import RequestStats
from ._transport import CALL_STATE, CallState

__all__ = [
    "AsyncEngine",
    "Outcome",
    "SyncEngine",
    "new_idempotency_key",
    "parse_json_body",
    "shape_error",
    "upload_headers",
]

_MAX_ERROR_BODY = 64 * 1024
# 409 with this code: the first request with the same Idempotency-Key is still running; the
# server asks to retry shortly (and will then replay its answer).
IDEMPOTENCY_IN_PROGRESS = "IDEM_002"
# Exceptions the generated parsers raise on bodies that do not match the spec.
_PARSE_ERRORS = (KeyError, ValueError, TypeError, AttributeError)


def new_idempotency_key() -> str:
    """A fresh key for one logical mutating call; reused by all its retries."""
    return f"sdk-{uuid.uuid4().hex}"


def upload_headers(idempotency_key: str) -> dict[str, str]:
    """Headers of one multipart upload call: its Idempotency-Key and a random multipart
    boundary chosen once, so every retry sends byte-identical bodies (the server compares them
    to recognise a repeat)."""
    return {
        "Idempotency-Key": idempotency_key,
        "Content-Type": f"multipart/form-data; boundary={secrets.token_hex(16)}",
    }


@dataclass
class Outcome:
    """One attempt's answer: the raw response, and the generated parser's error if it failed."""

    response: httpx.Response
    parse_error: Exception | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return value if value else None


def status_error(method: str, url: str, response: httpx.Response, body: bytes) -> APIStatusError:
    """The SDK error for a 4xx/5xx answer, filled from its problem+json body when there is one."""
    status = response.status_code
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


def parse_json_body(method: str, url: str, outcome: Outcome) -> Any:
    """The JSON of a successful answer; APIResponseValidationError when it is not valid."""
    response = outcome.response
    request_id = _header(response.headers, "x-request-id")
    try:
        data = json.loads(response.content)
    except ValueError as exc:
        raise APIResponseValidationError(
            f"The server's answer is not JSON ({exc}) — {method} {url}",
            status_code=response.status_code,
            request_id=request_id,
            method=method,
            url=url,
        ) from None
    if outcome.parse_error is not None:
        logger.debug(
            "%s %s: the answer differs from the contract (%s: %s); using what it has",
            method,
            url,
            type(outcome.parse_error).__name__,
            outcome.parse_error,
        )
    return data


def shape_error(
    method: str, url: str, outcome: Outcome, error: Exception
) -> APIResponseValidationError:
    """The SDK error for a successful answer that lacks what the SDK needs."""
    response = outcome.response
    return APIResponseValidationError(
        f"The server's answer is not what the API promises ({error}) — {method} {url}",
        status_code=response.status_code,
        request_id=_header(response.headers, "x-request-id"),
        method=method,
        url=url,
    )


class _EngineBase:
    """What the sync and async engines share: configuration, policy, bookkeeping."""

    def __init__(self, config: ClientConfig, stats: RequestStats) -> None:
        self.config = config
        self.stats = stats
        self.policy = RetryPolicy(
            max_retries=config.max_retries,
            backoff_initial=config.backoff_initial,
            backoff_max=config.backoff_max,
            retry_after_max=config.retry_after_max,
        )

    def _log(self, message: str, *args: object) -> None:
        if logger.isEnabledFor(10):
            logger.debug(redact(message % args, self.config.api_key))

    def _next_delay(
        self,
        method: str,
        idempotency_key: str | None,
        retry_index: int,
        error: EvoSpikeNetAPIError,
        response: httpx.Response | None,
        max_retries: int | None,
    ) -> float | None:
        """Seconds to wait before retrying after ``error``, or None to raise it."""
        limit = self.policy.max_retries if max_retries is None else max_retries
        if retry_index >= limit:
            return None
        if not self.policy.may_retry(method, idempotency_key is not None):
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

    def _finish(
        self, method: str, url: str, outcome: Outcome, started: float, attempt: int
    ) -> EvoSpikeNetAPIError | None:
        response = outcome.response
        elapsed = time.perf_counter() - started
        self.stats.record_attempt(elapsed, response.status_code)
        self._log(
            "%s %s -> %d in %.1f ms (attempt %d, request_id=%s)",
            method,
            url,
            response.status_code,
            elapsed * 1000,
            attempt + 1,
            response.headers.get("x-request-id"),
        )
        if response.status_code >= 400:
            return status_error(method, url, response, response.content)
        return None

    def _failed_attempt(
        self,
        method: str,
        url: str,
        exc: Exception,
        started: float,
        attempt: int,
        timeout: Timeout | None,
    ) -> EvoSpikeNetAPIError:
        self.stats.record_attempt(time.perf_counter() - started, None)
        error = transport_error(method, url, exc, timeout)
        self._log("%s %s failed (attempt %d): %s", method, url, attempt + 1, error)
        return error


class SyncEngine(_EngineBase):
    """Sends one logical call with retries on a sync httpx client."""

    def __init__(
        self,
        config: ClientConfig,
        stats: RequestStats,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config, stats)
        self.sleep = sleep

    def execute(
        self,
        method: str,
        url: str,
        attempt: Callable[[], Outcome],
        *,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        rewind: Callable[[], None] | None = None,
        max_retries: int | None = None,
        generated: bool = False,
    ) -> Outcome:
        """Run ``attempt`` until it succeeds, retrying what the policy allows; raise SDK errors.

        ``timeout`` is applied to requests made through the generated client; ``rewind`` is
        called before every retry (to rewind a file body); ``max_retries`` overrides the
        client's for this call. ``generated`` marks an attempt that calls a generated API
        function: its parser's errors on an answer become the outcome's ``parse_error``.
        """
        retry_index = 0
        while True:
            state = CallState(timeout=timeout)
            token = CALL_STATE.set(state)
            started = time.perf_counter()
            outcome: Outcome | None = None
            try:
                outcome = attempt()
                error = self._finish(method, url, outcome, started, retry_index)
            except httpx.HTTPError as exc:
                error = self._failed_attempt(method, url, exc, started, retry_index, timeout)
            except _PARSE_ERRORS as exc:
                if not generated or state.response is None:
                    raise
                outcome = Outcome(state.response, exc)
                error = self._finish(method, url, outcome, started, retry_index)
            finally:
                CALL_STATE.reset(token)
            if error is None:
                assert outcome is not None
                return outcome
            response = outcome.response if outcome is not None else None
            delay = self._next_delay(
                method, idempotency_key, retry_index, error, response, max_retries
            )
            if delay is None:
                self.stats.record_error()
                raise error
            self.stats.record_retry()
            self._log("retrying %s %s in %.2f s after: %s", method, url, delay, error)
            self.sleep(delay)
            if rewind is not None:
                rewind()
            retry_index += 1


class AsyncEngine(_EngineBase):
    """Sends one logical call with retries on an async httpx client."""

    def __init__(
        self,
        config: ClientConfig,
        stats: RequestStats,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(config, stats)
        self.sleep = sleep

    async def execute(
        self,
        method: str,
        url: str,
        attempt: Callable[[], Awaitable[Outcome]],
        *,
        idempotency_key: str | None = None,
        timeout: Timeout | None = None,
        rewind: Callable[[], None] | None = None,
        max_retries: int | None = None,
        generated: bool = False,
    ) -> Outcome:
        """The async form of :meth:`SyncEngine.execute`."""
        retry_index = 0
        while True:
            state = CallState(timeout=timeout)
            token = CALL_STATE.set(state)
            started = time.perf_counter()
            outcome: Outcome | None = None
            try:
                outcome = await attempt()
                error = self._finish(method, url, outcome, started, retry_index)
            except httpx.HTTPError as exc:
                error = self._failed_attempt(method, url, exc, started, retry_index, timeout)
            except _PARSE_ERRORS as exc:
                if not generated or state.response is None:
                    raise
                outcome = Outcome(state.response, exc)
                error = self._finish(method, url, outcome, started, retry_index)
            finally:
                CALL_STATE.reset(token)
            if error is None:
                assert outcome is not None
                return outcome
            response = outcome.response if outcome is not None else None
            delay = self._next_delay(
                method, idempotency_key, retry_index, error, response, max_retries
            )
            if delay is None:
                self.stats.record_error()
                raise error
            self.stats.record_retry()
            self._log("retrying %s %s in %.2f s after: %s", method, url, delay, error)
            await self.sleep(delay)
            if rewind is not None:
                rewind()
            retry_index += 1
