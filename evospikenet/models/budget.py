"""What one request to a model can cost, checked before the model is served.

A config's parameter count says little about its cost: a 45 KB SpikingEvoTextLM with
``time_steps=64`` and ``context_length=16384`` materializes ``time_steps * n_heads * L * L``
attention scores for a prompt of ``L`` tokens (68 GB at the full context). So every model is
estimated at its worst request, a prompt filling the whole context followed by the longest
allowed continuation, and refused at load when that exceeds :class:`ModelBudget`.

Prompts are prefilled one at a time (see ``generation._decode_batch``), so the memory bound
holds per request even when requests share a batch; a batch's time is the sum of its requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ModelLoadError

__all__ = ["ModelBudget", "ModelCost", "check_budget", "estimate_cost"]

ENV_MAX_REQUEST_BYTES = "EVOSPIKENET_MODEL_MAX_REQUEST_BYTES"
ENV_MAX_REQUEST_FLOPS = "EVOSPIKENET_MODEL_MAX_REQUEST_FLOPS"
FLOAT_BYTES = 4
MASK_BYTES = 8  # the retention mask is built in float64 before it is cast


@dataclass(frozen=True)
class ModelCost:
    """Estimated cost of a model's worst request (full context, longest continuation)."""

    prefill_bytes: int
    """Peak working memory of prefilling a full-context prompt (attention scores, the mask
    and activations), on top of the weights."""
    prefill_flops: float
    decode_flops_per_token: float
    request_flops: float
    """``prefill_flops + max_new_tokens * decode_flops_per_token``."""

    def as_dict(self) -> dict[str, float]:
        """The figures, for logs and messages."""
        return {
            "prefill_bytes": self.prefill_bytes,
            "prefill_flops": self.prefill_flops,
            "decode_flops_per_token": self.decode_flops_per_token,
            "request_flops": self.request_flops,
        }


@dataclass(frozen=True)
class ModelBudget:
    """Limits on one request's cost; a model over them is not served.

    ``max_request_bytes`` (``$EVOSPIKENET_MODEL_MAX_REQUEST_BYTES``, default 1 GiB) bounds the
    working memory of one full-context prompt; ``max_request_flops``
    (``$EVOSPIKENET_MODEL_MAX_REQUEST_FLOPS``, default 2e11, tens of seconds on one CPU core)
    bounds its compute including ``max_new_tokens`` new tokens. The bundled default model needs
    about 5 MB and 1.7e9 FLOPs.
    """

    max_request_bytes: int = 1024**3
    max_request_flops: float = 2e11
    max_new_tokens: int = 512
    """The server's largest ``max_length`` (``Settings.max_new_tokens``)."""

    @classmethod
    def from_env(cls) -> ModelBudget:
        """The defaults, overridden by the environment variables."""
        default = cls()
        return cls(
            max_request_bytes=int(
                float(os.environ.get(ENV_MAX_REQUEST_BYTES, default.max_request_bytes))
            ),
            max_request_flops=float(
                os.environ.get(ENV_MAX_REQUEST_FLOPS, default.max_request_flops)
            ),
        )


def _size(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ModelLoadError(f"config.json: {key} must be a positive integer, got {value!r}")
    if value < 1:
        raise ModelLoadError(f"config.json: {key} must be a positive integer, got {value!r}")
    return int(value)


def estimate_cost(config: Mapping[str, Any], max_new_tokens: int) -> ModelCost:
    """The cost of ``config``'s worst request (dominant terms of the folded inference path)."""
    steps = _size(config, "time_steps")
    length = _size(config, "context_length", 256)
    width = _size(config, "d_model")
    heads = _size(config, "n_heads")
    blocks = _size(config, "num_transformer_blocks")
    hidden = _size(config, "ffn_mult", 4) * width
    vocab = _size(config, "vocab_size")
    linear = 4 * width * width + 2 * width * hidden  # qkv, proj, two FFN layers per block
    scores = steps * heads * length * length * FLOAT_BYTES
    mask = heads * length * length * (FLOAT_BYTES + 2 * MASK_BYTES) + 2 * length * length * 8
    activations = 3 * steps * length * (3 * width + hidden) * FLOAT_BYTES
    prefill_bytes = scores + mask + activations + vocab * FLOAT_BYTES
    attention_flops = 4 * steps * length * length * width
    prefill_flops = float(
        blocks * (2 * steps * length * linear + attention_flops) + 2 * width * vocab
    )
    head = width // heads
    decode = float(blocks * (2 * steps * linear + 4 * steps * width * head) + 2 * width * vocab)
    return ModelCost(
        prefill_bytes=prefill_bytes,
        prefill_flops=prefill_flops,
        decode_flops_per_token=decode,
        request_flops=prefill_flops + max_new_tokens * decode,
    )


def _gib(value: float) -> str:
    return f"{value / 1024**3:.3g} GiB"


def check_budget(config: Mapping[str, Any], budget: ModelBudget | None = None) -> ModelCost:
    """``config``'s cost, or ModelLoadError saying which limit it exceeds and by how much."""
    budget = budget or ModelBudget.from_env()
    cost = estimate_cost(config, budget.max_new_tokens)
    shape = (
        f"time_steps={config.get('time_steps')}, context_length={config.get('context_length')}, "
        f"n_heads={config.get('n_heads')}, d_model={config.get('d_model')}"
    )
    if cost.prefill_bytes > budget.max_request_bytes:
        raise ModelLoadError(
            f"model refused: one full-context request would need about "
            f"{_gib(cost.prefill_bytes)} of working memory ({shape}), above the limit of "
            f"{_gib(budget.max_request_bytes)} (${ENV_MAX_REQUEST_BYTES}); lower context_length "
            "or time_steps"
        )
    if cost.request_flops > budget.max_request_flops:
        raise ModelLoadError(
            f"model refused: one full-context request would cost about "
            f"{cost.request_flops:.3g} FLOPs ({shape}), above the limit of "
            f"{budget.max_request_flops:.3g} (${ENV_MAX_REQUEST_FLOPS}); lower context_length, "
            "time_steps or the model's size"
        )
    return cost
