"""Generation takes turns between keys: one key's long queue does not hold another's small
request (issue 15). A fake model records the batches it runs, in order."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from evospikenet.models.serving import GenerationOutput
from evospikenet.server.app import create_app
from evospikenet.server.caller import CURRENT_CALLER
from evospikenet.server.db import utcnow
from evospikenet.server.fairness import FairTurns
from evospikenet.server.model_manager import ServedModel
from evospikenet.server.settings import Settings


class RecordingModel:
    llm_type = "SpikingEvoTextLM"

    def __init__(self) -> None:
        self.config: dict[str, Any] = {}
        self.batches: list[list[str]] = []
        self.gate = threading.Event()

    def generate(self, prompts: list[str], *, max_new_tokens: int, **_: Any) -> list[Any]:
        self.batches.append(list(prompts))
        if prompts == ["hold"]:
            assert self.gate.wait(30)
        return [GenerationOutput(p, 1, max_new_tokens, False) for p in prompts]


def serve(app: Any, model: RecordingModel) -> Any:
    manager = app.state.server.models
    manager.served = ServedModel(model, "ses_fake", {}, False, utcnow(), Path("/nonexistent"))
    return manager


def test_a_small_request_of_another_key_runs_before_one_keys_backlog(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", api_keys=("a", "b"),
                              access_log=False, load_models=False))  # fmt: skip
    model = RecordingModel()
    with TestClient(app) as client:
        manager = serve(app, model)
        params = {"temperature": 1.0, "top_k": None, "seed": None}

        async def ask(caller: str, prompt: str, tokens: int) -> str:
            CURRENT_CALLER.set(caller)
            result = await manager.generate(prompt, max_new_tokens=tokens, **params)
            return str(result["generated_text"])

        async def scenario() -> list[str]:
            first = asyncio.create_task(ask("key:a", "hold", 512))
            while not model.batches:
                await asyncio.sleep(0.01)
            backlog = [asyncio.create_task(ask("key:a", f"a{i}", 512)) for i in range(10)]
            await asyncio.sleep(0.05)
            small = asyncio.create_task(ask("key:b", "b", 1))
            await asyncio.sleep(0.05)
            model.gate.set()
            return await asyncio.gather(first, *backlog, small)

        results = client.portal.call(scenario)
    assert results == ["hold"] + [f"a{i}" for i in range(10)] + ["b"]
    assert model.batches[0] == ["hold"] and model.batches[1] == ["b"], model.batches
    assert sorted(p for batch in model.batches[2:] for p in batch) == sorted(
        f"a{i}" for i in range(10)
    )


def test_the_authenticated_key_reaches_the_queue(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", api_keys=("a", "b"),
                              access_log=False, load_models=False))  # fmt: skip
    with TestClient(app) as client:
        manager = serve(app, RecordingModel())
        seen: list[str] = []
        real_pick = manager._turns.pick

        def spy(pending: Any) -> int:
            seen.extend(p.caller for p in pending)
            return real_pick(pending)

        manager._turns.pick = spy
        for key in ("a", "b"):
            r = client.post("/api/generate", json={"prompt": "x", "max_length": 1},
                            headers={"X-API-Key": key})  # fmt: skip
            assert r.status_code == 200, r.text
    assert len(seen) == 2 and seen[0] != seen[1] and all(s.startswith("key:") for s in seen)


def test_turns_go_round_robin_and_tracking_is_bounded() -> None:
    class P:
        def __init__(self, caller: str) -> None:
            self.caller = caller

    turns = FairTurns(max_tracked=4)
    queue = [P("a"), P("a"), P("a"), P("b"), P("c")]
    order = []
    while queue:
        order.append(queue.pop(turns.pick(queue)).caller)
    assert order == ["a", "b", "c", "a", "a"]
    for i in range(20):
        turns.pick([P(f"k{i}")])
    assert len(turns._last) <= 4
