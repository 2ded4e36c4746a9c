"""The simulation inside ``evospikenet serve``: the bridge, and (by default) local nodes.

``server_plugin`` is a plugin for ``evospikenet.server.app.create_app(settings, plugins=...)``:
it starts the :class:`SimulationBridge` on the server's queue and node registry, then one local
node of each role, and stops both with the server. ``bridge_plugin`` starts the bridge only,
for deployments whose nodes run elsewhere. Environment:

- ``EVOSPIKENET_SIM_ENDPOINT``: where the bridge listens. Unset: ``tcp/127.0.0.1:7447``, or a
  free loopback port when that is taken (e.g. by another server on this machine; the log line
  and the local nodes name the port). Set and taken: the server stops with one line.
- ``EVOSPIKENET_SIM_ROUTER``: a Zenoh router (``tcp/HOST:PORT``, e.g. ``zenohd``) that the
  bridge connects to instead of listening; local nodes connect to it too, nodes on other
  machines join there, and the bridges of several API processes may share it (each prompt is
  still claimed once, in the database).
- ``EVOSPIKENET_SIM_KEY``: shared message key (HMAC), the same on every node; required for an
  endpoint beyond loopback unless ``EVOSPIKENET_SIM_ALLOW_OPEN=true``. Unset on a server with
  API (or node) keys, the bridge uses a generated key kept in ``<data dir>/simulation.key``
  (mode 0600, made once, shared by the processes of one data folder): local nodes are given
  it, nodes elsewhere need ``EVOSPIKENET_SIM_KEY`` set to that file's contents. A process on
  this machine without the key can then neither heartbeat, acknowledge nor answer.
  ``EVOSPIKENET_SIM_ALLOW_OPEN=true`` runs without a key even then (not recommended).
- ``EVOSPIKENET_ZENOH_CONFIG``: a Zenoh JSON5 config file for the bridge's session (TLS
  certificates and CA for a ``tls/`` endpoint, ``enable_mtls``, access control); mode,
  scouting and endpoints stay the project's. Local nodes are given the same file
  (``--zenoh-config``), so it holds their client certificate too under mutual TLS.
- ``EVOSPIKENET_SIM_LOCAL_NODES``: ``false`` keeps the bridge but launches no local nodes.
- ``EVOSPIKENET_SIM_LOG_DIR``: the local nodes' log folder (default ``<data dir>/logs``).
- ``EVOSPIKENET_SIM_NODE_OPTIONS``: extra ``evospikenet node`` options for local nodes
  (shell syntax, e.g. ``--max-new-tokens 16``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zenoh  # noqa: F401  (missing simulation extra: serve.py sees ModuleNotFoundError here)

from evospikenet.server.startup import StartupError
from evospikenet.simulation.bridge import BridgeError, SimulationBridge
from evospikenet.simulation.launcher import LocalNodes, launch_local_nodes
from evospikenet.simulation.transport import CONFIG_ENV, DEFAULT_ENDPOINT, TransportError

log = logging.getLogger("evospikenet.simulation.bridge")

KEY_FILE = "simulation.key"
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE | FALSE:
        return raw in TRUE
    raise ValueError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class SimulationConfig:
    """The simulation's settings inside the server (read from the environment)."""

    endpoint: str
    endpoint_configured: bool
    router: str | None
    zenoh_config: Path | None
    sim_key: bytes | None
    allow_open: bool
    local_nodes: bool
    log_dir: Path
    node_options: tuple[str, ...]

    @classmethod
    def from_env(cls, data_dir: Path) -> SimulationConfig:
        """Read the ``EVOSPIKENET_SIM_*`` variables."""
        key = os.environ.get("EVOSPIKENET_SIM_KEY", "").strip()
        log_dir = os.environ.get("EVOSPIKENET_SIM_LOG_DIR", "").strip()
        endpoint = os.environ.get("EVOSPIKENET_SIM_ENDPOINT", "").strip()
        zenoh_config = os.environ.get(CONFIG_ENV, "").strip()
        return cls(
            endpoint=endpoint or DEFAULT_ENDPOINT,
            endpoint_configured=bool(endpoint),
            router=os.environ.get("EVOSPIKENET_SIM_ROUTER", "").strip() or None,
            zenoh_config=Path(zenoh_config) if zenoh_config else None,
            sim_key=key.encode("utf-8") if key else None,
            allow_open=_flag("EVOSPIKENET_SIM_ALLOW_OPEN", False),
            local_nodes=_flag("EVOSPIKENET_SIM_LOCAL_NODES", True),
            log_dir=Path(log_dir) if log_dir else Path(data_dir) / "logs",
            node_options=tuple(shlex.split(os.environ.get("EVOSPIKENET_SIM_NODE_OPTIONS", ""))),
        )


def stored_key(data_dir: Path) -> bytes:
    """The generated message key in ``<data_dir>/simulation.key``, made (0600) if missing.

    Written to a temp file and linked into place, so concurrent starts agree on one key.
    """
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        temp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temp.unlink(missing_ok=True)
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise StartupError(f"simulation bridge: {path} holds no usable key; delete it")
    return key


def with_default_key(config: SimulationConfig, settings: Any) -> SimulationConfig:
    """``config`` with the generated key when the server has keys and no message key is set
    (unless ``EVOSPIKENET_SIM_ALLOW_OPEN=true``)."""
    has_keys = bool(tuple(settings.api_keys) or tuple(getattr(settings, "node_keys", ())))
    if config.sim_key is not None or not has_keys or config.allow_open:
        return config
    key = stored_key(Path(settings.data_dir))
    log.info(
        "simulation messages are authenticated with the generated key in %s; nodes on other "
        "machines need EVOSPIKENET_SIM_KEY set to its contents",
        Path(settings.data_dir) / KEY_FILE,
    )
    return dataclasses.replace(config, sim_key=key)


def _api_url(settings: Any) -> str:
    host = str(settings.host)
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def make_bridge(state: Any, config: SimulationConfig) -> SimulationBridge:
    """A bridge on the server's queue and node registry (``state`` is the ServerState)."""
    return SimulationBridge(
        state.brain.queue,
        state.brain.nodes,
        endpoint=config.endpoint,
        offline_after=state.settings.node_offline_seconds,
        sim_key=config.sim_key,
        allow_unauthenticated=config.allow_open,
        any_free_port=not config.endpoint_configured,
        router=config.router,
        zenoh_config=config.zenoh_config,
    )


@contextlib.asynccontextmanager
async def _run(state: Any, *, local_nodes: bool) -> AsyncIterator[SimulationBridge]:
    from starlette.concurrency import run_in_threadpool

    config = with_default_key(SimulationConfig.from_env(state.settings.data_dir), state.settings)
    try:
        bridge = make_bridge(state, config)
        await run_in_threadpool(bridge.start)
    except (BridgeError, TransportError) as exc:
        raise StartupError(f"simulation bridge: {exc}") from None
    nodes: LocalNodes | None = None
    try:
        if local_nodes and config.local_nodes:
            keys = tuple(state.settings.api_keys)
            nodes = launch_local_nodes(
                bridge.endpoint,
                _api_url(state.settings),
                config.log_dir,
                keys[0] if keys else None,
                sim_key=config.sim_key,
                zenoh_config=config.zenoh_config,
                extra_args=config.node_options,
            )
        state.extras["simulation_bridge"] = bridge
        yield bridge
    finally:
        if nodes is not None:
            await run_in_threadpool(nodes.stop)
        await run_in_threadpool(bridge.stop)


def server_plugin(app: Any, state: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """The bridge plus local nodes (unless ``EVOSPIKENET_SIM_LOCAL_NODES=false``)."""
    return _run(state, local_nodes=True)


def bridge_plugin(app: Any, state: Any) -> contextlib.AbstractAsyncContextManager[Any]:
    """The bridge only (``evospikenet serve --no-nodes``: nodes run elsewhere)."""
    return _run(state, local_nodes=False)
