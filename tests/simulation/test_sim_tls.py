"""Nodes on other hosts: the bridge over Zenoh TLS with mutual TLS and access control, set up by
a Zenoh JSON5 file (``EVOSPIKENET_ZENOH_CONFIG`` / ``--zenoh-config``). Real certificates made
here, real Zenoh, real node processes (issue 15)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from live_server import MakeServer
from sim_cluster import NodeProcess, free_port, wait_until
from sim_media import solid_image
from sim_tls import issue, make_ca, write_zenoh_config
from test_sim_bridge import _service

from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet.server.brain.service import BrainService
from evospikenet.simulation import topics
from evospikenet.simulation.bridge import BridgeError, SimulationBridge
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.transport import TransportError, open_connected, open_router_client

SIM_KEY = b"0123456789abcdef0123456789abcdef"
NODE_CN = "evospikenet-node"

# The access-control example of docs/simulation.md: only certificates with the nodes' common
# name may publish or subscribe, and only on the simulation's key expressions.
ACCESS_CONTROL = {
    "enabled": True,
    "default_permission": "deny",
    "rules": [
        {
            "id": "simulation",
            "permission": "allow",
            "flows": ["ingress", "egress"],
            "messages": ["put", "declare_subscriber"],
            "key_exprs": ["evospikenet/**", "heartbeat/**"],
        }
    ],
    "subjects": [{"id": "nodes", "cert_common_names": [NODE_CN]}],
    "policies": [{"rules": ["simulation"], "subjects": ["nodes"]}],
}


@dataclass
class TlsBrain:
    """A bridge listening on ``tls/127.0.0.1:<port>`` and the config files of the test's PKI."""

    service: BrainService
    bridge: SimulationBridge
    endpoint: str
    configs: dict[str, Path]
    logs: Path
    nodes: list[NodeProcess]

    def start_node(self, role: str, rank: int, config: str, *extra: str) -> NodeProcess:
        node = NodeProcess(
            role, rank, self.endpoint, self.logs,
            "--zenoh-config", str(self.configs[config]), *extra,
            env={"EVOSPIKENET_SIM_KEY": SIM_KEY.decode(), "EVOSPIKENET_ZENOH_CONFIG": ""},
        )  # fmt: skip
        self.nodes.append(node)
        return node

    def listed(self) -> set[str]:
        return {str(node["id"]) for node in self.service.nodes.list()}

    def result(self, prompt_id: str) -> dict[str, Any]:
        def terminal() -> dict[str, Any] | None:
            found = self.service.queue.get(prompt_id)
            return found if found and found["state"] in ("completed", "failed") else None

        return wait_until(terminal, 60)


def _pki(folder: Path) -> dict[str, Path]:
    """A CA with a server certificate and client certificates, a foreign CA with its own
    client certificate, and one Zenoh config file per kind of peer."""
    folder.mkdir()
    ca, foreign = make_ca(folder, "ca"), make_ca(folder, "foreign-ca")
    server_cert, server_key = issue(ca, folder, "bridge", server=True)
    node_cert, node_key = issue(ca, folder, NODE_CN, server=False)
    other_cert, other_key = issue(ca, folder, "intruder", server=False)
    alien_cert, alien_key = issue(foreign, folder, "alien", server=False)

    def client(name: str, trust: Path, cert: Path | None, key: Path | None) -> Path:
        tls: dict[str, Any] = {"root_ca_certificate": trust}
        if cert and key:
            tls |= {"connect_certificate": cert, "connect_private_key": key, "enable_mtls": True}
        return write_zenoh_config(folder / f"{name}.json5", tls)

    bridge_tls = {
        "root_ca_certificate": ca.pem,
        "listen_certificate": server_cert,
        "listen_private_key": server_key,
        "enable_mtls": True,
    }
    local_nodes = {"connect_certificate": node_cert, "connect_private_key": node_key}
    return {
        "bridge": write_zenoh_config(
            folder / "bridge.json5", bridge_tls, access_control=ACCESS_CONTROL
        ),
        # what `evospikenet serve` is given: its local nodes read the same file
        "server": write_zenoh_config(
            folder / "server.json5", bridge_tls | local_nodes, access_control=ACCESS_CONTROL
        ),
        "node": client("node", ca.pem, node_cert, node_key),
        "no-client-cert": client("no-client-cert", ca.pem, None, None),
        "foreign-cert": client("foreign-cert", ca.pem, alien_cert, alien_key),
        "foreign-ca": client("foreign-ca", foreign.pem, node_cert, node_key),
        "intruder": client("intruder", ca.pem, other_cert, other_key),
    }


@pytest.fixture(scope="module")
def tls_brain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBrain]:
    root = tmp_path_factory.mktemp("tls")
    configs = _pki(root / "pki")
    service = _service(root)
    endpoint = f"tls/127.0.0.1:{free_port()}"
    bridge = SimulationBridge(
        service.queue, service.nodes, endpoint=endpoint, sim_key=SIM_KEY,
        zenoh_config=configs["bridge"],
    )  # fmt: skip
    bridge.start()
    brain = TlsBrain(service, bridge, endpoint, configs, root / "logs", [])
    try:
        brain.start_node("coordinator", 0, "node", "--role-wait-seconds", "20")
        brain.start_node("vision", 2, "node")
        wait_until(lambda: {"node-coordinator-0", "node-vision-2"} <= brain.listed(), 90, 0.2)
        yield brain
    finally:
        for node in brain.nodes:
            node.stop()
        bridge.stop()
        service.queue.database.dispose()


def test_a_prompt_completes_over_mutual_tls(tls_brain: TlsBrain) -> None:
    prompt_id = tls_brain.service.queue.submit(
        text=None, image=solid_image((220, 20, 20)), audio=None, priority=5, session_id=None
    )["prompt_id"]
    result = tls_brain.result(prompt_id)
    assert result["state"] == "completed", result
    assert "dominant colour red" in result["response"]
    # the endpoint speaks TLS only: a plain TCP Zenoh client gets no session
    plain = tls_brain.endpoint.replace("tls/", "tcp/")
    with pytest.raises(TransportError, match="cannot reach"):
        open_router_client(plain, wait=1.0)


@pytest.mark.parametrize("config", ["no-client-cert", "foreign-cert", "foreign-ca"])
def test_a_node_without_the_right_certificate_cannot_join(tls_brain: TlsBrain, config: str) -> None:
    """Each of these nodes has the message key: only TLS keeps it out."""
    rank = 10 + ["no-client-cert", "foreign-cert", "foreign-ca"].index(config)
    node = tls_brain.start_node("coordinator", rank, config, "--node-id", f"outsider-{rank}")
    try:
        wait_until(lambda: "waiting for the simulation bridge" in node.output(), 30, 0.2)
        time.sleep(3.0)  # more than a heartbeat period, had it connected
        assert node.alive(), node.output()
        assert "connected to the simulation bridge" not in node.output()
        assert f"outsider-{rank}" not in tls_brain.listed()
        assert tls_brain.bridge.peers.get(f"outsider-{rank}") is None
        assert "node-coordinator-0" in tls_brain.listed()  # the right certificate did join
    finally:
        node.stop()


def test_access_control_keeps_a_valid_certificate_of_another_name_out(
    tls_brain: TlsBrain,
) -> None:
    """The intruder's certificate is signed by the right CA, so TLS lets it in, and it even
    has the message key; the access-control rules still give it nothing."""
    codec, stop = Codec(SIM_KEY), threading.Event()
    session = open_connected(tls_brain.endpoint, stop, config_file=tls_brain.configs["intruder"])
    assert session is not None
    try:
        seen: list[str] = []  # what reaches the intruder from others (Zenoh also delivers
        # a session's own puts to its own subscribers: those are left out)
        for key in (topics.PROMPT, topics.HEARTBEAT_ALL):
            session.declare_subscriber(key, lambda s: seen.append(str(s.key_expr)))
        beat = {"node_id": "intruder", "type": "coordinator", "rank": 7, "status": "idle",
                "incarnation": "i1", "capacity": 1000, "prompts": []}  # fmt: skip
        for _ in range(3):
            session.put(topics.heartbeat("intruder"), codec.encode(beat))
            time.sleep(0.3)
        prompt_id = tls_brain.service.queue.submit(
            text=None, image=solid_image((20, 20, 220)), audio=None, priority=5, session_id=None
        )["prompt_id"]
        result = tls_brain.result(prompt_id)
        assert result["state"] == "completed", result
        assert "intruder" not in tls_brain.listed()
        # neither the prompt nor anyone else's heartbeat
        assert [key for key in seen if key != topics.heartbeat("intruder")] == []
    finally:
        session.close()


def test_tls_settings_are_checked_before_anything_listens(
    tmp_path: Path, tls_brain: TlsBrain
) -> None:
    no_server_cert = write_zenoh_config(tmp_path / "ca-only.json5", {"root_ca_certificate": "x"})
    endpoint = f"tls/127.0.0.1:{free_port()}"
    queue, nodes = tls_brain.service.queue, tls_brain.service.nodes
    with pytest.raises(BridgeError, match="listen_certificate and listen_private_key"):
        SimulationBridge(queue, nodes, endpoint=endpoint, zenoh_config=no_server_cert)
    with pytest.raises(BridgeError, match="No such file"):
        SimulationBridge(queue, nodes, endpoint=endpoint, zenoh_config=tmp_path / "missing.json5")
    bad = tmp_path / "bad.json5"
    bad.write_text("{ transport: { link: { tls: { no_such_key: 1 } } } }")
    with pytest.raises(BridgeError, match="no_such_key"):
        SimulationBridge(queue, nodes, endpoint=endpoint, zenoh_config=bad)
    with pytest.raises(TransportError, match="tls/HOST:PORT"):
        SimulationBridge(queue, nodes, endpoint=f"quic/127.0.0.1:{free_port()}")


def test_the_servers_zenoh_config_reaches_its_bridge_and_local_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evospikenet.simulation.launcher import LocalNodes
    from evospikenet.simulation.server_plugin import SimulationConfig

    path = write_zenoh_config(tmp_path / "zenoh.json5", {"root_ca_certificate": "ca.pem"})
    monkeypatch.setenv("EVOSPIKENET_ZENOH_CONFIG", str(path))
    assert SimulationConfig.from_env(tmp_path).zenoh_config == path
    nodes = LocalNodes("tls/127.0.0.1:7447", None, tmp_path, None, zenoh_config=path)
    command = nodes.command("coordinator", 0)
    assert command[command.index("--zenoh-config") + 1] == str(path)
    assert "EVOSPIKENET_ZENOH_CONFIG" not in nodes._env  # the command line names it
    monkeypatch.delenv("EVOSPIKENET_ZENOH_CONFIG")
    assert SimulationConfig.from_env(tmp_path).zenoh_config is None


def test_serve_runs_its_bridge_and_local_nodes_over_mutual_tls(
    make_server: MakeServer, tls_brain: TlsBrain, tmp_path: Path
) -> None:
    """``evospikenet serve`` with a ``tls/`` endpoint and ``EVOSPIKENET_ZENOH_CONFIG``: its
    bridge listens with TLS, its four local nodes join with the client certificate the same
    file holds, and a prompt completes."""
    endpoint = f"tls/127.0.0.1:{free_port()}"
    server = make_server(
        nodes=True,
        EVOSPIKENET_LOAD_MODELS="false",
        EVOSPIKENET_SIM_ENDPOINT=endpoint,
        EVOSPIKENET_ZENOH_CONFIG=str(tls_brain.configs["server"]),
        EVOSPIKENET_SIM_NODE_OPTIONS="--max-new-tokens 2",
    )
    with EvoSpikeNetAPIClient(server.base_url, api_key=server.api_key) as client:

        def ready() -> bool:
            nodes = client.get_simulation_status()["nodes"]
            return sum(n["status"] in ("idle", "busy") for n in nodes) == 4

        wait_until(ready, 120, 0.5)
        image = tmp_path / "green.png"
        image.write_bytes(solid_image((20, 200, 20)))
        prompt_id = client.submit_prompt(image_path=str(image))["prompt_id"]
        result = client.poll_for_result(prompt_id=prompt_id, timeout=120)
        assert result and "dominant colour green" in result["response"], result
    assert f"listening on {endpoint}" in server.read_log()
