"""Helpers for the model tests: tiny models, configs and tokenizer zips made on the spot."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import torch

from evospikenet.models.spiking_lm import SpikingEvoTextLM

TINY: dict[str, Any] = {
    "vocab_size": 64,
    "d_model": 32,
    "n_heads": 4,
    "num_transformer_blocks": 2,
    "time_steps": 3,
    "context_length": 32,
}

DOC_CONFIG: dict[str, Any] = {
    "vocab_size": 30522,
    "d_model": 128,
    "n_heads": 4,
    "num_transformer_blocks": 2,
    "time_steps": 10,
    "neuron_type": "LIF",
}

SAMPLE_TEXT = (
    "The quick brown fox jumps over the lazy dog. "
    "Spiking neurons integrate their input and fire when the membrane crosses a threshold. "
    "こんにちは、世界。スパイキングニューラルネットワークは時間で情報を運びます。\n"
) * 20


def tiny_model(**overrides: Any) -> SpikingEvoTextLM:
    """A small random model whose logits are spread enough for sampling tests."""
    model = SpikingEvoTextLM(**{**TINY, **overrides})
    with torch.no_grad():
        model.embed.weight.normal_(0.0, 0.15)
    return model.eval()


def write_vocab_txt_zip(path: Path, vocab_size: int, *, subfolder: str | None = None) -> Path:
    """A zip laid out like BertTokenizer.save_pretrained: vocab.txt and its config files."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = ["the", "quick", "brown", "fox", "hello", "world", "spike", "##s", "##ing", "."]
    filler = [f"tok{i}" for i in range(vocab_size - len(specials) - len(words))]
    prefix = f"{subfolder}/" if subfolder else ""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(prefix + "vocab.txt", "\n".join(specials + words + filler) + "\n")
        archive.writestr(
            prefix + "tokenizer_config.json",
            json.dumps({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}),
        )
        archive.writestr(
            prefix + "special_tokens_map.json",
            json.dumps({"unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"}),
        )
    return path


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config), encoding="utf-8")
    return path
