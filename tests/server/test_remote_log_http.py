"""POST /api/distributed_brain/remote_log end to end: API server process → real SSH server."""

from __future__ import annotations

import httpx
from ssh_fixtures import ssh_server_in_thread


def test_unconfigured_server_refuses_with_how_to_configure(server):
    r = httpx.post(
        f"{server.base_url}/api/distributed_brain/remote_log",
        json={
            "user": "u",
            "ip": "127.0.0.1",
            "key_path": "~/.ssh/id_rsa",
            "log_file_path": "/tmp/sim_rank_1.log",
        },
        headers=server.headers,
    )
    assert r.status_code == 403 and r.json()["code"] == "SSH_001"
    assert "EVOSPIKENET_NODES_FILE" in r.json()["detail"]


def test_reads_a_configured_log_and_refuses_the_rest(make_server, tmp_path):
    with ssh_server_in_thread(tmp_path / "ssh") as ssh:
        log = ssh.log_dir / "sim_rank_1.log"
        log.write_text("".join(f"line {i}\n" for i in range(300)), encoding="utf-8")
        live = make_server(
            EVOSPIKENET_NODES_FILE=str(ssh.nodes_file), EVOSPIKENET_LOAD_MODELS="false"
        )
        url = f"{live.base_url}/api/distributed_brain/remote_log"
        request = {
            "user": ssh.user,
            "ip": ssh.host,
            "key_path": str(ssh.client_key),
            "log_file_path": str(log),
        }
        r = httpx.post(url, json=request, headers=live.headers, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["lines"] == 100 and body["host"] == ssh.host
        assert body["log_content"].splitlines() == [f"line {i}" for i in range(200, 300)]
        r = httpx.post(url, json={**request, "lines": 3}, headers=live.headers, timeout=30)
        assert r.json()["log_content"] == "line 297\nline 298\nline 299\n"

        before = ssh.connections()
        outside = {**request, "log_file_path": "/etc/passwd"}
        r = httpx.post(url, json=outside, headers=live.headers, timeout=30)
        assert r.status_code == 403 and r.json()["code"] == "SSH_001"
        other_host = {**request, "ip": "10.0.0.9"}
        r = httpx.post(url, json=other_host, headers=live.headers, timeout=30)
        assert r.status_code == 403 and r.json()["code"] == "SSH_001"
        assert ssh.connections() == before  # refused before any connection

        missing = {**request, "log_file_path": str(ssh.log_dir / "nope.log")}
        r = httpx.post(url, json=missing, headers=live.headers, timeout=30)
        assert r.status_code == 502 and r.json()["code"] == "SSH_002"
