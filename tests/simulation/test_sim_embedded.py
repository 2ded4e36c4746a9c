"""``evospikenet serve`` with its embedded simulation: local nodes as child processes, stopped
with the server, and their logs read through remote_log over a real SSH server."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
import pytest
from live_server import MakeServer
from sim_cluster import loopback_endpoint, wait_until
from sim_media import solid_image

from evospikenet.sdk import EvoSpikeNetAPIClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from ssh_fixtures import ssh_server_in_thread


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_runs_local_nodes_and_remote_log_reads_their_logs(
    make_server: MakeServer, tmp_path: Path
) -> None:
    log_dir = tmp_path / "sim-logs"
    log_dir.mkdir()
    with ssh_server_in_thread(tmp_path / "ssh", allowed_log_dirs=[log_dir]) as ssh:
        server = make_server(
            nodes=True,
            EVOSPIKENET_SIM_ENDPOINT=loopback_endpoint(),
            EVOSPIKENET_SIM_LOG_DIR=str(log_dir),
            EVOSPIKENET_SIM_NODE_OPTIONS="--max-new-tokens 4",
            EVOSPIKENET_NODES_FILE=str(ssh.nodes_file),
        )
        assert server.process is not None
        with EvoSpikeNetAPIClient(server.base_url, api_key=server.api_key) as client:

            def ready() -> bool:
                nodes = client.get_simulation_status()["nodes"]
                return sum(n["status"] in ("idle", "busy") for n in nodes) == 4

            wait_until(ready, 90, 0.2)
            status = client.get_simulation_status()
            assert sorted(n["type"] for n in status["nodes"]) == [
                "auditory", "coordinator", "language", "vision",
            ]  # fmt: skip
            image = tmp_path / "dummy_image.png"
            image.write_bytes(solid_image((10, 10, 240)))
            # the SDK document's section 5 example, against the embedded default
            response = client.submit_prompt(
                prompt="この画像に写っているものは何ですか？", image_path=str(image)
            )
            result = client.poll_for_result(prompt_id=response.get("prompt_id"), timeout=120)
            assert result and result.get("response"), result
            assert "dominant colour blue" in result["response"]
            assert "SpikingLM Generated:" in result["response"]
            assert "model: API session" in result["response"]  # the server's bundled default

            log = client.get_remote_log(
                ssh.user, ssh.host, "~/.ssh/id_rsa", f"{log_dir}/sim_rank_2.log"
            )
            assert "rank=2" in log["log_content"] and "done in" in log["log_content"]
            outside = httpx.post(
                f"{server.base_url}/api/distributed_brain/remote_log",
                json={"user": ssh.user, "ip": ssh.host, "key_path": "",
                      "log_file_path": str(tmp_path / "ssh" / "nodes.yaml")},
                headers=server.headers, timeout=30,
            )  # fmt: skip
            assert outside.status_code == 403, outside.text
            elsewhere = httpx.post(
                f"{server.base_url}/api/distributed_brain/remote_log",
                json={"user": ssh.user, "ip": "127.0.0.2", "key_path": "",
                      "log_file_path": f"{log_dir}/sim_rank_2.log"},
                headers=server.headers, timeout=30,
            )  # fmt: skip
            assert elsewhere.status_code == 403, elsewhere.text

        children = _children(server.process.pid)
        assert len(children) == 4
        server.stop()
        wait_until(lambda: not any(_alive(pid) for pid in children), 15, 0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_local_nodes_die_with_a_killed_server(make_server: MakeServer) -> None:
    server = make_server(nodes=True, EVOSPIKENET_SIM_ENDPOINT=loopback_endpoint())
    assert server.process is not None
    children = wait_until(
        lambda: len(_children(server.process.pid)) == 4 and _children(server.process.pid), 30
    )
    time.sleep(0.5)
    server.kill()
    wait_until(lambda: not any(_alive(pid) for pid in children), 15, 0.1)
