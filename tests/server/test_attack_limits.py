"""Limits an attacker meets (issue 15, finding 5): throttled wrong keys, proxy headers trusted
only when configured, JSON depth, a broken nodes file, tmp/ contents at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from evospikenet.server.app import create_app
from evospikenet.server.auth_throttle import FailedAuthThrottle
from evospikenet.server.client_address import client_address, parse_networks
from evospikenet.server.settings import Settings, SettingsError


def app_for(tmp_path: Path, **settings: Any) -> Any:
    base = {"data_dir": tmp_path / "data", "api_keys": ("k",), "access_log": False,
            "load_models": False}  # fmt: skip
    return create_app(Settings(**{**base, **settings}))


def test_wrong_keys_are_throttled_per_address_and_a_right_key_is_not_confirmed(
    tmp_path: Path,
) -> None:
    app = app_for(tmp_path, auth_failure_burst=5, auth_failures_per_minute=6)
    with TestClient(app) as c:
        assert {c.get("/api/info").status_code for _ in range(10)} == {401}  # no key: no guess
        codes = [
            c.get("/api/info", headers={"X-API-Key": f"guess{i}"}).status_code for i in range(8)
        ]
        assert codes == [401] * 5 + [429] * 3
        blocked = c.get("/api/info", headers={"X-API-Key": "k"})  # the right key, while blocked
        assert blocked.status_code == 429 and blocked.json()["code"] == "RATE_001"
        assert 1 <= int(blocked.headers["Retry-After"]) <= 10
        assert c.get("/api/info", headers={"X-API-Key": "k"}, params={}).status_code == 429
    other = TestClient(app, client=("192.0.2.7", 5000))  # another address is not affected
    with other:
        assert other.get("/api/info", headers={"X-API-Key": "k"}).status_code == 200


def test_the_throttle_refills_and_a_valid_key_costs_nothing() -> None:
    now = [0.0]
    throttle = FailedAuthThrottle(per_minute=60, burst=2, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.blocked("a") == pytest.approx(1.0)
    assert throttle.blocked("b") == 0
    now[0] = 1.0
    assert throttle.blocked("a") == 0


def test_tracked_addresses_are_bounded() -> None:
    throttle = FailedAuthThrottle(max_tracked=100)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._buckets) <= 100


def scope(peer: str, *forwarded: str) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"client": (peer, 1234), "headers": headers}


def test_proxy_headers_are_trusted_only_from_configured_proxies() -> None:
    proxies = parse_networks(["10.0.0.0/8", "::1"])
    assert client_address(scope("203.0.113.5", "1.2.3.4")) == "203.0.113.5"
    assert client_address(scope("203.0.113.5", "1.2.3.4"), proxies) == "203.0.113.5"
    assert client_address(scope("10.1.1.1", "1.2.3.4"), proxies) == "1.2.3.4"
    # the client wrote the left-most entry; the proxy appended the real one
    assert client_address(scope("10.1.1.1", "6.6.6.6, 198.51.100.9"), proxies) == "198.51.100.9"
    assert client_address(scope("10.1.1.1", "198.51.100.9", "10.2.2.2"), proxies) == "198.51.100.9"
    assert client_address(scope("10.1.1.1", "not-an-ip"), proxies) == "10.1.1.1"
    assert client_address(scope("10.1.1.1"), proxies) == "10.1.1.1"
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        Settings.from_env({"EVOSPIKENET_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"})
    assert Settings.from_env({"EVOSPIKENET_TRUSTED_PROXIES": "10.0.0.1"}).trusted_proxies == (
        "10.0.0.1",
    )


def test_health_is_limited_per_real_client_behind_a_trusted_proxy(tmp_path: Path) -> None:
    app = app_for(
        tmp_path, rate_limit_per_minute=60, rate_limit_burst=2, trusted_proxies=("127.0.0.0/8",)
    )
    with TestClient(app, client=("127.0.0.1", 5000)) as c:

        def health(client_ip: str) -> int:
            return c.get("/api/health", headers={"X-Forwarded-For": client_ip}).status_code

        assert [health("198.51.100.1") for _ in range(3)] == [200, 200, 429]
        assert health("198.51.100.2") == 200  # another client behind the same proxy


def test_json_nested_1000_deep_is_a_4xx(tmp_path: Path) -> None:
    with TestClient(app_for(tmp_path), headers={"X-API-Key": "k"}) as c:
        for depth in (900, 1000, 100_000):
            body = '{"prompt":' + "[" * depth + "]" * depth + "}"
            r = c.post("/api/generate", content=body, headers={"Content-Type": "application/json"})
            assert 400 <= r.status_code < 500, (depth, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"


def test_a_broken_nodes_file_is_a_503_without_its_path_or_contents(tmp_path: Path) -> None:
    nodes = tmp_path / "secret-place" / "nodes.yaml"
    nodes.parent.mkdir()
    nodes.write_text("hosts: []")
    body = {"user": "u", "ip": "10.0.0.1", "key_path": "/k", "log_file_path": "/var/log/x.log",
            "lines": 10}  # fmt: skip
    with TestClient(app_for(tmp_path, nodes_file=nodes), headers={"X-API-Key": "k"}) as c:
        nodes.write_text("hosts: [ {password: 'hunter2'")
        os.utime(nodes, (1, 1))
        r = c.post("/api/distributed_brain/remote_log", json=body)
    assert r.status_code == 503 and r.json()["code"] == "SYS_002"
    assert "secret-place" not in r.text and "hunter2" not in r.text and "yaml" not in r.text


def test_a_nested_folder_in_tmp_does_not_stop_start_up(tmp_path: Path) -> None:
    nested = tmp_path / "data" / "tmp" / "someone's folder" / "deeper"
    nested.mkdir(parents=True)
    (nested / "file").write_text("x")
    with TestClient(app_for(tmp_path), headers={"X-API-Key": "k"}) as c:
        assert c.get("/api/info").status_code == 200
