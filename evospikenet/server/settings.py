"""The server's settings: one immutable object, read from the environment or given directly."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from evospikenet.server.client_address import parse_networks

GIB = 1024**3
MIB = 1024**2


class SettingsError(ValueError):
    """A setting has a value the server cannot use; the message names the variable."""


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _env_number(env: Mapping[str, str], name: str, default: float, *, integer: bool) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SettingsError(f"{name} must be {kind}, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


def _env_list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def is_loopback_host(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Everything the server can be configured with. ``from_env`` documents the variables."""

    data_dir: Path = Path(".evospikenet")
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: tuple[str, ...] = ()
    node_keys: tuple[str, ...] = ()
    allow_no_auth: bool = False
    database_url: str | None = None
    blob_url: str | None = None
    s3_cache_bytes: int = 10 * GIB
    max_upload_bytes: int = 4 * GIB
    max_media_bytes: int = 16 * MIB
    max_prompt_chars: int = 20000
    max_new_tokens: int = 512
    max_page_size: int = 500
    max_wait_seconds: float = 30.0
    result_retention_seconds: float = 7 * 24 * 3600.0
    node_offline_seconds: float = 5.0
    node_retention_seconds: float = 3600.0
    max_prompt_attempts: int = 3
    idempotency_ttl_seconds: float = 24 * 3600.0
    rate_limit_per_minute: float = 0.0
    rate_limit_burst: int = 10
    auth_failures_per_minute: float = 20.0
    auth_failure_burst: int = 50
    trusted_proxies: tuple[str, ...] = ()
    purge_interval_seconds: float = 300.0
    orphan_grace_seconds: float = 600.0
    max_long_polls: int = 1000
    body_idle_timeout_seconds: float = 30.0
    head_timeout_seconds: float = 10.0
    nodes_file: Path | None = None
    load_models: bool = True
    access_log: bool = True

    @property
    def resolved_database_url(self) -> str:
        """``database_url``, or the SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'evospikenet.db').resolve()}"

    @property
    def auth_enabled(self) -> bool:
        """True when at least one API key is configured."""
        return bool(self.api_keys)

    @property
    def rate_limit_enabled(self) -> bool:
        """True when a per-key rate limit is configured."""
        return self.rate_limit_per_minute > 0

    def check_startable(self) -> None:
        """Refuse settings that would expose an open server: no keys on a non-loopback host."""
        if not self.api_keys and not is_loopback_host(self.host) and not self.allow_no_auth:
            raise SettingsError(
                f"refusing to listen on {self.host} without API keys: set EVOSPIKENET_API_KEYS "
                "(comma-separated), listen on 127.0.0.1, or set EVOSPIKENET_ALLOW_NO_AUTH=true "
                "to run open on purpose"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the settings from ``env`` (default ``os.environ``); ``overrides`` win.

        Variables: EVOSPIKENET_DATA_DIR, EVOSPIKENET_HOST, EVOSPIKENET_PORT,
        EVOSPIKENET_API_KEYS and EVOSPIKENET_NODE_KEYS (comma-separated),
        EVOSPIKENET_ALLOW_NO_AUTH, DATABASE_URL, EVOSPIKENET_BLOB_URL (``s3://bucket/prefix``;
        unset: the local folder), EVOSPIKENET_S3_CACHE_BYTES (the local cache of the bucket),
        EVOSPIKENET_MAX_UPLOAD_BYTES,
        EVOSPIKENET_MAX_MEDIA_BYTES, EVOSPIKENET_MAX_WAIT_SECONDS,
        EVOSPIKENET_RESULT_RETENTION_SECONDS, EVOSPIKENET_MAX_PROMPT_ATTEMPTS,
        EVOSPIKENET_NODE_OFFLINE_SECONDS, EVOSPIKENET_NODE_RETENTION_SECONDS (a node silent
        this long is forgotten; more than the offline time), EVOSPIKENET_RATE_LIMIT_PER_MINUTE
        (0 = off),
        EVOSPIKENET_RATE_LIMIT_BURST, EVOSPIKENET_AUTH_FAILURES_PER_MINUTE and
        EVOSPIKENET_AUTH_FAILURE_BURST (refused keys per client address),
        EVOSPIKENET_TRUSTED_PROXIES (comma-separated addresses or networks of reverse proxies
        whose X-Forwarded-For is believed), EVOSPIKENET_PURGE_INTERVAL_SECONDS,
        EVOSPIKENET_ORPHAN_GRACE_SECONDS, EVOSPIKENET_MAX_LONG_POLLS,
        EVOSPIKENET_BODY_IDLE_TIMEOUT_SECONDS, EVOSPIKENET_HEAD_TIMEOUT_SECONDS,
        EVOSPIKENET_NODES_FILE, EVOSPIKENET_LOAD_MODELS,
        EVOSPIKENET_ACCESS_LOG.
        """
        env = os.environ if env is None else env
        nodes_file = env.get("EVOSPIKENET_NODES_FILE", "").strip()
        values: dict[str, object] = {
            "data_dir": Path(env.get("EVOSPIKENET_DATA_DIR", "") or ".evospikenet"),
            "host": env.get("EVOSPIKENET_HOST", "") or "127.0.0.1",
            "port": int(_env_number(env, "EVOSPIKENET_PORT", 8000, integer=True)),
            "api_keys": _env_list(env, "EVOSPIKENET_API_KEYS"),
            "node_keys": _env_list(env, "EVOSPIKENET_NODE_KEYS"),
            "allow_no_auth": _env_bool(env, "EVOSPIKENET_ALLOW_NO_AUTH", False),
            "database_url": env.get("DATABASE_URL", "").strip() or None,
            "blob_url": env.get("EVOSPIKENET_BLOB_URL", "").strip() or None,
            "s3_cache_bytes": int(
                _env_number(env, "EVOSPIKENET_S3_CACHE_BYTES", 10 * GIB, integer=True)
            ),
            "max_upload_bytes": int(
                _env_number(env, "EVOSPIKENET_MAX_UPLOAD_BYTES", 4 * GIB, integer=True)
            ),
            "max_media_bytes": int(
                _env_number(env, "EVOSPIKENET_MAX_MEDIA_BYTES", 16 * MIB, integer=True)
            ),
            "max_wait_seconds": _env_number(
                env, "EVOSPIKENET_MAX_WAIT_SECONDS", 30.0, integer=False
            ),
            "result_retention_seconds": _env_number(
                env, "EVOSPIKENET_RESULT_RETENTION_SECONDS", 7 * 24 * 3600.0, integer=False
            ),
            "max_prompt_attempts": int(
                _env_number(env, "EVOSPIKENET_MAX_PROMPT_ATTEMPTS", 3, integer=True)
            ),
            "node_offline_seconds": _env_number(
                env, "EVOSPIKENET_NODE_OFFLINE_SECONDS", 5.0, integer=False
            ),
            "node_retention_seconds": _env_number(
                env, "EVOSPIKENET_NODE_RETENTION_SECONDS", 3600.0, integer=False
            ),
            "rate_limit_per_minute": _env_number(
                env, "EVOSPIKENET_RATE_LIMIT_PER_MINUTE", 0.0, integer=False
            ),
            "rate_limit_burst": int(
                _env_number(env, "EVOSPIKENET_RATE_LIMIT_BURST", 10, integer=True)
            ),
            "auth_failures_per_minute": _env_number(
                env, "EVOSPIKENET_AUTH_FAILURES_PER_MINUTE", 20.0, integer=False
            ),
            "auth_failure_burst": int(
                _env_number(env, "EVOSPIKENET_AUTH_FAILURE_BURST", 50, integer=True)
            ),
            "trusted_proxies": _env_list(env, "EVOSPIKENET_TRUSTED_PROXIES"),
            "purge_interval_seconds": _env_number(
                env, "EVOSPIKENET_PURGE_INTERVAL_SECONDS", 300.0, integer=False
            ),
            "orphan_grace_seconds": _env_number(
                env, "EVOSPIKENET_ORPHAN_GRACE_SECONDS", 600.0, integer=False
            ),
            "max_long_polls": int(
                _env_number(env, "EVOSPIKENET_MAX_LONG_POLLS", 1000, integer=True)
            ),
            "body_idle_timeout_seconds": _env_number(
                env, "EVOSPIKENET_BODY_IDLE_TIMEOUT_SECONDS", 30.0, integer=False
            ),
            "head_timeout_seconds": _env_number(
                env, "EVOSPIKENET_HEAD_TIMEOUT_SECONDS", 10.0, integer=False
            ),
            "nodes_file": Path(nodes_file) if nodes_file else None,
            "load_models": _env_bool(env, "EVOSPIKENET_LOAD_MODELS", True),
            "access_log": _env_bool(env, "EVOSPIKENET_ACCESS_LOG", True),
        }
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.max_wait_seconds > 60:
            raise SettingsError("EVOSPIKENET_MAX_WAIT_SECONDS must be at most 60")
        try:
            parse_networks(settings.trusted_proxies)
        except ValueError as exc:
            raise SettingsError(f"EVOSPIKENET_TRUSTED_PROXIES: {exc}") from None
        if settings.max_prompt_attempts < 1:
            raise SettingsError("EVOSPIKENET_MAX_PROMPT_ATTEMPTS must be at least 1")
        if settings.node_retention_seconds <= settings.node_offline_seconds:
            raise SettingsError(
                "EVOSPIKENET_NODE_RETENTION_SECONDS must be more than "
                f"EVOSPIKENET_NODE_OFFLINE_SECONDS ({settings.node_offline_seconds:g}), got "
                f"{settings.node_retention_seconds:g}: a node still online would be forgotten"
            )
        return settings
