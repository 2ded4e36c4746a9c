"""A tiny SpikingEvoTextLM made on the spot (random weights, a small BPE), saved as the three
files a model session holds. Untrained, so its text is noise, but every token is generated
by the real spiking model."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

MODEL_FILES = ("config.json", "spiking_lm.pth", "spiking_lm_tokenizer.zip")


def make_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Write config.json, spiking_lm.pth and spiking_lm_tokenizer.zip into ``folder``."""
    import torch

    from evospikenet.models.spiking_lm import SpikingEvoTextLM
    from evospikenet.models.tokenizer import save_tokenizer_zip, train_bpe_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    texts = [inspect.getdoc(obj) or "" for obj in (dict, list, str, json, Path, inspect)]
    tokenizer = train_bpe_tokenizer(texts * 4, vocab_size=300)
    config = {
        "vocab_size": tokenizer.get_vocab_size(),
        "d_model": 32,
        "n_heads": 2,
        "num_transformer_blocks": 1,
        "time_steps": 2,
        "neuron_type": "LIF",
        "context_length": 64,
    }
    torch.manual_seed(seed)
    model = SpikingEvoTextLM(**config)
    torch.save(model.state_dict(), folder / "spiking_lm.pth")
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    save_tokenizer_zip(tokenizer, folder / "spiking_lm_tokenizer.zip", model_max_length=64)
    return folder
