"""Generation from uploaded model artifacts, over a real server: load, swap, broken uploads."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from model_fixtures import upload_model, write_tiny_model


def wait_for_model(
    client: httpx.Client, session_id: str | None = None, timeout: float = 60
) -> dict:
    deadline = time.monotonic() + timeout
    info: dict = {}
    while time.monotonic() < deadline:
        info = client.get("/api/info").json()
        model = info["model"]
        if model and (session_id is None or model["session_id"] == session_id):
            return info
        time.sleep(0.1)
    raise AssertionError(f"model not loaded: {info}")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    return {
        "good": write_tiny_model(folder / "good"),
        "other": write_tiny_model(folder / "other", d_model=48, seed=1),
    }


def test_generation_follows_the_newest_upload_and_survives_a_broken_one(
    make_server, tiny, tmp_path
):
    live = make_server()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        first = upload_model(c, tiny["good"], "first")
        info = wait_for_model(c, first)
        assert info["model"]["llm_type"] == "SpikingEvoTextLM"
        assert info["model"]["bundled_default"] is False
        assert info["model"]["config"]["d_model"] == 32
        assert set(info["model"]["artifact_ids"]) == {"model", "config", "tokenizer"}

        body = {"prompt": "人工知能とは", "max_length": 12, "seed": 7, "temperature": 0.8}
        a = c.post("/api/generate", json=body)
        assert a.status_code == 200, a.text
        out = a.json()
        assert out["prompt"] == "人工知能とは" and out["model_session_id"] == first
        assert 0 < out["generated_tokens"] <= 12 and out["prompt_tokens"] > 0
        assert out["prompt_truncated"] is False
        assert c.post("/api/generate", json=body).json() == out  # same seed, same text

        long_prompt = "The quick brown fox. " * 200
        truncated = c.post("/api/generate", json={"prompt": long_prompt, "max_length": 2}).json()
        assert truncated["prompt_truncated"] is True and truncated["prompt_tokens"] <= 64

        # a broken upload: the config does not fit the weights → the old model keeps serving
        broken = dict(tiny["other"])
        bad_config = tmp_path / "config.json"
        bad_config.write_text(
            json.dumps({**json.loads(broken["config"].read_text()), "d_model": 40})
        )
        broken["config"] = bad_config
        bad = upload_model(c, broken, "broken")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and c.get("/api/info").json()["model_error"] is None:
            time.sleep(0.1)
        info = c.get("/api/info").json()
        assert bad in info["model_error"] and info["model"]["session_id"] == first
        health = httpx.get(f"{live.base_url}/api/health").json()
        assert health["components"]["model"]["status"] == "degraded"
        assert bad in health["components"]["model"]["detail"]
        assert c.post("/api/generate", json=body).json() == out

        # a good newer upload is swapped in
        second = upload_model(c, tiny["other"], "second")
        info = wait_for_model(c, second)
        assert info["model_error"] is None and info["model"]["config"]["d_model"] == 48
        assert c.post("/api/generate", json=body).json()["model_session_id"] == second


def test_concurrent_generations_are_batched_and_health_stays_fast(make_server, tiny):
    live = make_server()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=120) as c:
        session = upload_model(c, tiny["good"])
        wait_for_model(c, session)
    results: list[httpx.Response] = []

    def one(i: int) -> None:
        results.append(
            httpx.post(
                f"{live.base_url}/api/generate",
                json={"prompt": f"prompt {i}", "max_length": 200, "temperature": 0.9},
                headers=live.headers,
                timeout=120,
            )
        )

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert httpx.get(f"{live.base_url}/api/health", timeout=10).status_code == 200
    health_seconds = time.monotonic() - started
    for t in threads:
        t.join(120)
    assert [r.status_code for r in results] == [200] * 6
    assert {r.json()["prompt"] for r in results} == {f"prompt {i}" for i in range(6)}
    assert health_seconds < 1.0, health_seconds


def test_no_model_is_503_with_how_to_provide_one(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    r = httpx.post(f"{live.base_url}/api/generate", json={"prompt": "x"}, headers=live.headers)
    assert r.status_code == 503 and r.json()["code"] == "MODEL_002"
    assert "SpikingEvoTextLM" in r.json()["detail"] and "Retry-After" in r.headers
    r = httpx.post(
        f"{live.base_url}/api/generate",
        json={"prompt": "x", "max_length": 1.5},
        headers=live.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.max_length"
    r = httpx.post(
        f"{live.base_url}/api/generate",
        json={"prompt": "x", "max_length": True},
        headers=live.headers,
    )
    assert r.status_code == 422


def test_compatible_concurrent_requests_share_a_batch(tmp_path, tiny, database_urls):
    import asyncio

    from fastapi.testclient import TestClient

    from evospikenet.server.app import create_app
    from evospikenet.server.settings import Settings

    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys=("k",),
        access_log=False,
        database_url=database_urls(),
    )
    app = create_app(settings)
    with TestClient(app, headers={"X-API-Key": "k"}) as client:
        upload_model(client, tiny["good"])
        manager = app.state.server.models
        manager.wait_idle(60)
        model = manager.served.model
        sizes: list[int] = []
        real_generate = model.generate

        def spy(prompts, **kwargs):  # records each batch the worker thread runs
            sizes.append(len(prompts))
            return real_generate(prompts, **kwargs)

        model.generate = spy

        async def burst():
            same = [
                manager.generate(f"p{i}", max_new_tokens=20, temperature=1.0, top_k=None, seed=None)
                for i in range(5)
            ]
            seeded = [
                manager.generate("s", max_new_tokens=20, temperature=1.0, top_k=None, seed=3)
                for _ in range(2)
            ]
            return await asyncio.gather(*same, *seeded)

        results = client.portal.call(burst)
    assert [r["prompt"] for r in results] == [f"p{i}" for i in range(5)] + ["s", "s"]
    assert results[5] == results[6]  # seeded requests run alone, so they repeat exactly
    assert sum(sizes) == 7 and max(sizes) > 1, sizes


def test_fresh_store_serves_the_bundled_default(make_server):
    from evospikenet.models.serving import models_available

    if not models_available():
        pytest.skip("the models extra is not installed")
    live = make_server()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        info = wait_for_model(c)
        assert info["model"]["bundled_default"] is True
        session = c.get(f"/api/sessions/{info['model']['session_id']}").json()
        assert session["description"] == "bundled default model"
        artifacts = c.get(f"/api/sessions/{session['session_id']}/artifacts").json()
        assert sorted((a["name"], a["artifact_type"], a["llm_type"]) for a in artifacts) == [
            ("config.json", "config", "SpikingEvoTextLM"),
            ("spiking_lm.pth", "model", "SpikingEvoTextLM"),
            ("spiking_lm_tokenizer.zip", "tokenizer", "SpikingEvoTextLM"),
        ]
        out = c.post("/api/generate", json={"prompt": "人工知能とは", "max_length": 20, "seed": 1})
        assert out.status_code == 200 and out.json()["generated_tokens"] > 0
    live.restart()  # registered once: a restart does not add a second default session
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        wait_for_model(c)
        defaults = [
            s for s in c.get("/api/sessions").json() if s["description"] == "bundled default model"
        ]
        assert len(defaults) == 1


def test_repetition_penalty_is_checked_and_defaults_to_the_models_config(make_server, tiny):
    live = make_server()
    config_path = tiny["good"]["config"]
    with_default = {**tiny["good"], "config": config_path.with_name("config-penalty.json")}
    config = json.loads(config_path.read_text())
    with_default["config"].write_text(
        json.dumps({**config, "generation": {"repetition_penalty": 2.0}})
    )
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        session = upload_model(c, with_default, "penalised by default")
        wait_for_model(c, session)
        greedy = {"prompt": "The quick brown fox", "max_length": 30, "temperature": 1e-6}

        def text(**extra: object) -> str:
            r = c.post("/api/generate", json={**greedy, **extra})
            assert r.status_code == 200, r.text
            return r.json()["generated_text"]

        assert text() == text(repetition_penalty=2.0)
        assert text(repetition_penalty=1.0) != text()
        for bad in (0.9, 2.5, "high"):
            r = c.post("/api/generate", json={**greedy, "repetition_penalty": bad})
            assert r.status_code == 422, r.text
            assert "repetition_penalty" in r.text
