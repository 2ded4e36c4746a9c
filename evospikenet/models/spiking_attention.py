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
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .neurons import LIF, lif_negated_

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


def prefix_weights(decays: Tensor, length: int) -> Tensor:
    """``(H, L)`` float64: how much each of ``length`` positions weighs in the state after them."""
    age = torch.arange(length - 1, -1, -1, dtype=torch.float64)
    return decays.to(torch.float64)[:, None] ** age


def prefix_state(decays: Tensor, k: Tensor, v: Tensor) -> AttentionState:
    """The generation state after a whole prefix of spikes ``k``, ``v`` ``(T, B, H, L, dh)``."""
    batch, length = k.shape[1], k.shape[3]
    weights = prefix_weights(decays, length)
    norm = weights.sum(-1).to(k.dtype).expand(batch, -1).clone()
    weighted_k = k * weights.to(k.dtype)[:, :, None]
    return torch.matmul(weighted_k.transpose(-1, -2), v), norm


# -- inference: eval-mode BatchNorm and the LIF input scale folded into the weights ------------


class Folded(NamedTuple):
    """``y = F.linear(x, weight, bias)`` (``weight`` may be an elementwise scale), then an LIF."""

    weight: Tensor
    bias: Tensor
    decay: float = 0.0
    threshold: float = 0.0
    level: Tensor | None = None  # -threshold as a 0-dim tensor, see lif_negated_
    eps: float = 1e-5  # LayerNorm's

    def spikes(self, current: Tensor) -> Tensor:
        """The LIF after this stage, on its (negated) input ``current``, in place."""
        return lif_negated_(current, self.decay, self.threshold, self.level)


def _lif_constants(lif: LIF, dtype: torch.dtype) -> tuple[float, dict[str, Any]]:
    """The input scale for ``lif`` and its :class:`Folded` fields."""
    factor, decay, threshold = lif.inference_constants()
    level = torch.tensor(-threshold, dtype=dtype)
    return factor, {"decay": decay, "threshold": threshold, "level": level}


def batchnorm_affine(bn: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift`` (float64)."""
    assert bn.running_mean is not None and bn.running_var is not None
    scale = torch.rsqrt(bn.running_var.double() + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.double()
    shift = -bn.running_mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    return scale, shift


def fold_linear(linear: nn.Linear, bn: nn.BatchNorm1d, lif: nn.Module | None) -> Folded:
    """Linear -> BatchNorm (eval) [-> the scaled input of ``lif``] as one ``F.linear``."""
    scale, shift = batchnorm_affine(bn)
    dtype = linear.weight.dtype
    factor, fields = _lif_constants(lif, dtype) if isinstance(lif, LIF) else (1.0, {})
    weight = linear.weight.double() * (scale * factor)[:, None]
    return Folded(weight.to(dtype), (shift * factor).to(dtype), **fields)


def fold_layer_norm(norm: nn.LayerNorm, lif: LIF) -> Folded:
    """The affine part of a LayerNorm scaled to be ``lif``'s negated input (exact for tau = 2)."""
    factor, fields = _lif_constants(lif, norm.weight.dtype)
    return Folded(norm.weight * factor, norm.bias * factor, eps=norm.eps, **fields)


def lif_layer_norm(x: Tensor, folded: Folded) -> Tensor:
    """Spikes of LayerNorm -> LIF for ``x`` ``(T, ..., D)``."""
    return folded.spikes(torch.layer_norm(x, x.shape[-1:], folded.weight, folded.bias, folded.eps))


def lif_linear(x: Tensor, folded: Folded) -> Tensor:
    """Spikes of Linear -> BatchNorm -> LIF for ``x`` ``(T, ..., D)``."""
    return folded.spikes(F.linear(x, folded.weight, folded.bias))


class FoldedAttention(NamedTuple):
    """An eval-mode :class:`SpikingSelfAttention` with every normalization folded in.

    The q/k/v output channels are reordered head-major, ``(H, 3, d_head)``, so that one head's
    q, k and v of one row sit side by side and the per-head products need no copies.
    """

    norm: Folded
    qkv: Folded
    attn: Folded  # attention BatchNorm as an elementwise scale and shift, each (H, d_head)
    proj: Folded
    decays: Tensor  # (H,) float64
    gamma: Tensor  # (H,) in the model's dtype
    gamma_matrix: Tensor  # (H, 1, 1)
    one: Tensor
    n_heads: int
    cache: dict[Any, Tensor]  # retention mask and prefix weights, by dtype and length


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
        state = prefix_state(self.decays, k, v) if want_state else None
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

    def fold(self) -> FoldedAttention | None:
        """The inference form of this branch (eval mode), or None unless its neurons are LIF."""
        if not all(isinstance(n, LIF) for n in (self.lif_in, self.lif_qkv, self.lif_attn)):
            return None
        assert isinstance(self.lif_in, LIF) and isinstance(self.lif_attn, LIF)
        scale, shift = batchnorm_affine(self.attn_bn)
        dtype, heads = self.qkv.weight.dtype, (self.n_heads, self.d_head)
        factor, fields = _lif_constants(self.lif_attn, dtype)
        attn = Folded(
            (scale * factor).to(dtype).view(heads), (shift * factor).to(dtype).view(heads), **fields
        )
        qkv = fold_linear(self.qkv, self.qkv_bn, self.lif_qkv)
        head_major = torch.arange(3 * self.d_model).view(3, *heads).transpose(0, 1).reshape(-1)
        gamma = self.decays.to(dtype)
        return FoldedAttention(
            norm=fold_layer_norm(self.norm, self.lif_in),
            qkv=qkv._replace(weight=qkv.weight[head_major], bias=qkv.bias[head_major]),
            attn=attn,
            proj=fold_linear(self.proj, self.proj_bn, None),
            decays=self.decays.to(torch.float64),
            gamma=gamma,
            gamma_matrix=gamma.view(-1, 1, 1),
            one=torch.ones((), dtype=dtype),
            n_heads=self.n_heads,
            cache={},
        )


_CACHED_LENGTH = 2048
"""Longer masks (``H * L * L`` values) are made for the call and not kept."""


def _cached(folded: FoldedAttention, kind: str, length: int, dtype: torch.dtype) -> Tensor:
    """The retention mask ``(H, L, L)`` or the prefix weights ``(H, L, 1)`` in ``dtype``.

    Row ``i`` of the mask does not depend on the length and the prefix weights of a shorter
    prefix are the last ones of a longer one, so one tensor of the largest length seen serves.
    """
    made = folded.cache.get((kind, dtype))
    if made is None or made.shape[1] < length:
        size = max(length, 16)
        if kind == "mask":
            made = retention_mask(folded.decays, size).to(dtype)
        else:
            made = prefix_weights(folded.decays, size)[:, :, None].to(dtype)
        if length <= _CACHED_LENGTH:
            folded.cache[(kind, dtype)] = made
    if kind == "mask":
        return made[:, :length, :length]
    return made[:, made.shape[1] - length :]


def folded_attention(
    folded: FoldedAttention, x: Tensor, *, want_state: bool = False
) -> tuple[Tensor, AttentionState | None]:
    """:meth:`SpikingSelfAttention.forward` in eval mode, from its :meth:`fold`."""
    steps, batch, length, width = x.shape
    qkv = lif_linear(lif_layer_norm(x, folded.norm), folded.qkv)
    q, k, v = (
        qkv.view(steps, batch, length, folded.n_heads, 3, -1).permute(4, 0, 1, 3, 2, 5).unbind(0)
    )  # (T, B, H, L, dh)
    mask = _cached(folded, "mask", length, x.dtype)
    a = torch.matmul(torch.matmul(q, k.transpose(-1, -2)).mul_(mask), v).transpose(2, 3)
    attn = folded.attn
    current = torch.addcmul(attn.bias, a, attn.weight)  # (T, B, L, H, dh)
    spikes = attn.spikes(current).reshape(steps, batch, length, width)
    state = None
    if want_state:
        weights = _cached(folded, "weights", length, x.dtype)
        norm = _cached(folded, "weights", length, torch.float64).sum((1, 2)).to(x.dtype)
        state = torch.matmul((k * weights).transpose(-1, -2), v), norm.expand(batch, -1).clone()
    return F.linear(spikes, folded.proj.weight, folded.proj.bias), state


def folded_attention_step(
    folded: FoldedAttention, x: Tensor, state: AttentionState | None
) -> tuple[Tensor, AttentionState]:
    """:meth:`SpikingSelfAttention.step` in eval mode, from its :meth:`fold`."""
    steps, batch, width = x.shape
    heads = folded.n_heads
    qkv = lif_linear(lif_layer_norm(x, folded.norm), folded.qkv)
    rows, d_head = steps * batch * heads, width // heads
    q, k, v = qkv.view(rows, 3, d_head).unbind(1)  # (T * B * H, dh)
    outer = (k.unsqueeze(-1), v.unsqueeze(-2))
    if state is None:
        summary = torch.mul(*outer).view(steps, batch, heads, d_head, d_head)
        norm = torch.ones(batch, heads, dtype=x.dtype)
    else:  # gamma * S + k^T v, rounded like SpikingSelfAttention.step (k^T v is exact)
        summary = state[0] * folded.gamma_matrix
        summary.view(rows, d_head, d_head).addcmul_(*outer)
        norm = torch.addcmul(folded.one, state[1], folded.gamma)
    a = torch.bmm(q.unsqueeze(1), summary.view(rows, d_head, d_head))
    attn = folded.attn
    scale = attn.weight / norm.unsqueeze(-1)
    current = torch.addcmul(attn.bias, a.view(steps, batch, heads, -1), scale)
    spikes = attn.spikes(current).view(steps, batch, width)
    return F.linear(spikes, folded.proj.weight, folded.proj.bias), (summary, norm)
