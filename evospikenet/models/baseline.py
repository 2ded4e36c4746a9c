"""A same-size non-spiking transformer language model, the yardstick for the spiking model.

Pre-LayerNorm GPT-style blocks (softmax causal attention, GELU feed-forward), learned position
embeddings and a head tied to the token embedding. Generation uses a key/value cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .generation import generate_ids

KVCache = list[tuple[Tensor, Tensor]]
"""Per block ``(keys, values)``, each ``(B, H, L, d_head)``."""


class TransformerBlock(nn.Module):
    """Pre-norm block: softmax causal self-attention and a GELU MLP, both residual."""

    def __init__(self, d_model: int, n_heads: int, hidden: int) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Linear(hidden, d_model))

    def forward(self, x: Tensor, cache: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Any]:
        """``x`` ``(B, L, D)``; with ``cache`` the new positions attend to the cached prefix too."""
        batch, length, width = x.shape
        qkv = self.qkv(self.norm1(x)).view(batch, length, 3, self.n_heads, self.d_head)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None and length > 1)
        x = x + self.proj(a.transpose(1, 2).reshape(batch, length, width))
        return x + self.mlp(self.norm2(x)), (k, v)


class BaselineTextLM(nn.Module):
    """Non-spiking transformer LM with the same width, depth and heads as a SpikingEvoTextLM."""

    ragged_batches = False

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        n_heads: int,
        num_transformer_blocks: int,
        *,
        context_length: int = 256,
        ffn_mult: int = 4,
    ) -> None:
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.config: dict[str, Any] = {
            "vocab_size": vocab_size,
            "d_model": d_model,
            "n_heads": n_heads,
            "num_transformer_blocks": num_transformer_blocks,
            "context_length": context_length,
            "ffn_mult": ffn_mult,
        }
        self.context_length = context_length
        self.embed = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(context_length, d_model)
        self.blocks = nn.ModuleList(
            TransformerBlock(d_model, n_heads, ffn_mult * d_model)
            for _ in range(num_transformer_blocks)
        )
        self.final_norm = nn.LayerNorm(d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.position.weight, std=0.02)

    def _embed(self, input_ids: Tensor, start: int) -> Tensor:
        end = start + input_ids.shape[1]
        if end > self.context_length:
            raise ValueError(
                f"sequence of {end} tokens exceeds context_length {self.context_length}"
            )
        tokens: Tensor = self.embed(input_ids)
        positions: Tensor = self.position(torch.arange(start, end))
        return tokens + positions

    def forward(self, input_ids: Tensor) -> Tensor:
        """Logits ``(B, L, vocab_size)`` for ids ``(B, L)``."""
        x = self._embed(input_ids, 0)
        for block in self.blocks:
            x, _ = block(x)
        return F.linear(self.final_norm(x), self.embed.weight)

    def prefill(self, input_ids: Tensor) -> tuple[Tensor, KVCache]:
        """Logits of the last position ``(B, V)`` and the key/value cache of the prompt."""
        x = self._embed(input_ids, 0)
        cache: KVCache = []
        for block in self.blocks:
            x, kv = block(x)
            cache.append(kv)
        return F.linear(self.final_norm(x[:, -1]), self.embed.weight), cache

    def decode_step(self, token_ids: Tensor, cache: KVCache) -> tuple[Tensor, KVCache]:
        """One token per row ``(B,)`` on top of ``cache``."""
        x = self._embed(token_ids[:, None], cache[0][0].shape[2])
        new_cache: KVCache = []
        for block, kv in zip(self.blocks, cache, strict=True):
            x, kv = block(x, kv)
            new_cache.append(kv)
        return F.linear(self.final_norm(x[:, -1]), self.embed.weight), new_cache

    @staticmethod
    def stack_states(states: Sequence[KVCache]) -> KVCache:
        """Join equal-length caches into one batch."""
        return [
            (torch.cat([s[i][0] for s in states]), torch.cat([s[i][1] for s in states]))
            for i in range(len(states[0]))
        ]

    @staticmethod
    def select_states(cache: KVCache, rows: Tensor) -> KVCache:
        """Keep only the batch rows ``rows`` of a cache."""
        return [(keys[rows], values[rows]) for keys, values in cache]

    @torch.no_grad()
    def generate(
        self,
        input_ids: Tensor | Sequence[Sequence[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        *,
        use_cache: bool = True,
    ) -> Any:
        """Sample like ``SpikingEvoTextLM.generate``; prompt + new tokens must fit the context."""
        return generate_ids(
            self,
            input_ids,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            use_cache=use_cache,
        )
