"""Every served model has a bounded cost per request; one request's bad input or a model
failure never fails the others or leaks internals (issue 15, findings 1 and 3)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from model_fixtures import upload_model, write_tiny_model

from evospikenet.models.budget import ModelBudget, check_budget, estimate_cost
from evospikenet.models.errors import ModelLoadError

# the issue's example: 8,288 parameters, served to everyone, 68 GB at the full context
CHEAP_BUT_HUGE = {
    "vocab_size": 300,
    "d_model": 16,
    "n_heads": 1,
    "num_transformer_blocks": 1,
    "time_steps": 64,
    "context_length": 16384,
}


def test_the_issues_config_is_over_the_default_budget() -> None:
    cost = estimate_cost(CHEAP_BUT_HUGE, 512)
    assert cost.prefill_bytes > 60 * 1024**3
    with pytest.raises(ModelLoadError, match=r"working memory.*time_steps=64.*context_length"):
        check_budget(CHEAP_BUT_HUGE, ModelBudget())


def test_the_bundled_default_and_small_models_are_well_within_it() -> None:
    default = json.loads(
        (Path(__file__).parents[2] / "evospikenet/models/default/config.json").read_text()
    )
    cost = check_budget(default, ModelBudget())
    assert cost.prefill_bytes < ModelBudget().max_request_bytes / 50
    assert cost.request_flops < ModelBudget().max_request_flops / 20


def test_the_flop_limit_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = {**CHEAP_BUT_HUGE, "time_steps": 2, "context_length": 512, "d_model": 512}
    check_budget(config, ModelBudget())
    with pytest.raises(ModelLoadError, match="FLOPs"):
        check_budget(config, ModelBudget(max_request_flops=1e9))
    monkeypatch.setenv("EVOSPIKENET_MODEL_MAX_REQUEST_BYTES", "1e6")
    monkeypatch.setenv("EVOSPIKENET_MODEL_MAX_REQUEST_FLOPS", "5e9")
    assert ModelBudget.from_env() == ModelBudget(max_request_bytes=10**6, max_request_flops=5e9)


def test_the_estimate_is_not_below_what_a_prefill_really_allocates() -> None:
    import resource
    import subprocess
    import sys

    probe = """
import resource, torch
from evospikenet.models.spiking_lm import SpikingEvoTextLM
m = SpikingEvoTextLM(vocab_size=300, d_model=16, n_heads=1, num_transformer_blocks=1,
                     time_steps=32, context_length=800).eval()
ids = torch.randint(0, 300, (1, 800))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.no_grad():
    m.prefill(ids)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""
    del resource
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    measured = int(out.stdout.strip())
    config = {**CHEAP_BUT_HUGE, "time_steps": 32, "context_length": 800}
    assert estimate_cost(config, 0).prefill_bytes >= measured


def wait_for(client: httpx.Client, predicate: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = client.get("/api/info").json()
        if predicate(info):
            return info
        time.sleep(0.1)
    raise AssertionError(f"timed out: {info}")


def test_an_over_budget_upload_is_refused_and_the_previous_model_keeps_serving(
    make_server: Any, tmp_path: Path
) -> None:
    import torch

    from evospikenet.models.spiking_lm import SpikingEvoTextLM

    good = write_tiny_model(tmp_path / "good")
    live = make_server()
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        first = upload_model(c, good, "first")
        wait_for(c, lambda i: i["model"] and i["model"]["session_id"] == first)
        huge = dict(good)
        huge["config"] = tmp_path / "huge" / "config.json"
        huge["model"] = tmp_path / "huge" / "spiking_lm.pth"
        huge["config"].parent.mkdir()
        config = {
            **CHEAP_BUT_HUGE,
            "vocab_size": json.loads(good["config"].read_text())["vocab_size"],
        }
        huge["config"].write_text(json.dumps(config))
        torch.save(SpikingEvoTextLM(**config).state_dict(), huge["model"])
        bad = upload_model(c, huge, "cheap but huge")
        info = wait_for(c, lambda i: i["model_error"] is not None)
        assert bad in info["model_error"] and "working memory" in info["model_error"]
        assert "EVOSPIKENET_MODEL_MAX_REQUEST_BYTES" in info["model_error"]
        assert info["model"]["session_id"] == first
        r = c.post("/api/generate", json={"prompt": "x " * 3000, "max_length": 2})
        assert r.status_code == 200 and r.json()["model_session_id"] == first


def manager_with(tmp_path: Path, model: Any) -> Any:
    from evospikenet.server.blobstore import BlobStore
    from evospikenet.server.db import Database, utcnow
    from evospikenet.server.model_manager import ModelManager, ServedModel

    manager = ModelManager(Database.__new__(Database), BlobStore.__new__(BlobStore), enabled=False)
    manager.served = ServedModel(model, "ses_test", {}, False, utcnow(), tmp_path)
    return manager


class BrokenModel:
    llm_type = "SpikingEvoTextLM"
    config: ClassVar[dict[str, Any]] = {}

    def generate(self, prompts: list[str], **_: Any) -> list[Any]:
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 4100000000 bytes. Error code 12"
        )


def test_a_model_failure_is_a_generic_500_with_an_error_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from evospikenet.server.errors import ApiError

    manager = manager_with(tmp_path, BrokenModel())
    params = {"max_new_tokens": 4, "temperature": 1.0, "top_k": None, "seed": None}
    with pytest.raises(ApiError) as failed:
        asyncio.run(manager.generate("p", **params))
    error = failed.value
    assert error.status == 500 and error.code == "MODEL_001"
    assert "alloc" not in error.detail.lower() and "bytes" not in error.detail
    error_id = error.detail.split("error id ")[1].split(")")[0]
    assert error_id.startswith("err_")
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from evospikenet.models.serving import load_model_from_files

    paths = write_tiny_model(tmp_path_factory.mktemp("tiny"))
    return load_model_from_files(paths["config"], paths["model"], paths["tokenizer"])


def test_one_bad_prompt_does_not_fail_its_batch(real_model: Any) -> None:
    from evospikenet.models.serving import GenerationOutput, PromptError

    prompts = ["The quick", "a\udfffb", "brown fox", "\ud800"]
    outputs = real_model.generate(prompts, max_new_tokens=5, temperature=0.0, isolate=True)
    assert isinstance(outputs[1], PromptError) and isinstance(outputs[3], PromptError)
    alone = real_model.generate(["The quick", "brown fox"], max_new_tokens=5, temperature=0.0)
    assert [outputs[0], outputs[2]] == alone
    assert all(isinstance(o, GenerationOutput) for o in alone)
    with pytest.raises(PromptError):
        real_model.generate(prompts, max_new_tokens=5, temperature=0.0)


def test_a_batch_with_a_bad_prompt_answers_each_request_on_its_own(
    tmp_path: Path, real_model: Any
) -> None:
    from evospikenet.server.errors import ApiError

    manager = manager_with(tmp_path, real_model)
    params = {"max_new_tokens": 4, "temperature": 1.0, "top_k": None, "seed": None}

    async def burst() -> list[Any]:
        calls = [manager.generate(f"prompt {i}", **params) for i in range(6)]
        calls.insert(3, manager.generate("\ud800", **params))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(burst())
    bad = results.pop(3)
    assert isinstance(bad, ApiError) and bad.status == 422
    assert bad.errors and bad.errors[0]["field"] == "body.prompt"
    assert [r["prompt"] for r in results] == [f"prompt {i}" for i in range(6)]


class PoisonedTokenizerModel:
    """Batches like the real model; the tokenizer refuses the prompt "poison" only."""

    llm_type = "SpikingEvoTextLM"
    config: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def generate(self, prompts: list[str], *, isolate: bool = False, **_: Any) -> list[Any]:
        from evospikenet.models.serving import GenerationOutput, PromptError

        self.batches.append(list(prompts))
        assert isolate, "the manager must ask for per-request isolation"
        return [
            PromptError("cannot be tokenized")
            if p == "poison"
            else GenerationOutput(p, 1, 1, False)
            for p in prompts
        ]


def test_a_prompt_only_the_tokenizer_refuses_fails_alone_inside_the_batch(tmp_path: Path) -> None:
    from evospikenet.server.errors import ApiError

    model = PoisonedTokenizerModel()
    manager = manager_with(tmp_path, model)
    params = {"max_new_tokens": 4, "temperature": 1.0, "top_k": None, "seed": None}

    async def burst() -> list[Any]:
        calls = [manager.generate(p, **params) for p in ("a", "poison", "b", "c")]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(burst())
    assert max(len(b) for b in model.batches) > 1  # they did share a batch
    assert isinstance(results[1], ApiError) and results[1].status == 422
    assert [r["generated_text"] for r in (results[0], results[2], results[3])] == ["a", "b", "c"]
