"""Idempotency-Key replay and conflicts, and the per-key rate limit, over real servers."""

from __future__ import annotations

import threading
import time

import httpx
import pytest


def test_same_key_same_body_replays_without_a_second_session(server):
    h = {**server.headers, "Idempotency-Key": "idem-session-1"}
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        first = c.post("/api/sessions", json={"description": "once"}, headers=h)
        second = c.post("/api/sessions", json={"description": "once"}, headers=h)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers["Location"] == first.headers["Location"]
        assert second.headers["Idempotent-Replayed"] == "true"
        listed = c.get("/api/sessions", params={"limit": 500}, headers=server.headers).json()
        assert sum(s["description"] == "once" for s in listed) == 1
        other = c.post("/api/sessions", json={"description": "another"}, headers=h)
        assert other.status_code == 422 and other.json()["code"] == "IDEM_001"


def test_upload_replay_with_identical_bytes(server):
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as c:
        sid = c.post("/api/sessions", json={"description": "idem upload"}).json()["session_id"]
        body = (
            '--b0undary\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n'
            + sid
            + '\r\n--b0undary\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\nlog'
            '\r\n--b0undary\r\nContent-Disposition: form-data; name="name"\r\n\r\nx.log'
            '\r\n--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x.log"'
            "\r\nContent-Type: text/plain\r\n\r\nlog bytes\r\n--b0undary--\r\n"
        ).encode()
        h = {
            "Idempotency-Key": "idem-upload-2",
            "Content-Type": "multipart/form-data; boundary=b0undary",
        }
        first = c.post("/api/artifacts", content=body, headers=h)
        second = c.post("/api/artifacts", content=body, headers=h)
        assert first.status_code == second.status_code == 201, first.text
        assert first.json()["artifact_id"] == second.json()["artifact_id"]
        assert c.get(f"/api/sessions/{sid}").json()["artifact_count"] == 1


def test_concurrent_same_key_gets_409_while_first_runs(server):
    """The first request is held mid-body (a slow upload); the second, same key, gets 409."""
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as c:
        sid = c.post("/api/sessions", json={"description": "idem race"}).json()["session_id"]
    release = threading.Event()
    results: dict[str, httpx.Response] = {}
    boundary = "raceboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="session_id"\r\n\r\n{sid}'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="artifact_type"\r\n\r\nlog'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nrace.log'
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r"\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        **server.headers,
        "Idempotency-Key": "idem-race-1",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }

    def slow_body():
        yield head + b"first part "
        release.wait(20)
        yield b"second part" + tail

    def first():
        results["first"] = httpx.post(
            f"{server.base_url}/api/artifacts", content=slow_body(), headers=headers, timeout=30
        )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        # the second body is incomplete (no file part): should it ever arrive before the first
        # claimed the key, it is refused with 422 and stores nothing, and we try again
        time.sleep(0.2)
        for _ in range(50):
            second = httpx.post(
                f"{server.base_url}/api/artifacts",
                content=head[: head.rindex(b"--" + boundary.encode())] + tail[2:],
                headers=headers,
                timeout=30,
            )
            if second.status_code == 409:
                break
            time.sleep(0.1)
        assert second.status_code == 409 and second.json()["code"] == "IDEM_002"
        assert second.headers["Retry-After"] == "1"
    finally:
        release.set()
        thread.join(30)
    assert results["first"].status_code == 201


@pytest.mark.parametrize("key", ["has spaces", "", "!", "x" * 256])
def test_invalid_idempotency_key_is_422(server, key):
    r = httpx.post(
        f"{server.base_url}/api/sessions",
        json={"description": "x"},
        headers={**server.headers, "Idempotency-Key": key},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_rate_limit_answers_429_with_retry_after(make_server):
    live = make_server(
        EVOSPIKENET_RATE_LIMIT_PER_MINUTE="6",
        EVOSPIKENET_RATE_LIMIT_BURST="3",
        EVOSPIKENET_LOAD_MODELS="false",
    )
    with httpx.Client(base_url=live.base_url, headers=live.headers) as c:
        statuses = [c.get("/api/sessions").status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]
        r = c.get("/api/sessions")
        assert r.json()["code"] == "RATE_001" and int(r.headers["Retry-After"]) >= 1
        other = c.get("/api/sessions", headers={"X-API-Key": "nope"})
        assert other.status_code == 401


def test_keys_expire_after_the_ttl(tmp_path, database_urls):
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from evospikenet.server.app import create_app
    from evospikenet.server.settings import Settings
    from evospikenet.server.tables import IdempotencyRow

    settings = Settings(
        data_dir=tmp_path,
        api_keys=("k",),
        load_models=False,
        access_log=False,
        idempotency_ttl_seconds=0.3,
        database_url=database_urls(),
    )
    app = create_app(settings)
    headers = {"X-API-Key": "k", "Idempotency-Key": "expiring"}
    with TestClient(app, headers=headers) as client:
        first = client.post("/api/sessions", json={"description": "a"})
        assert client.post("/api/sessions", json={"description": "b"}).status_code == 422
        time.sleep(0.4)
        later = client.post("/api/sessions", json={"description": "b"})
        assert later.status_code == 201
        assert later.json()["session_id"] != first.json()["session_id"]
        time.sleep(0.4)
        state = app.state.server
        state.idempotency.purge_expired()
        with state.db.session() as db:
            assert db.scalar(select(func.count()).select_from(IdempotencyRow)) == 0
