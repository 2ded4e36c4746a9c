"""Zenoh sessions: the bridge listens (router mode), nodes connect to it (client mode); or,
with a separate Zenoh router, bridges and nodes all connect to that router.

Router mode on the API side means every node needs to reach one address only, the bridge's
endpoint, and nodes on other machines join by that address; traffic between nodes is routed
through it. Multicast scouting is off, so nothing is discovered or joined by accident.

Endpoints are ``tcp/HOST:PORT`` or ``tls/HOST:PORT``. TLS (server certificate, CA, mutual TLS)
and Zenoh's access control come from an optional Zenoh JSON5 config file
(``EVOSPIKENET_ZENOH_CONFIG``, ``evospikenet node --zenoh-config``): the file supplies
everything but ``mode``, multicast scouting and the listen/connect endpoints, which are the
project's (set over the file's); its access control applies where it listens (client
sessions, the nodes', turn it off), so one file can serve a bridge and its local nodes.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("evospikenet.simulation.transport")

DEFAULT_ENDPOINT = "tcp/127.0.0.1:7447"


class TransportError(RuntimeError):
    """Zenoh could not be opened as configured; the message says how."""


PROTOCOLS = ("tcp", "tls")
CONFIG_ENV = "EVOSPIKENET_ZENOH_CONFIG"


def _zenoh_error(exc: Exception) -> str:
    """Zenoh's message without its source location."""
    return str(exc).split(" at /")[0].strip()


def load_config(config_file: Path | None) -> Any:
    """A Zenoh config: the file's (JSON5, JSON or YAML) when given, else the defaults.
    Raises ``TransportError`` (one line) for a missing or invalid file."""
    import zenoh

    if config_file is None:
        return zenoh.Config()
    try:
        return zenoh.Config.from_file(str(config_file))
    except zenoh.ZError as exc:
        raise TransportError(f"Zenoh config {config_file}: {_zenoh_error(exc)}") from None


def tls_settings(config_file: Path | None) -> dict[str, Any]:
    """The ``transport/link/tls`` section of ``config_file`` (empty values left out)."""
    section = json.loads(load_config(config_file).get_json("transport/link/tls"))
    return {key: value for key, value in section.items() if value not in (None, "")}


def check_config(endpoint: str, config_file: Path | None, *, listen: bool) -> None:
    """Refuse, before Zenoh does less clearly, a ``tls/`` endpoint the config cannot serve:
    listening needs a certificate and its private key."""
    tls = tls_settings(config_file)
    if endpoint.startswith("tls/") and listen:
        missing = [k for k in ("listen_certificate", "listen_private_key") if k not in tls]
        if missing:
            raise TransportError(
                f"listening on {endpoint} needs transport/link/tls "
                f"{' and '.join(missing)} in the Zenoh config file ({CONFIG_ENV})"
            )


def _config(
    mode: str, listen: list[str], connect: list[str], config_file: Path | None = None
) -> Any:
    config = load_config(config_file)
    config.insert_json5("mode", json.dumps(mode))
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("listen/endpoints", json.dumps(listen))
    config.insert_json5("connect/endpoints", json.dumps(connect))
    if mode == "client":
        # access control is the listening side's (the bridge, or a Zenoh router): a node
        # given the server's file would otherwise judge the bridge by the nodes' rules
        config.insert_json5("access_control/enabled", "false")
    return config


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` if it is a Zenoh TCP or TLS locator (``tcp/HOST:PORT``, ``tls/HOST:PORT``).
    Other protocols are refused rather than failing later."""
    proto, _, address = endpoint.partition("/")
    host, _, port = address.rpartition(":")
    if proto not in PROTOCOLS or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TransportError(
            f"endpoint {endpoint!r} must look like tcp/127.0.0.1:7447 or tls/HOST:PORT"
        )
    return endpoint


class EndpointBusyError(TransportError):
    """The endpoint's address is taken (another server or program listens there)."""


def _endpoint_address(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.partition("/")[2].rpartition(":")
    return host.strip("[]"), int(port)


def free_endpoint(host: str = "127.0.0.1", proto: str = "tcp") -> str:
    """``PROTO/HOST:PORT`` with a port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = int(sock.getsockname()[1])
    return f"{proto}/[{host}]:{port}" if ":" in host else f"{proto}/{host}:{port}"


def open_listening(endpoint: str, config_file: Path | None = None) -> Any:
    """A router-mode session listening on ``endpoint`` (the bridge's), with ``config_file``'s
    settings (TLS, access control). Raises ``EndpointBusyError`` (a one-line message) when the
    address is taken, ``TransportError`` for anything else Zenoh refuses."""
    import zenoh

    check_config(check_endpoint(endpoint), config_file, listen=True)
    try:
        return zenoh.open(_config("router", [endpoint], [], config_file))
    except zenoh.ZError as exc:
        if "Address already in use" in str(exc):
            raise EndpointBusyError(
                f"cannot listen on {endpoint}: the address is already in use (another "
                "evospikenet server or program listens there); set EVOSPIKENET_SIM_ENDPOINT "
                "to a free tcp/HOST:PORT, or leave it unset to use a free port"
            ) from None
        raise TransportError(f"cannot listen on {endpoint}: {_zenoh_error(exc)}") from None


def open_listening_free(
    preferred: str, attempts: int = 5, config_file: Path | None = None
) -> tuple[Any, str]:
    """A listening session on ``preferred``, or, when that is taken, on a free port of the same
    host (same protocol); returns the session and the endpoint it listens on."""
    try:
        return open_listening(preferred, config_file), preferred
    except EndpointBusyError:
        host = _endpoint_address(preferred)[0]
    for attempt in range(attempts):
        endpoint = free_endpoint(host, preferred.partition("/")[0])
        try:
            return open_listening(endpoint, config_file), endpoint
        except EndpointBusyError:  # taken between the probe and the bind
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def open_connected(
    endpoint: str,
    stop: threading.Event,
    retry_every: float = 1.0,
    config_file: Path | None = None,
) -> Any | None:
    """A client session connected to ``endpoint`` (with ``config_file``'s settings), retrying
    until it answers or ``stop`` is set.

    Returns None if ``stop`` was set first. Once open, Zenoh reconnects by itself when the
    bridge restarts, keeping the subscriptions. A ``tls/`` bridge whose certificate the
    config's CA does not accept (or that wants a client certificate the config lacks) never
    answers: the node keeps waiting and says so once.
    """
    import zenoh

    check_config(check_endpoint(endpoint), config_file, listen=False)
    hint = " (for tls/: check the CA and client certificate)" if endpoint[:4] == "tls/" else ""
    waited = False
    while not stop.is_set():
        try:
            session = zenoh.open(_config("client", [], [endpoint], config_file))
        except zenoh.ZError as exc:
            if not waited:
                log.warning(
                    "waiting for the simulation bridge at %s (%s)%s",
                    endpoint,
                    _zenoh_error(exc),
                    hint,
                )
                waited = True
            time.sleep(retry_every)
            continue
        log.info("connected to the simulation bridge at %s", endpoint)
        return session
    return None


def open_router_client(router: str, wait: float = 10.0, config_file: Path | None = None) -> Any:
    """A client session connected to the Zenoh router at ``router`` (a deployment whose nodes
    and bridges all meet at one router), retrying for up to ``wait`` seconds; raises
    ``TransportError`` (one line) when the router does not answer."""
    import zenoh

    check_config(check_endpoint(router), config_file, listen=False)
    deadline = time.monotonic() + wait
    while True:
        try:
            return zenoh.open(_config("client", [], [router], config_file))
        except zenoh.ZError:
            if time.monotonic() >= deadline:
                raise TransportError(
                    f"cannot reach the Zenoh router at {router} (EVOSPIKENET_SIM_ROUTER) "
                    f"within {wait:.0f} s; start it (zenohd -l {router}) or fix the address"
                ) from None
            time.sleep(0.5)


def put_reliable(session: Any, key: str, payload: bytes) -> None:
    """Publish ``payload`` on ``key``, waiting for room instead of dropping it when Zenoh's
    send queue is full (Zenoh's default for ``put`` is to drop; large media made that real)."""
    import zenoh

    session.put(key, payload, congestion_control=zenoh.CongestionControl.BLOCK)
