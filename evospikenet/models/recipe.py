"""From text to the three artifacts a server loads: tokenizer, trained model, config.

Used by ``evospikenet train`` and ``scripts/train_default_model.py``. The output directory gets
``config.json``, ``spiking_lm.pth`` (a plain ``state_dict``), ``spiking_lm_tokenizer.zip`` (a
``save_pretrained``-layout zip) and ``training.json`` (what was measured).
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .spiking_lm import SpikingEvoTextLM
from .tokenizer import (
    END_OF_TEXT,
    save_tokenizer_zip,
    train_bpe_tokenizer,
    train_char_bpe_tokenizer,
)
from .training import bits_per_byte, train_lm

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "spiking_lm.pth"
TOKENIZER_NAME = "spiking_lm_tokenizer.zip"
METADATA_NAME = "training.json"
CHECKPOINT_NAME = "checkpoint.pt"
WORK_TOKENIZER_NAME = "tokenizer.json"

DEFAULT_ARCHITECTURE: dict[str, Any] = {
    "d_model": 128,
    "n_heads": 4,
    "num_transformer_blocks": 4,
    "time_steps": 4,
    "neuron_type": "LIF",
    "context_length": 128,
}


@dataclass(frozen=True)
class TrainedArtifacts:
    """Paths of a finished training run's files and its measurements."""

    config_path: Path
    weights_path: Path
    tokenizer_path: Path
    metadata: dict[str, Any]


def encode_documents(tokenizer: Any, documents: list[str]) -> torch.Tensor:
    """All documents as one 1-D id tensor, each followed by the end-of-text token."""
    eot = tokenizer.token_to_id(END_OF_TEXT)
    ids: list[int] = []
    for encoding in tokenizer.encode_batch(documents):
        ids.extend(encoding.ids)
        ids.append(eot)
    return torch.tensor(ids, dtype=torch.long)


TOKENIZER_KINDS = {
    "bytes": (train_bpe_tokenizer, "byte-level BPE"),
    "chars": (train_char_bpe_tokenizer, "character BPE with byte fallback"),
}
"""``train_and_save(tokenizer_kind=...)``: each kind's trainer and what it is called."""


def _work_tokenizer(
    work_dir: Path | None, train_docs: list[str], vocab_size: int, kind: str = "bytes"
) -> Any:
    """The run's tokenizer: reused from ``work_dir`` when a resumed run saved one, else trained."""
    from tokenizers import Tokenizer

    saved = work_dir / WORK_TOKENIZER_NAME if work_dir is not None else None
    if saved is not None and saved.exists():
        return Tokenizer.from_file(str(saved))
    train, _ = TOKENIZER_KINDS[kind]
    tokenizer = train(train_docs, vocab_size=vocab_size)
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        tmp = saved.with_name(saved.name + ".tmp")
        tokenizer.save(str(tmp))
        tmp.replace(saved)
    return tokenizer


def train_and_save(
    train_docs: list[str],
    heldout_docs: list[str],
    out_dir: Path,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    vocab_size: int = 2048,
    tokenizer_kind: str = "bytes",
    architecture: dict[str, Any] | None = None,
    batch_size: int = 16,
    learning_rate: float = 1e-2,
    seed: int = 0,
    progress: bool = True,
    work_dir: Path | None = None,
    checkpoint_every: float = 300.0,
) -> TrainedArtifacts:
    """Train a tokenizer and a SpikingEvoTextLM on ``train_docs``; write the artifacts.

    Held-out bits per byte are measured on ``heldout_docs`` joined by blank lines (skipped if
    there are none). With ``work_dir`` the run is resumable: the tokenizer is kept there
    (``tokenizer.json``, reused when present) and so is a training checkpoint written every
    ``checkpoint_every`` seconds; the same call after a kill continues where it stopped.
    """
    if not train_docs:
        raise ValueError("train_docs is empty: nothing to train on")
    torch.manual_seed(seed)
    started = time.perf_counter()
    if tokenizer_kind not in TOKENIZER_KINDS:
        raise ValueError(
            f"tokenizer_kind: must be one of {sorted(TOKENIZER_KINDS)}, got {tokenizer_kind!r}"
        )
    tokenizer = _work_tokenizer(work_dir, train_docs, vocab_size, tokenizer_kind)
    tokenizer_seconds = time.perf_counter() - started
    train_ids = encode_documents(tokenizer, train_docs)
    arch = {**DEFAULT_ARCHITECTURE, **(architecture or {})}
    model = SpikingEvoTextLM(vocab_size=tokenizer.get_vocab_size(), **arch)
    context = model.context_length
    if train_ids.numel() < context + 2:
        raise ValueError(
            f"the text is too short: {train_ids.numel()} tokens, need more than {context + 1}"
        )
    report = train_lm(
        model,
        train_ids,
        seconds=seconds,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        progress=progress,
        checkpoint=work_dir / CHECKPOINT_NAME if work_dir is not None else None,
        checkpoint_every=checkpoint_every,
    )
    metadata: dict[str, Any] = {
        "llm_type": "SpikingEvoTextLM",
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_bytes": sum(len(d.encode("utf-8")) for d in train_docs),
        "train_tokens": int(train_ids.numel()),
        "tokenizer": f"{TOKENIZER_KINDS[tokenizer_kind][1]}, {tokenizer.get_vocab_size()} tokens",
        "tokenizer_training_seconds": round(tokenizer_seconds, 2),
        "training_seconds": round(report.seconds, 1),
        "training_steps": report.steps,
        "training_tokens_seen": report.tokens,
        "training_tokens_per_second": round(report.tokens_per_second),
        "final_train_loss_nats": round(report.final_loss, 4),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
    }
    heldout_text = "\n\n".join(heldout_docs)
    if heldout_text:
        heldout_ids = torch.tensor(tokenizer.encode(heldout_text).ids, dtype=torch.long)
        n_bytes = len(heldout_text.encode("utf-8"))
        metadata["heldout_bytes"] = n_bytes
        metadata["heldout_bytes_per_token"] = round(n_bytes / max(1, heldout_ids.numel()), 3)
        if heldout_ids.numel() >= 2:
            bpb = bits_per_byte(model, heldout_ids, n_bytes, context_length=context)
            metadata["heldout_bits_per_byte"] = round(bpb, 4)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_path = out_dir / CONFIG_NAME
    config_path.write_text(json.dumps(model.config, indent=2) + "\n", encoding="utf-8")
    weights_path = out_dir / WEIGHTS_NAME
    torch.save(model.state_dict(), weights_path)
    tokenizer_path = save_tokenizer_zip(
        tokenizer, out_dir / TOKENIZER_NAME, model_max_length=context
    )
    (out_dir / METADATA_NAME).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return TrainedArtifacts(config_path, weights_path, tokenizer_path, metadata)
