"""A leaky integrate-and-fire layer over a leading time axis, in numpy (no torch needed).

Dynamics per step, as in the language model's neurons: ``h_t = decay * v_{t-1} + x_t``;
a neuron fires where ``h_t >= threshold`` and is then reset to zero (hard reset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class LIF:
    """LIF neurons with membrane decay ``decay`` (``1 - 1/tau``) and firing ``threshold``."""

    decay: float = 0.5
    threshold: float = 0.5

    def run(self, currents: FloatArray) -> NDArray[np.uint8]:
        """Spikes (0/1, same shape) for input currents shaped ``(T, ...)``."""
        if currents.ndim < 1 or currents.shape[0] == 0:
            raise ValueError("currents need a non-empty leading time axis")
        spikes = np.zeros(currents.shape, dtype=np.uint8)
        v = np.zeros(currents.shape[1:], dtype=np.float32)
        for t in range(currents.shape[0]):
            h = self.decay * v + currents[t]
            fired = h >= self.threshold
            spikes[t] = fired
            v = np.where(fired, 0.0, h).astype(np.float32)
        return spikes

    def run_constant(self, current: FloatArray, steps: int) -> NDArray[np.uint8]:
        """Spikes over ``steps`` time steps for a current held constant (direct encoding)."""
        if steps < 1:
            raise ValueError("steps must be at least 1")
        return self.run(np.broadcast_to(current, (steps, *current.shape)).astype(np.float32))
