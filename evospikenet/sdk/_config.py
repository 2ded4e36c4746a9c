"""Client configuration: defaults, environment variables and timeouts, decided in one place."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRANSFER_TIMEOUT",
    "ENV_API_KEY",
    "ENV_API_URL",
    "NOT_GIVEN",
    "ClientConfig",
    "NotGiven",
    "Timeout",
]

ENV_API_URL = "EVOSPIKENET_API_URL"
ENV_API_KEY = "EVOSPIKENET_API_KEY"
DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_MAX_RETRIES = 2


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an option left out of ``with_options``."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
"""``with_options`` keeps the client's setting for every option that is NOT_GIVEN."""


@dataclass(frozen=True)
class Timeout:
    """Seconds to wait for each phase of a request; ``None`` waits forever.

    ``read`` bounds the gap between two received chunks, not the whole answer, so a long
    transfer that keeps moving never times out while a stalled one does.
    """

    connect: float | None = 5.0
    read: float | None = 60.0
    write: float | None = 60.0
    pool: float | None = 10.0

    @classmethod
    def of(cls, value: Timeout | float | None) -> Timeout:
        """A Timeout from a Timeout, a number (connect capped at 5 s, others equal) or None."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None, None, None)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {value!r}")
        number = float(value)
        return cls(connect=min(number, 5.0), read=number, write=number, pool=number)

    def with_read(self, read: float | None) -> Timeout:
        """This timeout with another read bound."""
        return dataclasses.replace(self, read=read)


DEFAULT_TIMEOUT = Timeout(connect=5.0, read=60.0, write=60.0, pool=10.0)
DEFAULT_TRANSFER_TIMEOUT = Timeout(connect=10.0, read=300.0, write=300.0, pool=30.0)


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs to talk to one server. Build it with :meth:`resolve`."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeout: Timeout = DEFAULT_TIMEOUT
    transfer_timeout: Timeout = DEFAULT_TRANSFER_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 60.0
    default_headers: Mapping[str, str] = field(default_factory=dict)
    progress: bool | None = None
    verify: bool | str = True
    strict_response_validation: bool = False

    @classmethod
    def resolve(
        cls,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: Timeout | float | None,
        transfer_timeout: Timeout | float | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        progress: bool | None,
        verify: bool | str,
        strict_response_validation: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Merge explicit arguments over the environment over the defaults, and validate."""
        env = os.environ if environ is None else environ
        url = base_url if base_url is not None else (env.get(ENV_API_URL) or DEFAULT_BASE_URL)
        key = api_key if api_key is not None else (env.get(ENV_API_KEY) or None)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if key is not None and (not isinstance(key, str) or not key.isprintable() or not key):
            raise ValueError("api_key must be a non-empty printable string")
        headers = dict(default_headers or {})
        for name in headers:
            if name.lower() == "x-api-key":
                raise ValueError("default_headers: pass the key as api_key, not as a header")
        return cls(
            base_url=_normalize_base_url(url),
            api_key=key,
            timeout=Timeout.of(timeout) if timeout is not None else DEFAULT_TIMEOUT,
            transfer_timeout=(
                Timeout.of(transfer_timeout)
                if transfer_timeout is not None
                else DEFAULT_TRANSFER_TIMEOUT
            ),
            max_retries=max_retries,
            default_headers=headers,
            progress=progress,
            verify=verify,
            strict_response_validation=bool(strict_response_validation),
        )


def _normalize_base_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ValueError("base_url must be a non-empty URL such as http://localhost:8000")
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must start with http:// or https:// and name a host: {url!r}")
    if parts.username or parts.password:
        raise ValueError("base_url must not carry credentials; pass api_key instead")
    if parts.query or parts.fragment:
        raise ValueError(f"base_url must not have a query or fragment: {url!r}")
    return url
