"""The SDK's exceptions: one tree, each also the ``requests`` exception the SDK document names.

::

    requests.exceptions.RequestException
    └── EvoSpikeNetAPIError
        ├── APIConnectionError            (also requests.exceptions.ConnectionError)
        │   └── APIConnectTimeoutError    (also APITimeoutError)
        ├── APITimeoutError               (also requests.exceptions.Timeout)
        ├── APIResponseValidationError    a 2xx answer the SDK could not read
        ├── ArtifactIntegrityError        downloaded bytes do not match the server's sha256
        └── APIStatusError                (also requests.exceptions.HTTPError): any 4xx/5xx
            ├── BadRequestError           400
            ├── AuthenticationError       401
            ├── PermissionDeniedError     403
            ├── NotFoundError             404
            ├── ConflictError             409
            ├── PayloadTooLargeError      413
            ├── UnprocessableEntityError  422 (also ValueError)
            ├── RateLimitError            429
            └── InternalServerError       5xx
                └── ServiceUnavailableError  503

Bad arguments raise the built-in ``ValueError`` before any request is sent.

Every error pickles (its response summary included) and never holds the API key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

__all__ = [
    "APIConnectTimeoutError",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ArtifactIntegrityError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorResponse",
    "EvoSpikeNetAPIError",
    "FieldError",
    "InternalServerError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "status_error_class",
]


class ErrorResponse:
    """A picklable summary of the HTTP answer behind an error (``error.response``).

    Offers what ``requests.Response`` users reach for: ``status_code``, ``headers``, ``content``,
    ``text``, ``json()`` and ``reason``.
    """

    def __init__(
        self, status_code: int, headers: Mapping[str, str], content: bytes, reason: str = ""
    ) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in headers.items()}
        self.content = content
        self.reason = reason

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<ErrorResponse [{self.status_code}]>"


class FieldError(dict[str, str]):
    """One failing field of a validation problem: ``field``, ``message``, ``type``."""

    @property
    def field(self) -> str:
        """The field's name or JSON path."""
        return self.get("field", "")

    @property
    def message(self) -> str:
        """What is wrong with it."""
        return self.get("message", "")


class EvoSpikeNetAPIError(requests.exceptions.RequestException):
    """Root of every error the SDK raises about a request.

    Attributes: ``message``, ``status_code`` (None without an HTTP answer), ``code`` (the
    problem code such as ``VAL_001``), ``detail``, ``request_id`` (the server's
    ``X-Request-ID``), ``retry_after`` (seconds, when the server said), ``method``, ``url``,
    ``errors`` (failing fields) and ``response`` (an :class:`ErrorResponse`, or None).
    """

    response: ErrorResponse | None  # type: ignore[assignment]

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
        errors: list[FieldError] | None = None,
        response: ErrorResponse | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.message = message
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.retry_after = retry_after
        self.method = method
        self.url = url
        self.errors: list[FieldError] = errors or []

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)
        state.pop("request", None)
        return (_rebuild, (type(self), self.message), state)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        for name in ("status_code", "code", "request_id"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _rebuild(cls: type[EvoSpikeNetAPIError], message: str) -> EvoSpikeNetAPIError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class APIConnectionError(EvoSpikeNetAPIError, requests.exceptions.ConnectionError):
    """The server could not be reached, or the connection broke before a full answer."""


class APITimeoutError(EvoSpikeNetAPIError, requests.exceptions.Timeout):
    """The server did not answer within the timeout."""


class APIConnectTimeoutError(APIConnectionError, APITimeoutError):
    """The connection could not be opened within the connect timeout."""


class APIResponseValidationError(EvoSpikeNetAPIError):
    """The server answered with success, but the body is not what the API promises."""


class ArtifactIntegrityError(EvoSpikeNetAPIError):
    """Downloaded bytes do not match the sha256 or length the server announced."""


class APIStatusError(EvoSpikeNetAPIError, requests.exceptions.HTTPError):  # type: ignore[misc]
    """The server answered with a 4xx or 5xx status (``status_code`` is always set)."""

    status_code: int


class BadRequestError(APIStatusError):
    """400: the request could not be parsed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong (set ``api_key`` or ``EVOSPIKENET_API_KEY``)."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this, or the target is not allowed."""


class NotFoundError(APIStatusError):
    """404: no such session, artifact, prompt or route."""


class ConflictError(APIStatusError):
    """409: the request conflicts with another one (e.g. an Idempotency-Key in use)."""


class PayloadTooLargeError(APIStatusError):
    """413: the upload exceeds the server's size limit."""


class UnprocessableEntityError(APIStatusError, ValueError):  # type: ignore[misc]
    """422: a field is invalid (see ``errors``), or an uploaded sha256 did not match.

    Also a ``ValueError``: the server found an argument invalid.
    """


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says when to come back."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(InternalServerError):
    """503: the server cannot serve this now (no model loaded, shutting down, overloaded)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The most specific error class for an HTTP status code."""
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIStatusError
