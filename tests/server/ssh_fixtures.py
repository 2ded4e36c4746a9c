"""A real SSH/SFTP server on 127.0.0.1 for tests: asyncssh's own server, keys made on the spot.

``ssh_server(workdir)`` is an async context manager for tests that run on one event loop;
``ssh_server_in_thread(workdir)`` runs the same server on its own loop in a background thread,
for sync tests whose HTTP server (another thread or process) connects to it. Both write into
``workdir``: a host key, a client key (mode 600), ``known_hosts`` (``[127.0.0.1]:PORT ...``),
``nodes.yaml`` (a remote_log nodes file for the server) and a ``logs/`` directory (the allowed
log directory unless ``allowed_log_dirs`` is given).

The server accepts only ``user`` with the generated client key, serves SFTP only (no shell, no
exec, no scp), and counts the connections it received (``SSHTestServer.connections()``), so a
test can prove that nothing connected.

Import from a test module: ``from ssh_fixtures import ...`` when ``tests/server`` has no
``__init__.py`` (pytest's default ``prepend`` import mode puts the folder on ``sys.path``),
``from .ssh_fixtures import ...`` when it has one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import yaml

from evospikenet.server.remote_log import RemoteHost, load_nodes_file

LOOPBACK = "127.0.0.1"
KEY_ALGORITHM = "ssh-ed25519"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SSHTestServer:
    """Where the test SSH server listens and the files made for it."""

    host: str
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    nodes_file: Path
    log_dir: Path
    host_key: asyncssh.SSHKey
    _connections: list[int] = field(repr=False)

    def connections(self) -> int:
        """How many TCP connections the server accepted so far."""
        return len(self._connections)

    def remote_hosts(self) -> list[RemoteHost]:
        """The nodes file, loaded the way the API server loads it."""
        return load_nodes_file(self.nodes_file)


class _OneUserServer(asyncssh.SSHServer):
    """Accepts public-key auth for one user and one key; counts connections."""

    def __init__(self, user: str, client_key: asyncssh.SSHKey, connections: list[int]) -> None:
        self._user = user
        self._client_public = client_key.public_data
        self._connections = connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.append(1)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._user and key.public_data == self._client_public


def write_private_key(key: asyncssh.SSHKey, path: Path) -> Path:
    """Write ``key`` in OpenSSH format with mode 600 and return ``path``."""
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)
    return path


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    """A known_hosts line for ``key`` at ``host:port`` (bracketed form when the port is not 22)."""
    pattern = host if port == 22 else f"[{host}]:{port}"
    return f"{pattern} {key.export_public_key().decode('ascii').strip()}\n"


def write_nodes_file(
    path: Path,
    *,
    host: str,
    port: int,
    user: str,
    key_file: Path,
    known_hosts: Path,
    allowed_log_dirs: Sequence[Path],
    name: str = "test-ssh",
) -> Path:
    """Write a one-host remote_log nodes file."""
    entry = {
        "name": name,
        "host": host,
        "port": port,
        "user": user,
        "key_file": str(key_file),
        "known_hosts": str(known_hosts),
        "allowed_log_dirs": [str(d) for d in allowed_log_dirs],
    }
    path.write_text(yaml.safe_dump({"hosts": [entry]}, sort_keys=False), encoding="utf-8")
    return path


@asynccontextmanager
async def ssh_server(
    workdir: Path,
    *,
    user: str = "sim",
    allowed_log_dirs: Sequence[Path] | None = None,
) -> AsyncIterator[SSHTestServer]:
    """Start an SFTP-only SSH server on 127.0.0.1 (free port) for the lifetime of the block."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    log_dir.mkdir(exist_ok=True)
    host_key = asyncssh.generate_private_key(KEY_ALGORITHM)
    client_key = asyncssh.generate_private_key(KEY_ALGORITHM)
    client_key_file = write_private_key(client_key, workdir / "id_ed25519_test")
    connections: list[int] = []
    listener = await asyncssh.create_server(
        lambda: _OneUserServer(user, client_key, connections),
        LOOPBACK,
        0,
        server_host_keys=[host_key],
        sftp_factory=True,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
    )
    try:
        port = listener.sockets[0].getsockname()[1]
        known_hosts = workdir / "known_hosts"
        known_hosts.write_text(known_hosts_line(LOOPBACK, port, host_key), encoding="ascii")
        nodes_file = write_nodes_file(
            workdir / "nodes.yaml",
            host=LOOPBACK,
            port=port,
            user=user,
            key_file=client_key_file,
            known_hosts=known_hosts,
            allowed_log_dirs=list(allowed_log_dirs) if allowed_log_dirs else [log_dir],
        )
        yield SSHTestServer(
            host=LOOPBACK,
            port=port,
            user=user,
            client_key=client_key_file,
            known_hosts=known_hosts,
            nodes_file=nodes_file,
            log_dir=log_dir,
            host_key=host_key,
            _connections=connections,
        )
    finally:
        listener.close()
        await listener.wait_closed()


@contextmanager
def ssh_server_in_thread(
    workdir: Path,
    *,
    user: str = "sim",
    allowed_log_dirs: Sequence[Path] | None = None,
) -> Iterator[SSHTestServer]:
    """Like :func:`ssh_server`, on a private event loop in a daemon thread (for sync tests)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="ssh-test-server", daemon=True)
    thread.start()
    try:
        manager = ssh_server(workdir, user=user, allowed_log_dirs=allowed_log_dirs)
        started = asyncio.run_coroutine_threadsafe(manager.__aenter__(), loop)
        server = started.result(timeout=START_TIMEOUT_S)
        try:
            yield server
        finally:
            stopped = asyncio.run_coroutine_threadsafe(manager.__aexit__(None, None, None), loop)
            stopped.result(timeout=START_TIMEOUT_S)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=START_TIMEOUT_S)
        loop.close()
