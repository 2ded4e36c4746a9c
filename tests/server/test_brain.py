"""The distributed brain's server side: durable queue, long-poll, node status, retries."""

from __future__ import annotations

import base64
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from evospikenet.server.app import create_app
from evospikenet.server.settings import Settings

KEY = {"X-API-Key": "k"}


@pytest.fixture
def app_client(tmp_path, database_urls):
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_urls(),
        api_keys=("k",),
        load_models=False,
        access_log=False,
        node_offline_seconds=0.5,
        max_prompt_attempts=2,
        max_wait_seconds=5,
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, app.state.server


def report(client, node_id="lang-1", status="idle", rank=1):
    r = client.post(
        "/api/distributed_brain/status",
        json={"node_id": node_id, "rank": rank, "type": "language", "status": status},
        headers=KEY,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_prompt_stays_queued_without_nodes(server):
    with httpx.Client(base_url=server.base_url, headers=server.headers) as c:
        r = c.post("/api/distributed_brain/prompt", json={"prompt": "こんにちは", "priority": 7})
        assert r.status_code == 202
        body = r.json()
        assert body["state"] == "queued" and body["prompt_id"].startswith("prm_")
        assert (
            r.headers["Location"] == f"/api/distributed_brain/result?prompt_id={body['prompt_id']}"
        )
        status = c.get("/api/distributed_brain/status").json()
        assert status["active_nodes"] == 0 and status["queue_depth"] >= 1
        result = c.get(r.headers["Location"]).json()
        assert (
            result["state"] == "queued" and result["response"] is None and result["attempts"] == 0
        )
        started = time.monotonic()
        waited = c.get(
            "/api/distributed_brain/result", params={"prompt_id": body["prompt_id"], "wait": 0.5}
        ).json()
        assert waited["state"] == "queued" and time.monotonic() - started >= 0.45


def test_prompt_validation(server):
    with httpx.Client(base_url=server.base_url, headers=server.headers) as c:
        r = c.post("/api/distributed_brain/prompt", json={"priority": 3})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
        r = c.post("/api/distributed_brain/prompt", json={"image": "not base64!"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.image"
        r = c.post(
            "/api/distributed_brain/prompt", json={"prompt": "x", "session_id": "ses_missing"}
        )
        assert r.status_code == 404 and r.json()["code"] == "SES_001"
        r = c.get("/api/distributed_brain/result", params={"prompt_id": "prm_missing"})
        assert r.status_code == 404 and r.json()["code"] == "PROMPT_001"
        r = c.get("/api/distributed_brain/result", params={"prompt_id": "x", "wait": 61})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.wait"


def test_media_too_large_is_413(make_server):
    live = make_server(EVOSPIKENET_MAX_MEDIA_BYTES="1000", EVOSPIKENET_LOAD_MODELS="false")
    image = base64.b64encode(b"\x89PNG" + b"\0" * 2000).decode()
    r = httpx.post(
        f"{live.base_url}/api/distributed_brain/prompt", json={"image": image}, headers=live.headers
    )
    assert r.status_code == 413 and r.json()["code"] == "MEDIA_001"


def test_long_poll_wakes_on_completion_and_results_are_not_consumed(app_client):
    client, state = app_client
    image = b"\x89PNG fake image bytes"
    r = client.post(
        "/api/distributed_brain/prompt",
        json={"prompt": "hi", "image": base64.b64encode(image).decode()},
        headers=KEY,
    )
    prompt_id = r.json()["prompt_id"]
    report(client)
    claimed = state.brain.queue.claim_next("lang-1")
    assert claimed.prompt_id == prompt_id and claimed.text == "hi" and claimed.attempts == 1
    assert claimed.image_path.read_bytes() == image and claimed.audio_path is None

    def finish_later():
        time.sleep(0.3)
        state.brain.queue.complete(prompt_id, "[12:00:00] SpikingLM Generated: 'hello'")

    threading.Thread(target=finish_later).start()
    started = time.monotonic()
    result = client.get(
        "/api/distributed_brain/result", params={"prompt_id": prompt_id, "wait": 5}, headers=KEY
    ).json()
    elapsed = time.monotonic() - started
    assert result["state"] == "completed" and "hello" in result["response"]
    assert 0.25 < elapsed < 2.0, elapsed  # woken by the notifier, not by the 5 s timeout
    assert result["timestamp"] is not None and result["started_at"] is not None
    again = client.get(
        "/api/distributed_brain/result", params={"prompt_id": prompt_id}, headers=KEY
    )
    assert again.json() == result
    latest = client.get("/api/distributed_brain/result", headers=KEY).json()
    assert latest["prompt_id"] == prompt_id
    assert client.get("/api/distributed_brain/result", headers=KEY).json() == latest


def test_latest_result_is_all_null_when_nothing_completed(app_client):
    client, _ = app_client
    body = client.get("/api/distributed_brain/result", headers=KEY).json()
    assert body["prompt_id"] is None and body["response"] is None and body["timestamp"] is None


def test_priority_then_arrival_order(app_client):
    client, state = app_client
    ids = [
        client.post(
            "/api/distributed_brain/prompt", json={"prompt": f"p{i}", "priority": p}, headers=KEY
        ).json()["prompt_id"]
        for i, p in enumerate([5, 9, 5, 0])
    ]
    order = [state.brain.queue.claim_next("n").prompt_id for _ in range(4)]
    assert order == [ids[1], ids[0], ids[2], ids[3]]
    assert state.brain.queue.claim_next("n") is None


def test_dead_node_prompt_is_retried_then_failed(app_client):
    client, state = app_client
    prompt_id = client.post(
        "/api/distributed_brain/prompt", json={"prompt": "x"}, headers=KEY
    ).json()["prompt_id"]
    report(client, "worker-a")
    assert state.brain.queue.claim_next("worker-a").prompt_id == prompt_id
    time.sleep(0.7)  # worker-a misses its heartbeat → offline
    statuses = client.get("/api/distributed_brain/status", headers=KEY).json()
    assert statuses["nodes"][0]["status"] == "offline" and statuses["active_nodes"] == 0
    state.brain.janitor_pass(purge=False)
    assert state.brain.queue.get(prompt_id)["state"] == "queued"
    report(client, "worker-b")
    claimed = state.brain.queue.claim_next("worker-b")
    assert claimed.attempts == 2
    time.sleep(0.7)
    state.brain.janitor_pass(purge=False)
    final = state.brain.queue.get(prompt_id)
    assert final["state"] == "failed" and "2 attempts" in final["error"] and final["attempts"] == 2


def test_node_status_report_and_offline(app_client):
    client, _ = app_client
    node = report(client, "vision-1", "busy", rank=2)
    assert node["status"] == "busy" and node["rank"] == 2 and node["prompts_done"] == 0
    status = client.get("/api/distributed_brain/status", headers=KEY).json()
    assert status["active_nodes"] == 1
    time.sleep(0.7)
    status = client.get("/api/distributed_brain/status", headers=KEY).json()
    assert status["active_nodes"] == 0 and status["nodes"][0]["status"] == "offline"
    r = client.post(
        "/api/distributed_brain/status",
        json={"node_id": "v", "rank": 2, "type": "Vision", "status": "idle"},
        headers=KEY,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.type"


def test_node_counter_holds_every_json_exact_integer(app_client):
    client, _ = app_client
    largest = 2**53 - 1
    body = {"node_id": "lang-9", "rank": 1, "type": "language", "status": "idle"}
    r = client.post(
        "/api/distributed_brain/status", json={**body, "prompts_done": largest}, headers=KEY
    )
    assert r.status_code == 200 and r.json()["prompts_done"] == largest
    nodes = client.get("/api/distributed_brain/status", headers=KEY).json()["nodes"]
    assert [n["prompts_done"] for n in nodes if n["id"] == "lang-9"] == [largest]
    r = client.post(
        "/api/distributed_brain/status", json={**body, "prompts_done": largest + 1}, headers=KEY
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.prompts_done"


def test_retention_purges_only_old_finished_prompts(app_client):
    client, state = app_client
    done = client.post("/api/distributed_brain/prompt", json={"prompt": "a"}, headers=KEY).json()[
        "prompt_id"
    ]
    queued = client.post("/api/distributed_brain/prompt", json={"prompt": "b"}, headers=KEY).json()[
        "prompt_id"
    ]
    assert state.brain.queue.claim_next("n").prompt_id == done
    state.brain.queue.complete(done, "ok")
    assert state.brain.queue.purge_expired(3600) == 0
    time.sleep(0.05)
    assert state.brain.queue.purge_expired(0.01) == 1
    assert (
        state.brain.queue.get(done) is None and state.brain.queue.get(queued)["state"] == "queued"
    )


def test_sigterm_answers_open_long_polls_at_once(make_server):
    live = make_server(EVOSPIKENET_MAX_WAIT_SECONDS="30", EVOSPIKENET_LOAD_MODELS="false")
    prompt_id = httpx.post(
        f"{live.base_url}/api/distributed_brain/prompt", json={"prompt": "x"}, headers=live.headers
    ).json()["prompt_id"]
    answers: list[httpx.Response] = []

    def poll() -> None:
        answers.append(
            httpx.get(
                f"{live.base_url}/api/distributed_brain/result",
                params={"prompt_id": prompt_id, "wait": 30},
                headers=live.headers,
                timeout=60,
            )
        )

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)  # the poll is waiting now
    started = time.monotonic()
    live.stop()
    thread.join(30)
    assert answers and answers[0].status_code == 200 and answers[0].json()["state"] == "queued"
    assert time.monotonic() - started < 5
