"""Spiking neurons over a leading time axis, with an arctan surrogate gradient.

Every neuron here takes a tensor shaped ``(T, ...)`` (``T`` simulation time steps) and returns
binary spikes of the same shape. The membrane integrates its input over those steps, fires where
it crosses the threshold and is reset to zero (hard reset; the reset is not differentiated).
The backward pass replaces the Heaviside step's zero-almost-everywhere derivative with the arctan
surrogate ``alpha / 2 / (1 + (pi / 2 * alpha * x) ** 2)`` (Fang et al., SpikingJelly's default).

The LIF neuron is a small fused implementation of our own: forward and backward through time run
as one autograd node instead of a dozen per time step, which measured faster than a per-step
composition of torch ops (see ``docs/models.md``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
from torch import Tensor, nn

NEURON_TYPES = ("lif", "alif")


def normalize_neuron_type(neuron_type: str) -> str:
    """The canonical lower-case name of ``neuron_type``; ValueError naming the field otherwise."""
    if not isinstance(neuron_type, str) or neuron_type.lower() not in NEURON_TYPES:
        raise ValueError(
            f"neuron_type {neuron_type!r} is not supported; use one of "
            + ", ".join(repr(name.upper()) for name in NEURON_TYPES)
        )
    return neuron_type.lower()


def arctan_surrogate(x: Tensor, alpha: float) -> Tensor:
    """Derivative of the smooth stand-in for the Heaviside step, evaluated at ``x``."""
    return (alpha / 2) / (1 + (math.pi / 2 * alpha * x) ** 2)


def _membrane_through_time(x: Tensor, decay: float, threshold: float) -> Tensor:
    """Pre-reset membrane ``h_t = decay * v_{t-1} + x_t`` for every step; ``v_t`` is ``h_t``
    reset to 0 where it reached ``threshold``. Three small ops per step."""
    h_all = torch.empty_like(x)
    h_all[0] = x[0]
    for t in range(1, x.shape[0]):
        prev = h_all[t - 1]
        v = prev.masked_fill(prev >= threshold, 0.0)
        torch.add(x[t], v, alpha=decay, out=h_all[t])
    return h_all


class _LIFThroughTime(torch.autograd.Function):
    """LIF forward over all time steps and its exact backward through time (reset detached).

    Dynamics per step: ``h_t = decay * v_{t-1} + x_t``; ``s_t = H(h_t - threshold)``;
    ``v_t = h_t * (1 - s_t)``. ``x`` is the input already scaled by ``1 / tau``. Backward:
    ``dh_t = ds_t * surrogate(h_t - threshold) + dh_{t+1} * decay * (1 - s_t)``, ``dx_t = dh_t``.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, decay: float, threshold: float, alpha: float) -> Tensor:
        h_all = _membrane_through_time(x, decay, threshold)
        spikes = (h_all >= threshold).to(x.dtype)
        ctx.save_for_backward(h_all, spikes)
        ctx.decay, ctx.threshold, ctx.alpha = decay, threshold, alpha
        return spikes

    @staticmethod
    def backward(ctx: Any, grad_spikes: Tensor) -> tuple[Tensor, None, None, None]:
        h_all, spikes = ctx.saved_tensors
        alpha = ctx.alpha
        # arctan surrogate alpha/2 / (1 + (pi/2 * alpha * z)^2), computed in place
        denominator = (h_all - ctx.threshold).square_().mul_((math.pi / 2 * alpha) ** 2).add_(1.0)
        grad_x = torch.div(grad_spikes, denominator).mul_(alpha / 2)
        keep = torch.rsub(spikes, 1.0)
        for t in range(grad_x.shape[0] - 2, -1, -1):
            grad_x[t].addcmul_(grad_x[t + 1], keep[t], value=ctx.decay)
        return grad_x, None, None, None


def lif_inference(x: Tensor, decay: float, threshold: float) -> Tensor:
    """The LIF forward pass without autograd bookkeeping (for generation)."""
    return (_membrane_through_time(x, decay, threshold) >= threshold).to(x.dtype)


def lif_negated_(
    current: Tensor, decay: float, threshold: float, level: Tensor | None = None
) -> Tensor:
    """The LIF forward pass in place, two small ops per step (inference only, no autograd).

    ``current`` ``(T, ...)`` holds the *negated* scaled input ``-x / tau`` (folded into the
    weights of the layer before, so it costs nothing) and must own its memory; it is overwritten
    by the spikes, which are bit-identical to :func:`lif_inference`'s. On the negated membrane
    ``g = -h`` the hard reset is ``torch.threshold(g, -threshold, 0)`` (keep ``g`` where
    ``h < threshold``, else 0) and the spike test is ``g <= -threshold``; negation is exact, so
    ``g_t = -x_t + decay * reset(g_{t-1})`` rounds exactly like ``h_t = x_t + decay * v_{t-1}``.
    ``level``, a 0-dim tensor ``-threshold`` of ``current``'s dtype, makes the last compare ~4 us
    cheaper than a Python number does.
    """
    steps = current.unbind(0)
    for previous, membrane in itertools.pairwise(steps):
        membrane.add_(torch.threshold(previous, -threshold, 0.0), alpha=decay)
    return current.le_(-threshold if level is None else level)


class _RateTracking:
    """``last_rate``: the spike rate of the last forward pass while ``track_rate`` is on."""

    _last_rate: Tensor | None

    @property
    def last_rate(self) -> float | None:
        return None if self._last_rate is None else float(self._last_rate)


class LIF(_RateTracking, nn.Module):
    """Leaky integrate-and-fire neurons: ``v += (x - v) / tau``, spike at ``threshold``, reset 0."""

    def __init__(self, tau: float = 2.0, threshold: float = 0.5, alpha: float = 2.0) -> None:
        super().__init__()
        if tau <= 1.0:
            raise ValueError(f"tau must be > 1.0, got {tau}")
        if threshold <= 0.0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.tau, self.threshold, self.alpha = float(tau), float(threshold), float(alpha)
        self.track_rate = False
        self._last_rate: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Spikes ``(T, ...)`` for input currents ``(T, ...)``."""
        spikes: Tensor
        scaled = x / self.tau
        decay = 1.0 - 1.0 / self.tau
        if torch.is_grad_enabled() and x.requires_grad:
            spikes = _LIFThroughTime.apply(  # type: ignore[no-untyped-call]
                scaled, decay, self.threshold, self.alpha
            )
        else:
            spikes = lif_inference(scaled, decay, self.threshold)
        if self.track_rate:
            self._last_rate = spikes.detach().mean()  # converted only when read
        return spikes

    def inference_constants(self) -> tuple[float, float, float]:
        """``(input_scale, decay, threshold)`` for :func:`lif_negated_`: the layer before scales
        its output by ``input_scale = -1 / tau``."""
        return -1.0 / self.tau, 1.0 - 1.0 / self.tau, self.threshold

    def extra_repr(self) -> str:
        return f"tau={self.tau}, threshold={self.threshold}"


class _SpikeFn(torch.autograd.Function):
    """Heaviside step forward, arctan surrogate backward (used step by step by ALIF)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * arctan_surrogate(x, ctx.alpha), None


class ALIF(_RateTracking, nn.Module):
    """Adaptive LIF: each spike raises the neuron's threshold, which relaxes back over time.

    ``threshold_t = threshold + beta * a_t`` with ``a_t = rho * a_{t-1} + s_{t-1}`` (Bellec et
    al. 2018). Built from per-step torch ops, so it trains slower than :class:`LIF`.
    """

    def __init__(
        self,
        tau: float = 2.0,
        threshold: float = 0.5,
        alpha: float = 2.0,
        adaptation: float = 0.2,
        adaptation_decay: float = 0.9,
    ) -> None:
        super().__init__()
        if tau <= 1.0:
            raise ValueError(f"tau must be > 1.0, got {tau}")
        if threshold <= 0.0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.tau, self.threshold, self.alpha = float(tau), float(threshold), float(alpha)
        self.adaptation, self.adaptation_decay = float(adaptation), float(adaptation_decay)
        self.track_rate = False
        self._last_rate: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        """Spikes ``(T, ...)`` for input currents ``(T, ...)``."""
        decay = 1.0 - 1.0 / self.tau
        v = torch.zeros_like(x[0])
        trace = torch.zeros_like(x[0])
        out = []
        for t in range(x.shape[0]):
            h = decay * v + x[t] / self.tau
            s: Tensor = _SpikeFn.apply(  # type: ignore[no-untyped-call]
                h - self.threshold - self.adaptation * trace, self.alpha
            )
            v = h * (1.0 - s.detach())
            trace = self.adaptation_decay * trace + s.detach()
            out.append(s)
        spikes = torch.stack(out)
        if self.track_rate:
            self._last_rate = spikes.detach().mean()  # converted only when read
        return spikes

    def extra_repr(self) -> str:
        return f"tau={self.tau}, threshold={self.threshold}, adaptation={self.adaptation}"


def make_neuron(neuron_type: str, *, tau: float, threshold: float, alpha: float) -> nn.Module:
    """A fresh layer of neurons of ``neuron_type`` ("LIF"/"lif" or "ALIF"/"alif")."""
    kind = normalize_neuron_type(neuron_type)
    if kind == "lif":
        return LIF(tau=tau, threshold=threshold, alpha=alpha)
    return ALIF(tau=tau, threshold=threshold, alpha=alpha)
