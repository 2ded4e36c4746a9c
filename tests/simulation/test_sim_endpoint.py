"""The bridge's endpoint: a second server on the same machine does not die on a taken port."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from live_server import TEST_KEY, LiveServer
from sim_cluster import loopback_endpoint

from evospikenet.simulation.bridge import SimulationBridge
from evospikenet.simulation.transport import EndpointBusyError, open_listening


class _Nothing:
    """Queue and registry stand-ins: every call finds nothing (no node talks here)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: []


def _listener(endpoint: str) -> socket.socket:
    host, _, port = endpoint.partition("/")[2].rpartition(":")
    sock = socket.socket()
    sock.bind((host, int(port)))
    sock.listen()
    return sock


def test_taken_default_endpoint_falls_back_to_a_free_port():
    taken = loopback_endpoint()
    with _listener(taken):
        bridge = SimulationBridge(_Nothing(), _Nothing(), endpoint=taken, any_free_port=True)  # type: ignore[arg-type]
        bridge.start()
        try:
            assert bridge.endpoint != taken
            assert bridge.endpoint.startswith("tcp/127.0.0.1:")
        finally:
            bridge.stop()


def test_taken_configured_endpoint_is_one_line():
    taken = loopback_endpoint()
    with _listener(taken), pytest.raises(EndpointBusyError) as caught:
        open_listening(taken)
    message = str(caught.value)
    assert "\n" not in message and "already in use" in message
    assert "EVOSPIKENET_SIM_ENDPOINT" in message


def test_second_server_on_a_taken_endpoint_exits_with_one_line(make_server, tmp_path):
    endpoint = loopback_endpoint()
    first = make_server(EVOSPIKENET_LOAD_MODELS="false", EVOSPIKENET_SIM_ENDPOINT=endpoint)
    second = LiveServer(
        tmp_path / "second",
        api_key=TEST_KEY,
        env={"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_SIM_ENDPOINT": endpoint},
    )
    try:
        with pytest.raises(RuntimeError, match="exited with 2"):
            second.start()
        log = second.read_log()
        assert "Traceback" not in log
        errors = [line for line in log.splitlines() if "already in use" in line]
        assert len(errors) == 1 and errors[0].startswith("evospikenet serve: simulation bridge:")
        assert endpoint in errors[0]
        assert first.process is not None and first.process.poll() is None  # unharmed
    finally:
        second.close()
