"""Problem+json everywhere, request ids, authentication and start-up safety."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from evospikenet.server.app import create_app
from evospikenet.server.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]


def test_unknown_route_is_problem_404(server):
    r = httpx.get(f"{server.base_url}/api/nothing/here", headers=server.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (
        body["code"] == "HTTP_404"
        and body["status"] == 404
        and body["instance"] == "/api/nothing/here"
    )
    assert body["request_id"] == r.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/api/distributed_brain/status", "GET, POST"),
        ("PUT", "/api/artifacts", "GET, POST"),
        ("POST", "/api/sessions/ses_x", "GET"),
        ("DELETE", "/api/health", "GET"),
    ],
)
def test_wrong_method_is_405_with_every_allowed_method(server, method, path, allow):
    r = httpx.request(method, f"{server.base_url}{path}", headers=server.headers)
    assert r.status_code == 405
    assert r.headers["Allow"] == allow
    assert r.json()["code"] == "HTTP_405"


def test_request_id_is_echoed_when_sane(server):
    r = httpx.get(f"{server.base_url}/api/health", headers={"X-Request-ID": "client-id-1"})
    assert r.headers["X-Request-ID"] == "client-id-1"
    r = httpx.get(f"{server.base_url}/api/health", headers={"X-Request-ID": "bad id with spaces"})
    assert (
        r.headers["X-Request-ID"] != "bad id with spaces" and len(r.headers["X-Request-ID"]) == 32
    )


def test_health_needs_no_key_but_everything_else_does(server):
    assert httpx.get(f"{server.base_url}/api/health").status_code == 200
    r = httpx.get(f"{server.base_url}/api/info")
    assert r.status_code == 401 and r.json()["code"] == "AUTH_001"
    r = httpx.get(f"{server.base_url}/api/info", headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and r.json()["code"] == "AUTH_002"
    assert "wrong" not in r.text


def test_node_keys_only_report_status(make_server):
    live = make_server(EVOSPIKENET_NODE_KEYS="node-secret", EVOSPIKENET_LOAD_MODELS="false")
    node = {"X-API-Key": "node-secret"}
    report = {"node_id": "n1", "rank": 0, "type": "coordinator", "status": "idle"}
    r = httpx.post(f"{live.base_url}/api/distributed_brain/status", json=report, headers=node)
    assert r.status_code == 200 and r.json()["status"] == "idle"
    r = httpx.get(f"{live.base_url}/api/distributed_brain/status", headers=node)
    assert r.status_code == 403 and r.json()["code"] == "AUTH_003"


def test_internal_error_is_problem_500_without_traceback(tmp_path, monkeypatch, database_urls):
    # A database fault cannot be caused on demand for one request; patch the catalog to fail.
    from evospikenet.server import catalog

    def broken(self, session_id):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(catalog.Catalog, "get_session", broken)
    app = create_app(
        Settings(
            data_dir=tmp_path,
            load_models=False,
            api_keys=("k",),
            access_log=False,
            database_url=database_urls(),
        )
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/sessions/ses_x", headers={"X-API-Key": "k"})
    assert r.status_code == 500
    body = r.json()
    assert body["code"] == "SYS_001" and body["request_id"] == r.headers["X-Request-ID"]
    assert body["request_id"] in body["detail"]
    assert "secret internal detail" not in r.text and "Traceback" not in r.text


def test_open_server_refuses_non_loopback_host():
    with pytest.raises(SettingsError, match="EVOSPIKENET_API_KEYS"):
        Settings(host="0.0.0.0").check_startable()
    Settings(host="0.0.0.0", allow_no_auth=True).check_startable()
    Settings(host="0.0.0.0", api_keys=("k",)).check_startable()
    Settings(host="127.0.0.1").check_startable()
    Settings(host="::1").check_startable()


def test_cli_refuses_open_non_loopback_start(tmp_path):
    env = {"PATH": "/usr/bin:/bin"}  # the editable install puts the checkout on the path
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "evospikenet",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "1",
            "--data-dir",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert "EVOSPIKENET_ALLOW_NO_AUTH" in done.stderr


def test_open_loopback_server_warns(make_server):
    live = make_server(api_key=None, EVOSPIKENET_LOAD_MODELS="false")
    assert httpx.get(f"{live.base_url}/api/info").status_code == 200
    warnings = [json.loads(line) for line in live.read_log().splitlines() if '"warning"' in line]
    assert any("no API keys configured" in w["message"] for w in warnings)


def test_access_log_is_json_lines(server):
    httpx.get(f"{server.base_url}/api/health", headers={"X-Request-ID": "log-probe-1"})
    lines: list[dict] = []
    for _ in range(50):  # the line is written just after the response is sent
        lines = [json.loads(x) for x in server.read_log().splitlines() if "log-probe-1" in x]
        if lines:
            break
        time.sleep(0.05)
    assert lines and lines[-1]["path"] == "/api/health" and lines[-1]["status"] == 200


def test_sigterm_shuts_down_gracefully(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown, hence -15.
    assert live.stop() in (0, -15)
    assert "Application shutdown complete" in live.read_log()


def test_health_reports_a_broken_blob_store_as_unhealthy(make_server):
    import shutil

    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    health = httpx.get(f"{live.base_url}/api/health").json()
    assert health["components"]["blob_store"]["status"] == "healthy"
    assert health["status"] == "degraded"  # no model, no node: degraded, not unhealthy
    tmp = live.data_dir / "tmp"
    shutil.rmtree(tmp)
    tmp.write_text("a file where the temp folder should be")  # writes there now fail
    try:
        health = httpx.get(f"{live.base_url}/api/health").json()
        assert health["status"] == "unhealthy"
        assert health["components"]["blob_store"]["status"] == "unhealthy"
        assert health["components"]["database"]["status"] == "healthy"
    finally:
        tmp.unlink()
        tmp.mkdir()
    assert httpx.get(f"{live.base_url}/api/health").json()["status"] == "degraded"


def test_database_outage_is_503_with_retry_after(tmp_path, monkeypatch, database_urls):
    # An outage of the embedded SQLite file cannot be caused on demand; patch one query to fail
    # the way a lost database connection does.
    from sqlalchemy.exc import OperationalError

    from evospikenet.server import catalog

    def unavailable(self, limit, cursor):
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(catalog.Catalog, "list_sessions", unavailable)
    settings = Settings(
        data_dir=tmp_path,
        load_models=False,
        api_keys=("k",),
        access_log=False,
        database_url=database_urls(),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        r = client.get("/api/sessions", headers={"X-API-Key": "k"})
    assert r.status_code == 503 and r.json()["code"] == "SYS_002"
    assert r.headers["Retry-After"] == "5" and "refused" not in r.text
