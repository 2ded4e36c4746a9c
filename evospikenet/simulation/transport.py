"""Zenoh sessions: the bridge listens (router mode), nodes connect to it (client mode); or,
with a separate Zenoh router, bridges and nodes all connect to that router.

Router mode on the API side means every node needs to reach one address only, the bridge's
endpoint, and nodes on other machines join by that address; traffic between nodes is routed
through it. Multicast scouting is off, so nothing is discovered or joined by accident.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

log = logging.getLogger("evospikenet.simulation.transport")

DEFAULT_ENDPOINT = "tcp/127.0.0.1:7447"


class TransportError(RuntimeError):
    """Zenoh could not be opened as configured; the message says how."""


def _config(mode: str, listen: list[str], connect: list[str]) -> Any:
    import zenoh

    config = zenoh.Config()
    config.insert_json5("mode", json.dumps(mode))
    config.insert_json5("scouting/multicast/enabled", "false")
    if listen:
        config.insert_json5("listen/endpoints", json.dumps(listen))
    if connect:
        config.insert_json5("connect/endpoints", json.dumps(connect))
    return config


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` if it is a Zenoh TCP locator (``tcp/HOST:PORT``). TLS and QUIC need
    certificates that are not configurable here yet, so they are refused rather than failing
    later."""
    proto, _, address = endpoint.partition("/")
    host, _, port = address.rpartition(":")
    if proto != "tcp" or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TransportError(f"endpoint {endpoint!r} must look like tcp/127.0.0.1:7447")
    return endpoint


class EndpointBusyError(TransportError):
    """The endpoint's address is taken (another server or program listens there)."""


def _endpoint_address(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.partition("/")[2].rpartition(":")
    return host.strip("[]"), int(port)


def free_endpoint(host: str = "127.0.0.1") -> str:
    """``tcp/HOST:PORT`` with a port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = int(sock.getsockname()[1])
    return f"tcp/[{host}]:{port}" if ":" in host else f"tcp/{host}:{port}"


def open_listening(endpoint: str) -> Any:
    """A router-mode session listening on ``endpoint`` (the bridge's). Raises
    ``EndpointBusyError`` (a one-line message) when the address is taken."""
    import zenoh

    try:
        return zenoh.open(_config("router", [check_endpoint(endpoint)], []))
    except zenoh.ZError as exc:
        if "Address already in use" in str(exc):
            raise EndpointBusyError(
                f"cannot listen on {endpoint}: the address is already in use (another "
                "evospikenet server or program listens there); set EVOSPIKENET_SIM_ENDPOINT "
                "to a free tcp/HOST:PORT, or leave it unset to use a free port"
            ) from None
        raise TransportError(f"cannot listen on {endpoint}: {str(exc).split(' at /')[0]}") from None


def open_listening_free(preferred: str, attempts: int = 5) -> tuple[Any, str]:
    """A listening session on ``preferred``, or, when that is taken, on a free port of the same
    host; returns the session and the endpoint it listens on."""
    try:
        return open_listening(preferred), preferred
    except EndpointBusyError:
        host = _endpoint_address(preferred)[0]
    for attempt in range(attempts):
        endpoint = free_endpoint(host)
        try:
            return open_listening(endpoint), endpoint
        except EndpointBusyError:  # taken between the probe and the bind
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def open_connected(endpoint: str, stop: threading.Event, retry_every: float = 1.0) -> Any | None:
    """A client session connected to ``endpoint``, retrying until it answers or ``stop`` is set.

    Returns None if ``stop`` was set first. Once open, Zenoh reconnects by itself when the
    bridge restarts, keeping the subscriptions.
    """
    import zenoh

    check_endpoint(endpoint)
    waited = False
    while not stop.is_set():
        try:
            session = zenoh.open(_config("client", [], [endpoint]))
        except zenoh.ZError as exc:
            if not waited:
                log.warning("waiting for the simulation bridge at %s (%s)", endpoint, exc)
                waited = True
            time.sleep(retry_every)
            continue
        log.info("connected to the simulation bridge at %s", endpoint)
        return session
    return None


def open_router_client(router: str, wait: float = 10.0) -> Any:
    """A client session connected to the Zenoh router at ``router`` (a deployment whose nodes
    and bridges all meet at one router), retrying for up to ``wait`` seconds; raises
    ``TransportError`` (one line) when the router does not answer."""
    import zenoh

    check_endpoint(router)
    deadline = time.monotonic() + wait
    while True:
        try:
            return zenoh.open(_config("client", [], [router]))
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
