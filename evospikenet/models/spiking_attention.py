"""Softmax-free causal spiking self-attention with per-head decay (a spiking retention).

Queries, keys and values are binary spikes. Position ``i`` attends to ``j <= i`` with weight
``(q_i . k_j) * gamma_h ** (i - j) / norm_i`` where ``norm_i = sum_{j <= i} gamma_h ** (i - j)``:
a causal, decayed mean instead of a softmax (Spikformer's spiking attention, plus RetNet-style
decay so that heads see different spans and order is visible without position embeddings). One
head keeps ``gamma = 1``, an undecayed causal mean over the whole prefix.

Because the weights factor as a decayed sum, generation carries a state per head
``S_i = gamma * S_{i-1} + k_i^T v_i`` (and ``n_i = gamma * n_{i-1} + 1``): one step per new token,
whatever the prefix length.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

AttentionState = tuple[Tensor, Tensor]
"""``(S, n)``: ``S`` is ``(T, B, H, d_head, d_head)``, ``n`` is ``(B, H)``."""


def head_decays(n_heads: int) -> Tensor:
    """Per-head decay factors: short to long spans, the last head an undecayed mean."""
    if n_heads == 1:
        return torch.ones(1, dtype=torch.float64)
    exponents = torch.linspace(1.0, 6.0, n_heads - 1, dtype=torch.float64)
    return torch.cat([1.0 - 2.0**-exponents, torch.ones(1, dtype=torch.float64)])


def retention_mask(decays: Tensor, length: int) -> Tensor:
    """``(H, L, L)`` weights ``gamma ** (i - j) / norm_i`` for ``j <= i``, zero above it."""
    pos = torch.arange(length, dtype=torch.float64)
    distance = pos[:, None] - pos[None, :]
    causal = distance >= 0
    weights = decays[:, None, None] ** distance.clamp(min=0)
    weights = torch.where(causal & (weights > 1e-20), weights, torch.zeros((), dtype=torch.float64))
    return weights / weights.sum(dim=-1, keepdim=True)


class SpikingSelfAttention(nn.Module):
    """Pre-norm spiking attention branch; its output is added to the real-valued residual stream."""

    decays: Tensor

    def __init__(self, d_model: int, n_heads: int, neuron: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.norm = nn.LayerNorm(d_model)
        self.lif_in = neuron()
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        # BatchNorm, not LayerNorm, before neurons whose input comes from spikes: an all-zero
        # spike row makes LayerNorm's backward explode (see docs/models.md).
        self.qkv_bn = nn.BatchNorm1d(3 * d_model)
        self.lif_qkv = neuron()
        self.attn_bn = nn.BatchNorm1d(d_model)
        self.lif_attn = neuron()
        self.proj = nn.Linear(d_model, d_model, bias=False)
        self.proj_bn = nn.BatchNorm1d(d_model)
        self.register_buffer("decays", head_decays(n_heads), persistent=False)

    def _spiking_qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x`` ``(T, ..., D)`` -> spike tensors q, k, v each ``(T, ..., H, d_head)``."""
        lead = x.shape[:-1]
        s = self.lif_in(self.norm(x))
        qkv = self.qkv_bn(self.qkv(s.reshape(-1, self.d_model)))
        qkv = self.lif_qkv(qkv.view(x.shape[0], -1, 3 * self.d_model))
        q, k, v = qkv.view(*lead, 3, self.n_heads, self.d_head).unbind(-3)
        return q, k, v

    def _output(self, a: Tensor) -> Tensor:
        """Attention values ``(T, ..., D)`` -> spikes -> projection back into the residual."""
        shape = a.shape
        a = self.attn_bn(a.reshape(-1, self.d_model)).view(shape[0], -1, self.d_model)
        spikes = self.lif_attn(a)
        projected: Tensor = self.proj_bn(self.proj(spikes.reshape(-1, self.d_model)))
        return projected.view(shape)

    def forward(
        self, x: Tensor, *, want_state: bool = False
    ) -> tuple[Tensor, AttentionState | None]:
        """``x`` ``(T, B, L, D)`` -> branch output of that shape and optionally the final state."""
        steps, batch, length, _ = x.shape
        q, k, v = (t.transpose(2, 3) for t in self._spiking_qkv(x))  # (T, B, H, L, dh)
        mask = retention_mask(self.decays, length).to(x.dtype)
        scores = torch.matmul(q, k.transpose(-1, -2)) * mask
        a = torch.matmul(scores, v).transpose(2, 3).reshape(steps, batch, length, self.d_model)
        state = None
        if want_state:
            gamma = self.decays.to(torch.float64)
            age = torch.arange(length - 1, -1, -1, dtype=torch.float64)
            weights = gamma[:, None] ** age  # (H, L)
            norm = weights.sum(-1).to(x.dtype).expand(batch, -1).clone()
            weighted_k = k * weights.to(x.dtype)[:, :, None]
            state = (torch.matmul(weighted_k.transpose(-1, -2), v), norm)
        return self._output(a), state

    def step(self, x: Tensor, state: AttentionState | None) -> tuple[Tensor, AttentionState]:
        """One new position: ``x`` ``(T, B, D)`` and the prefix state -> output and new state."""
        steps, batch, _ = x.shape
        q, k, v = self._spiking_qkv(x)  # (T, B, H, dh)
        gamma = self.decays.to(x.dtype)
        outer = k.unsqueeze(-1) * v.unsqueeze(-2)
        if state is None:
            summary, norm = outer, torch.ones(batch, self.n_heads, dtype=x.dtype)
        else:
            summary = state[0] * gamma[:, None, None] + outer
            norm = state[1] * gamma + 1.0
        a = torch.matmul(q.unsqueeze(-2), summary).squeeze(-2) / norm[None, :, :, None]
        return self._output(a.reshape(steps, batch, self.d_model)), (summary, norm)
