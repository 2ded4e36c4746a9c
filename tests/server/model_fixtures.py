"""A tiny real SpikingEvoTextLM (random weights, a BPE tokenizer trained here) for server tests."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

TEXT = [
    "人工知能とは、計算機で知的な振る舞いを実現する技術です。",
    "Spiking neural networks communicate with discrete spikes over time.",
    "The quick brown fox jumps over the lazy dog.",
] * 4


def write_tiny_model(folder: Path, *, d_model: int = 32, seed: int = 0) -> dict[str, Path]:
    """config.json, spiking_lm.pth and spiking_lm_tokenizer.zip of a tiny model, in ``folder``."""
    import torch

    from evospikenet.models.spiking_lm import SpikingEvoTextLM
    from evospikenet.models.tokenizer import save_tokenizer_zip, train_bpe_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_bpe_tokenizer(TEXT, vocab_size=300)
    config = {
        "vocab_size": tokenizer.get_vocab_size(),
        "d_model": d_model,
        "n_heads": 2,
        "num_transformer_blocks": 1,
        "time_steps": 2,
        "neuron_type": "LIF",
        "context_length": 64,
    }
    torch.manual_seed(seed)
    model = SpikingEvoTextLM(**config)
    paths = {
        "config": folder / "config.json",
        "model": folder / "spiking_lm.pth",
        "tokenizer": folder / "spiking_lm_tokenizer.zip",
    }
    paths["config"].write_text(json.dumps(config))
    torch.save(model.state_dict(), paths["model"])
    save_tokenizer_zip(tokenizer, paths["tokenizer"], model_max_length=64)
    return paths


def upload_model(client: httpx.Client, paths: dict[str, Path], description: str = "tiny") -> str:
    """Upload the three files under a new session with llm_type SpikingEvoTextLM; its id."""
    session_id = client.post("/api/sessions", json={"description": description}).json()[
        "session_id"
    ]
    for kind in ("config", "model", "tokenizer"):
        with paths[kind].open("rb") as handle:
            r = client.post(
                "/api/artifacts",
                data={
                    "session_id": session_id,
                    "artifact_type": kind,
                    "name": paths[kind].name,
                    "llm_type": "SpikingEvoTextLM",
                },
                files={"file": (paths[kind].name, handle, "application/octet-stream")},
            )
        assert r.status_code == 201, r.text
    return session_id
