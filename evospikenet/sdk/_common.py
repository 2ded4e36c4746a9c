"""What the sync and async clients share besides request mechanics: construction, argument
checks that read files, and the rules of composite calls (batch, polling, paging)."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import _operations as ops
from ._config import NOT_GIVEN, ClientConfig, Timeout
from ._contract import MAX_PAGE_SIZE, MAX_PROMPT_CHARS
from ._errors import APIStatusError, EvoSpikeNetAPIError
from ._logging import configure_from_env, logger
from ._models import ClientStats, FailedGeneration, ServerInfo
from ._stats import RequestStats

__all__ = ["ClientCore"]

# with_error_handling gives up at once on these: trying again cannot help.
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 413, 422})


class ClientCore:
    """Configuration, statistics and cached server facts of one client."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        timeout: Timeout | float | None,
        max_retries: int,
        transfer_timeout: Timeout | float | None,
        default_headers: Mapping[str, str] | None,
        progress: bool | None,
        verify: bool | str,
        strict_response_validation: bool = False,
    ) -> None:
        configure_from_env()
        self.config = ClientConfig.resolve(
            base_url=base_url,
            api_key=api_key,
            timeout=timeout,
            transfer_timeout=transfer_timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            progress=progress,
            verify=verify,
            strict_response_validation=strict_response_validation,
        )
        warn_if_key_in_clear(self.config)
        self.stats = RequestStats()
        self.server_info: ServerInfo | None = None
        # True once the server answered 404 to /api/info (the original server): poll plainly.
        self.no_server_info = False

    def option_kwargs(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments for a copy of this client with ``overrides`` applied
        (entries that are :data:`NOT_GIVEN` keep this client's setting)."""
        c = self.config
        kwargs: dict[str, Any] = {
            "base_url": c.base_url,
            "api_key": c.api_key,
            "timeout": c.timeout,
            "max_retries": c.max_retries,
            "transfer_timeout": c.transfer_timeout,
            "default_headers": dict(c.default_headers),
            "progress": c.progress,
            "verify": c.verify,
            "strict_response_validation": c.strict_response_validation,
        }
        kwargs.update({k: v for k, v in overrides.items() if v is not NOT_GIVEN})
        return kwargs

    def max_wait(self) -> float:
        """Longest long-poll the server allows (0: it did not say, so poll plainly)."""
        info = self.server_info
        if info is None:
            return 0.0
        return float(_limit(info, "max_wait_seconds") or 0.0)

    def max_prompt_chars(self) -> int:
        """Longest prompt the server accepts (its limit when known)."""
        info = self.server_info
        limit = _limit(info, "max_prompt_chars") if info is not None else None
        return int(limit or MAX_PROMPT_CHARS)

    def health_timeout(self, remaining: float | None) -> Timeout | None:
        """The client's timeout, shortened to fit ``remaining`` seconds (None: unchanged)."""
        if remaining is None:
            return None
        bound = max(remaining, 0.05)
        t = self.config.timeout
        return Timeout(
            connect=min(t.connect, bound) if t.connect is not None else bound,
            read=min(t.read, bound) if t.read is not None else bound,
            write=min(t.write, bound) if t.write is not None else bound,
            pool=min(t.pool, bound) if t.pool is not None else bound,
        )

    def snapshot_stats(self) -> ClientStats:
        """The statistics as a :class:`ClientStats`."""
        return ClientStats(self.stats.snapshot())


def _limit(info: ServerInfo, name: str) -> float | None:
    """The server's limit ``name``, or None when its answer leaves it out (or is not a number)."""
    limits = info.get("limits")
    value = limits.get(name) if isinstance(limits, dict) else None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def warn_if_key_in_clear(config: ClientConfig) -> None:
    """Warn (once per client) when the API key would travel unencrypted beyond this machine."""
    parts = urlsplit(config.base_url)
    host = (parts.hostname or "").lower()
    if config.api_key and parts.scheme == "http" and host not in _LOCAL_HOSTS:
        logger.warning(
            "the API key is sent unencrypted to %s over http://; use https:// outside a "
            "trusted network",
            host,
        )


def check_prompt(prompt: object, max_chars: int) -> str:
    """The prompt if it is a non-empty string within ``max_chars``; else ValueError."""
    text = ops.check_str("prompt", prompt)
    if len(text) > max_chars:
        raise ValueError(f"prompt: {len(text)} characters, the server accepts at most {max_chars}")
    return text


def read_media(field: str, path: object) -> str:
    """The file at ``path``, base64-encoded; ValueError naming ``field`` when it is missing."""
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"{field}: expected a file path, got {type(path).__name__}")
    file = Path(os.fspath(path)).expanduser()
    if not file.is_file():
        raise ValueError(f"{field}: no such file: {str(file)!r}")
    return base64.b64encode(file.read_bytes()).decode("ascii")


def prompt_fields(
    prompt: str | None, image_path: object, audio_path: object
) -> tuple[str | None, str | None, str | None]:
    """The prompt and base64 media of ``submit_prompt``; ValueError when none is given."""
    if prompt is not None:
        ops.check_str("prompt", prompt, allow_empty=True)
    text = prompt if prompt else None
    if text is None and image_path is None and audio_path is None:
        raise ValueError("submit_prompt: give at least one of prompt, image_path, audio_path")
    image = read_media("image_path", image_path) if image_path is not None else None
    audio = read_media("audio_path", audio_path) if audio_path is not None else None
    return text, image, audio


def failed_generation(prompt: str, error: Exception) -> FailedGeneration:
    """A ``batch_generate`` entry for a prompt that failed."""
    entry = FailedGeneration({"prompt": prompt, "error": str(error)})
    if isinstance(error, EvoSpikeNetAPIError):
        entry["code"] = error.code
        entry["status_code"] = error.status_code
        entry.request_id = error.request_id
    return entry


def is_final(error: Exception) -> bool:
    """True when repeating the call cannot help (a client error the server will repeat)."""
    return isinstance(error, APIStatusError) and error.status_code in _FINAL_STATUSES


def progress_wanted(progress: bool | None, default: bool | None) -> bool | None:
    """A call's ``progress`` argument, else the client's default."""
    return progress if progress is not None else default


def page_size_for(limit: int | None) -> int | None:
    """The page size to ask for when at most ``limit`` items are wanted."""
    return min(limit, MAX_PAGE_SIZE) if limit is not None else None


def resolve_destination(path: object) -> Path:
    """``destination_path`` as an absolute path; ValueError unless it is a non-empty path."""
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise ValueError("destination_path: expected a file path")
    return Path(os.fspath(path)).expanduser().absolute()
