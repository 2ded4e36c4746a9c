"""Read the last lines of a log file on an operator-configured host, over SSH/SFTP only.

The operator lists the reachable hosts in a nodes file (see ``docs/remote-log.md``). A request
names a host (``ip``), a ``user``, a ``key_path`` and an absolute ``log_file_path``; it is served
only when all of them fit one configured entry. Nothing else is ever connected to, the client's
``key_path`` is never opened (it only has to point at the configured key), no shell command is
run on the remote host (SFTP realpath + stat + positional reads from the end of the file), a
file with more than one hard link is refused (a link in an allowed folder can name any file of
the same file system; SFTP v3 servers report the link count only in directory listings, so it
is read there), and the output is capped at :data:`MAX_OUTPUT_BYTES`.

Errors::

    RemoteLogForbidden     the request does not fit the configuration (HTTP 403)
    RemoteLogUnavailable   a configured host could not deliver the log (HTTP 502)
    ValueError             a bad nodes file, or ``lines``/``timeout`` out of range
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import stat
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import asyncssh
import yaml

__all__ = [
    "DEFAULT_LINES",
    "MAX_LINES",
    "MAX_OUTPUT_BYTES",
    "RemoteHost",
    "RemoteLogForbidden",
    "RemoteLogUnavailable",
    "load_nodes_file",
    "read_remote_log",
]

DEFAULT_SSH_PORT = 22
DEFAULT_LINES = 100
MAX_LINES = 10_000
MAX_OUTPUT_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 64 * 1024
MAX_PATH_CHARS = 4096
#: File names OpenSSH's ``ssh`` tries by default; a client ``key_path`` ending in one of them
#: means "the default key" and is mapped to the configured key.
OPENSSH_DEFAULT_KEY_NAMES = frozenset(
    {"id_rsa", "id_dsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_xmss"}
)

_log = logging.getLogger(__name__)

_ENTRY_FIELDS = frozenset(
    {
        "name",
        "host",
        "port",
        "user",
        "key_file",
        "known_hosts",
        "insecure_no_host_key_check",
        "allowed_log_dirs",
    }
)


class RemoteLogForbidden(Exception):
    """The request does not fit the operator's configuration; nothing was connected to."""


class RemoteLogUnavailable(Exception):
    """A configured host could not deliver the log (SSH, host key, timeout, missing file)."""


@dataclass(frozen=True)
class RemoteHost:
    """One host that remote_log may read from, as configured by the operator."""

    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path | None
    allowed_log_dirs: tuple[Path, ...]
    name: str | None = None

    @property
    def label(self) -> str:
        """``user@host:port`` (plus the name), for messages."""
        where = f"{self.user}@{self.host}:{self.port}"
        return f"{where} ({self.name})" if self.name else where


# --------------------------------------------------------------------------- nodes file


def load_nodes_file(path: Path) -> list[RemoteHost]:
    """Load and validate a nodes file (YAML, or JSON when the name ends in ``.json``).

    Relative ``key_file``/``known_hosts`` paths are resolved against the file's folder.
    Raises ``ValueError`` naming the file, the entry and the field for anything invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"nodes file {path}: cannot be read: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"nodes file {path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, Mapping) or set(data) != {"hosts"}:
        raise ValueError(f"nodes file {path}: must be a mapping with exactly one key, 'hosts'")
    entries = data["hosts"]
    if not isinstance(entries, list):
        raise ValueError(f"nodes file {path}: 'hosts' must be a list of host entries")
    hosts: list[RemoteHost] = []
    seen: dict[tuple[str, str], str] = {}
    for index, entry in enumerate(entries):
        where = f"nodes file {path}: hosts[{index}]"
        host = _parse_entry(entry, where, path.absolute().parent)
        identity = (_host_identity(host.host), host.user)
        if identity in seen:
            named = f"{where} ({host.name})" if host.name else where
            raise ValueError(
                f"{named} has the same host and user as {seen[identity]};"
                " a request could not tell them apart"
            )
        seen[identity] = f"hosts[{index}]"
        hosts.append(host)
    return hosts


def _parse_entry(entry: Any, where: str, base: Path) -> RemoteHost:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be a mapping")
    name = entry.get("name")
    if name is not None:
        name = _plain_string(name, f"{where}.name")
        where = f"{where} ({name})"
    unknown = sorted(str(key) for key in set(entry) - _ENTRY_FIELDS)
    if unknown:
        raise ValueError(
            f"{where}: unknown field(s) {', '.join(unknown)};"
            f" allowed: {', '.join(sorted(_ENTRY_FIELDS))}"
        )
    host = _plain_string(_required(entry, "host", where), f"{where}.host")
    user = _plain_string(_required(entry, "user", where), f"{where}.user")
    port = entry.get("port", DEFAULT_SSH_PORT)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{where}.port: must be an integer from 1 to 65535, got {port!r}")
    key_file = _local_file(_required(entry, "key_file", where), f"{where}.key_file", base)
    if _open_to_others(key_file):
        raise ValueError(
            f"{where}.key_file: {key_file} is accessible by group or others;"
            f" restrict it with: chmod 600 {key_file}"
        )
    insecure = entry.get("insecure_no_host_key_check", False)
    if not isinstance(insecure, bool):
        raise ValueError(f"{where}.insecure_no_host_key_check: must be true or false")
    known_hosts_value = entry.get("known_hosts")
    if insecure and known_hosts_value is not None:
        raise ValueError(
            f"{where}: set either known_hosts or insecure_no_host_key_check: true, not both"
        )
    if not insecure and known_hosts_value is None:
        raise ValueError(
            f"{where}.known_hosts: required (host keys are always checked unless"
            " insecure_no_host_key_check: true is set explicitly)"
        )
    known_hosts = None if insecure else _local_file(known_hosts_value, f"{where}.known_hosts", base)
    dirs = _required(entry, "allowed_log_dirs", where)
    if not isinstance(dirs, list) or not dirs:
        raise ValueError(f"{where}.allowed_log_dirs: must be a non-empty list of absolute paths")
    allowed = tuple(
        _remote_dir(value, f"{where}.allowed_log_dirs[{i}]") for i, value in enumerate(dirs)
    )
    return RemoteHost(host, port, user, key_file, known_hosts, allowed, name)


def _required(entry: Mapping[str, Any], field: str, where: str) -> Any:
    if field not in entry or entry[field] is None:
        raise ValueError(f"{where}.{field}: required")
    return entry[field]


def _plain_string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: must be a non-empty string, got {value!r}")
    if value != value.strip() or any(ch.isspace() for ch in value) or _has_control(value):
        raise ValueError(f"{where}: must not contain whitespace or control characters")
    return value


def _local_file(value: Any, where: str, base: Path) -> Path:
    if not isinstance(value, str) or not value or _has_control(value):
        raise ValueError(f"{where}: must be a file path string, got {value!r}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ValueError(f"{where}: no such file: {path}")
    return path


def _open_to_others(key_file: Path) -> bool:
    """Whether a private key file grants any access to group or others (POSIX only)."""
    return os.name == "posix" and bool(key_file.stat().st_mode & 0o077)


def _remote_dir(value: Any, where: str) -> Path:
    if not isinstance(value, str) or _has_control(value) or not value.startswith("/"):
        raise ValueError(f"{where}: must be an absolute directory path, got {value!r}")
    if ".." in value.split("/"):
        raise ValueError(f"{where}: must not contain '..'")
    normalized = _normalize_posix(value)
    if normalized == PurePosixPath("/"):
        raise ValueError(f"{where}: '/' would expose every file on the host; name a log directory")
    return Path(str(normalized))


def _host_identity(host: str) -> str:
    """A canonical form of a host for comparisons: parsed IP address, else lower-case name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.rstrip(".").lower()


# --------------------------------------------------------------------------- request checks


def _select_host(hosts: Sequence[RemoteHost], *, ip: str, user: str) -> RemoteHost:
    wanted = _host_identity(ip) if isinstance(ip, str) else None
    for_ip = [h for h in hosts if wanted is not None and _host_identity(h.host) == wanted]
    if not for_ip:
        raise RemoteLogForbidden(f"host {_show(ip)} is not configured for remote_log")
    for host in for_ip:
        if host.user == user:
            return host
    raise RemoteLogForbidden(f"user {_show(user)} is not configured for host {_show(ip)}")


def _check_key_path(host: RemoteHost, key_path: str) -> None:
    """Accept ``key_path`` iff it designates the configured key; it is never opened.

    Accepted: empty; or a path whose last component (``/`` or ``\\`` separated) is an OpenSSH
    default identity name (``id_rsa``, ``id_ed25519``, ...) or the configured key file's name.
    """
    if not isinstance(key_path, str) or _has_control(key_path):
        raise RemoteLogForbidden("key_path contains control characters")
    requested = key_path.strip()
    if not requested:
        return
    basename = requested.replace("\\", "/").rsplit("/", 1)[-1]
    if basename in OPENSSH_DEFAULT_KEY_NAMES or basename == host.key_file.name:
        return
    raise RemoteLogForbidden(
        f"key_path {_show(key_path)} is not among the keys configured for {host.label}; use the"
        f" configured key's file name {host.key_file.name!r}, a default name such as"
        " '~/.ssh/id_rsa', or leave it empty"
    )


def _requested_log_path(host: RemoteHost, log_file_path: str) -> PurePosixPath:
    if not isinstance(log_file_path, str) or not log_file_path:
        raise RemoteLogForbidden("log_file_path must be a non-empty string")
    if len(log_file_path) > MAX_PATH_CHARS:
        raise RemoteLogForbidden(f"log_file_path is longer than {MAX_PATH_CHARS} characters")
    if _has_control(log_file_path):
        raise RemoteLogForbidden("log_file_path contains NUL or control characters")
    if not log_file_path.startswith("/"):
        raise RemoteLogForbidden(f"log_file_path {_show(log_file_path)} is not an absolute path")
    if ".." in log_file_path.split("/"):
        raise RemoteLogForbidden(f"log_file_path {_show(log_file_path)} contains '..'")
    path = _normalize_posix(log_file_path)
    if not _inside_any(path, (PurePosixPath(d.as_posix()) for d in host.allowed_log_dirs)):
        raise RemoteLogForbidden(
            f"log_file_path {_show(str(path))} is outside the allowed log directories of"
            f" {host.label}: {', '.join(d.as_posix() for d in host.allowed_log_dirs)}"
        )
    return path


def _normalize_posix(path: str) -> PurePosixPath:
    """Collapse ``//`` and ``.`` components (``..`` must already have been rejected)."""
    return PurePosixPath("/" + "/".join(p for p in path.split("/") if p not in ("", ".")))


def _inside_any(path: PurePosixPath, dirs: Iterable[PurePosixPath]) -> bool:
    return any(path != d and path.is_relative_to(d) for d in dirs)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def _show(value: object, limit: int = 120) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


# --------------------------------------------------------------------------- reading


async def read_remote_log(
    hosts: Sequence[RemoteHost],
    *,
    user: str,
    ip: str,
    key_path: str,
    log_file_path: str,
    lines: int = DEFAULT_LINES,
    timeout: float = 10.0,
) -> str:
    """Return the last ``lines`` lines of ``log_file_path`` on the configured host ``ip``.

    All checks against ``hosts`` happen before any connection. The text is decoded as UTF-8
    (invalid bytes replaced) and holds at most :data:`MAX_OUTPUT_BYTES` bytes of the file,
    starting at a line boundary whenever the file has one within that window.

    Raises :class:`RemoteLogForbidden`, :class:`RemoteLogUnavailable`, or ``ValueError`` for
    ``lines`` outside 1..:data:`MAX_LINES` or a non-positive ``timeout``.
    """
    if isinstance(lines, bool) or not isinstance(lines, int) or not 1 <= lines <= MAX_LINES:
        raise ValueError(f"lines must be an integer from 1 to {MAX_LINES}, got {lines!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    try:
        host = _select_host(hosts, ip=ip, user=user)
        _check_key_path(host, key_path)
        path = _requested_log_path(host, log_file_path)
        try:
            async with asyncio.timeout(timeout):
                data = await _fetch_tail(host, path, lines)
        except TimeoutError:
            raise RemoteLogUnavailable(
                f"{host.label}: no complete answer within {timeout:g} s while reading {path}"
            ) from None
    except RemoteLogForbidden as exc:
        _log.warning("remote_log refused: %s", exc)
        raise
    except RemoteLogUnavailable as exc:
        _log.warning("remote_log failed: %s", exc)
        raise
    _log.info("remote_log read %d bytes of %s from %s", len(data), path, host.label)
    return data.decode("utf-8", errors="replace")


async def _fetch_tail(host: RemoteHost, path: PurePosixPath, lines: int) -> bytes:
    """Connect with the configured key and host-key check, then tail ``path`` over SFTP."""
    client_key = _load_client_key(host)
    known_hosts = _load_known_hosts(host)
    try:
        async with (
            asyncssh.connect(
                host.host,
                host.port,
                username=host.user,
                client_keys=[client_key],
                known_hosts=known_hosts,
                config=None,
                agent_path=None,
                agent_identities=None,
                agent_forwarding=False,
                preferred_auth="publickey",
                password=None,
                gss_kex=False,
                gss_auth=False,
            ) as conn,
            conn.start_sftp_client() as sftp,
        ):
            return await _tail_via_sftp(sftp, host, path, lines)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise RemoteLogUnavailable(
            f"{host.label}: host key not accepted by known_hosts file {host.known_hosts}"
            f" ({exc.reason})"
        ) from None
    except asyncssh.PermissionDenied:
        raise RemoteLogUnavailable(
            f"{host.label}: SSH authentication with the configured key {host.key_file} failed"
        ) from None
    except asyncssh.SFTPNoSuchFile:
        raise RemoteLogUnavailable(f"{host.label}: log file {path} does not exist") from None
    except asyncssh.SFTPPermissionDenied:
        raise RemoteLogUnavailable(
            f"{host.label}: permission denied reading log file {path}"
        ) from None
    except asyncssh.SFTPError as exc:
        raise RemoteLogUnavailable(f"{host.label}: SFTP error on {path}: {exc.reason}") from None
    except asyncssh.ChannelOpenError as exc:
        raise RemoteLogUnavailable(f"{host.label}: SFTP not available: {exc.reason}") from None
    except asyncssh.Error as exc:
        raise RemoteLogUnavailable(f"{host.label}: SSH connection failed: {exc.reason}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RemoteLogUnavailable(f"{host.label}: cannot connect: {reason}") from None


def _load_client_key(host: RemoteHost) -> asyncssh.SSHKey:
    """Load the configured private key; its contents never appear in an error message."""
    try:
        mode = host.key_file.stat().st_mode
    except OSError as exc:
        raise RemoteLogUnavailable(
            f"{host.label}: configured key file {host.key_file} cannot be read ({exc.strerror})"
        ) from None
    if os.name == "posix" and mode & 0o077:
        raise RemoteLogUnavailable(
            f"{host.label}: configured key file {host.key_file} is accessible by group or others"
            f" (mode {stat.S_IMODE(mode):o}); restrict it with: chmod 600 {host.key_file}"
        )
    try:
        return asyncssh.read_private_key(host.key_file)
    except (asyncssh.KeyImportError, OSError, ValueError):
        raise RemoteLogUnavailable(
            f"{host.label}: configured key file {host.key_file} cannot be loaded as an"
            " unencrypted private key (passphrase-protected keys are not supported)"
        ) from None


def _load_known_hosts(host: RemoteHost) -> asyncssh.SSHKnownHosts | None:
    if host.known_hosts is None:
        return None
    try:
        return asyncssh.read_known_hosts(str(host.known_hosts))
    except (OSError, ValueError, asyncssh.KeyImportError) as exc:
        raise RemoteLogUnavailable(
            f"{host.label}: known_hosts file {host.known_hosts} cannot be read"
            f" ({type(exc).__name__})"
        ) from None


async def _tail_via_sftp(
    sftp: asyncssh.SFTPClient, host: RemoteHost, path: PurePosixPath, lines: int
) -> bytes:
    """Resolve symlinks, re-check the allowed dirs, then read the tail of a regular file."""
    real = PurePosixPath(await sftp.realpath(str(path)))
    allowed = [PurePosixPath(d.as_posix()) for d in host.allowed_log_dirs]
    if not _inside_any(real, allowed):
        allowed += [await _remote_realpath(sftp, d) for d in list(allowed)]
        if not _inside_any(real, allowed):
            raise RemoteLogForbidden(
                f"log_file_path {_show(str(path))} resolves to {_show(str(real))}, outside the"
                f" allowed log directories of {host.label}"
            )
    # stat before open: opening a FIFO or device could block or never end.
    attrs = await sftp.stat(str(real))
    if not _is_regular(attrs):
        raise RemoteLogUnavailable(f"{host.label}: {path} is not a regular file")
    links = attrs.nlink if attrs.nlink is not None else await _listed_link_count(sftp, real)
    if links != 1:
        raise RemoteLogForbidden(
            f"log_file_path {_show(str(path))} has "
            f"{'an unknown number of' if links is None else links} hard links on {host.label}; "
            "a hard link can bring a file from outside the allowed directories in, so only "
            "files with exactly one link are served"
        )
    async with sftp.open(str(real), "rb") as handle:
        attrs = await handle.stat()
        if not _is_regular(attrs) or attrs.size is None:
            raise RemoteLogUnavailable(f"{host.label}: {path} is not a regular file")
        return await _read_last_lines(handle, attrs.size, lines, host, path)


async def _listed_link_count(sftp: asyncssh.SFTPClient, real: PurePosixPath) -> int | None:
    """The link count of ``real`` from its folder's listing (``ls -l`` style long names)."""
    try:
        names = await sftp.readdir(str(real.parent))
    except asyncssh.SFTPError:
        return None
    for name in names:
        if name.filename in (real.name, real.name.encode()):
            if name.attrs.nlink is not None:
                return int(name.attrs.nlink)
            fields = (
                (name.longname or b"").split()
                if isinstance(name.longname, bytes)
                else ((name.longname or "").split())
            )
            return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return None


async def _remote_realpath(sftp: asyncssh.SFTPClient, directory: PurePosixPath) -> PurePosixPath:
    try:
        return PurePosixPath(await sftp.realpath(str(directory)))
    except asyncssh.SFTPError:
        return directory


def _is_regular(attrs: asyncssh.SFTPAttrs) -> bool:
    if attrs.permissions is not None:
        return stat.S_ISREG(attrs.permissions)
    return attrs.type == asyncssh.FILEXFER_TYPE_REGULAR


async def _read_last_lines(
    handle: asyncssh.SFTPClientFile,
    size: int,
    lines: int,
    host: RemoteHost,
    path: PurePosixPath,
) -> bytes:
    """Read chunks backwards from ``size`` until ``lines`` lines or the byte cap are covered."""
    chunks: list[bytes] = []
    position = size
    collected = 0
    newlines = 0
    # One newline more than requested marks the start of the first wanted line; a final
    # newline ends the last line rather than starting another.
    needed = lines + 1
    while position > 0 and collected < MAX_OUTPUT_BYTES and newlines < needed:
        length = min(READ_CHUNK_BYTES, position, MAX_OUTPUT_BYTES - collected)
        position -= length
        chunk = await _read_exactly(handle, position, length)
        if len(chunk) != length:
            raise RemoteLogUnavailable(f"{host.label}: {path} shrank while being read (rotated?)")
        chunks.append(chunk)
        collected += length
        newlines += chunk.count(b"\n")
    data = b"".join(reversed(chunks))
    return _last_lines(data, lines, complete=position == 0)


async def _read_exactly(handle: asyncssh.SFTPClientFile, offset: int, length: int) -> bytes:
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        part = await handle.read(remaining, offset + length - remaining)
        if not isinstance(part, bytes) or not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _last_lines(data: bytes, lines: int, *, complete: bool) -> bytes:
    """The last ``lines`` lines of ``data``; ``complete`` says whether it starts the file."""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    cut = end
    for _ in range(lines):
        cut = data.rfind(b"\n", 0, cut)
        if cut < 0:
            break
    if cut >= 0:
        return data[cut + 1 :]
    if complete:
        return data
    # The byte cap was hit inside a line: drop the partial first line if a whole one follows,
    # else keep the cut line but do not start in the middle of a UTF-8 sequence.
    first_newline = data.find(b"\n")
    if 0 <= first_newline < len(data) - 1:
        return data[first_newline + 1 :]
    start = 0
    while start < len(data) and data[start] & 0xC0 == 0x80:
        start += 1
    return data[start:]
