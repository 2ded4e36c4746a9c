"""The vision node's work: decode an image and encode it into spikes with a small spiking CNN.

Layer 1 is a bank of fixed, designed filters (colour opponents, brightness, darkness and four
oriented edge detectors) driving LIF neurons with a constant current over ``steps`` time steps.
Layer 2 is a 3x3 spiking convolution with seeded random weights over the pooled layer-1 spikes
(a fixed "feature signature"). The summary reports what the spikes say: spike counts, dominant
colour channel, edge orientation energy and brightness.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evospikenet.simulation.lif import LIF, FloatArray
from evospikenet.simulation.media import DEFAULT_MAX_MEDIA_BYTES, MediaError, check_size

IMAGE_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM"})
MAX_PIXELS = 40_000_000
INPUT_SIDE = 64
COLOURS = ("red", "green", "blue")
EDGES = ("horizontal", "vertical", "diagonal_45", "diagonal_135")
LAYER1 = (*COLOURS, "brightness", "darkness", *EDGES)
LAYER2_CHANNELS = 8
WEIGHT_SEED = 20260517

_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32) / 4
_SOBEL_D = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float32) / 4
# Edge orientation = the direction the edge runs: a vertical edge changes along x.
_EDGE_KERNELS = {
    "horizontal": _SOBEL_X.T,
    "vertical": _SOBEL_X,
    "diagonal_45": _SOBEL_D,
    "diagonal_135": np.fliplr(_SOBEL_D),
}


def decode_image(data: bytes, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> tuple[Any, str]:
    """The image in ``data`` as an RGB Pillow image, and its format; :class:`MediaError` if not."""
    from PIL import Image, UnidentifiedImageError

    check_size("image", data, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = str(image.format or "")
            if fmt not in IMAGE_FORMATS:
                raise MediaError(f"image format {fmt or 'unknown'} is not supported")
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise MediaError(
                    f"image of {width}x{height} pixels is outside 1..{MAX_PIXELS} pixels"
                )
            image.load()
            return image.convert("RGB"), fmt
    except MediaError:
        raise
    except UnidentifiedImageError:
        raise MediaError("the image could not be decoded: not a known image format") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise MediaError(f"the image could not be decoded: {exc}") from None


def _conv3x3(plane: FloatArray, kernel: NDArray[np.floating[Any]]) -> FloatArray:
    """Same-size 3x3 correlation with edge padding."""
    padded = np.pad(plane, 1, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3))
    result: FloatArray = np.einsum("ijkl,kl->ij", windows, kernel).astype(np.float32)
    return result


@dataclass(frozen=True)
class VisionSummary:
    """What the vision encoder's spikes say about one image."""

    width: int
    height: int
    format: str
    spikes_total: int
    spike_rate: float
    colour_spikes: dict[str, int]
    dominant_colour: str
    edge_spikes: dict[str, int]
    dominant_edge: str
    brightness: float
    feature_signature: list[float]

    def describe(self) -> str:
        """One line for the composed response."""
        colours = "/".join(str(self.colour_spikes[c]) for c in COLOURS)
        edges = "/".join(str(self.edge_spikes[e]) for e in EDGES)
        return (
            f"{self.width}x{self.height} {self.format}; dominant colour {self.dominant_colour} "
            f"(R/G/B spikes {colours}); edges mostly {self.dominant_edge} "
            f"(H/V/D45/D135 spikes {edges}); brightness {self.brightness:.2f}; "
            f"{self.spikes_total} spikes, rate {self.spike_rate:.3f}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dict(self.__dict__)


class VisionEncoder:
    """A two-layer spiking convolutional encoder with fixed, seeded weights."""

    def __init__(self, steps: int = 20, neuron: LIF | None = None, seed: int = WEIGHT_SEED) -> None:
        self.steps = steps
        self.neuron = neuron or LIF(decay=0.8, threshold=1.0)
        rng = np.random.default_rng(seed)
        fan_in = len(LAYER1) * 9
        self.layer2_weights = (
            rng.normal(0.0, 1.0, (LAYER2_CHANNELS, len(LAYER1), 3, 3)) * (2.0 / fan_in) ** 0.5
        ).astype(np.float32)

    def layer1_currents(self, rgb: FloatArray) -> FloatArray:
        """Input currents of the layer-1 feature maps, shaped ``(channels, H, W)``."""
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        luminance = 0.299 * r + 0.587 * g + 0.114 * b
        maps = [
            np.maximum(r - (g + b) / 2, 0),
            np.maximum(g - (r + b) / 2, 0),
            np.maximum(b - (r + g) / 2, 0),
            luminance,
            1.0 - luminance,
        ]
        maps += [np.abs(_conv3x3(luminance, _EDGE_KERNELS[name])) for name in EDGES]
        return np.stack(maps).astype(np.float32)

    def encode_array(self, rgb: FloatArray) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
        """Layer-1 and layer-2 spikes, shaped ``(T, C, H, W)``, for an RGB array in [0, 1]."""
        spikes1 = self.neuron.run_constant(self.layer1_currents(rgb), self.steps)
        steps, channels, height, width = spikes1.shape
        pooled = spikes1.reshape(steps, channels, height // 2, 2, width // 2, 2).mean(axis=(3, 5))
        padded = np.pad(pooled, ((0, 0), (0, 0), (1, 1), (1, 1)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
        currents2 = np.einsum("tchwkl,ockl->tohw", windows, self.layer2_weights, optimize=True)
        spikes2 = self.neuron.run(currents2.astype(np.float32))
        return spikes1, spikes2

    def summarize(self, data: bytes, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> VisionSummary:
        """Decode ``data`` and summarize its spikes; :class:`MediaError` for bad media."""
        from PIL import Image

        image, fmt = decode_image(data, max_bytes)
        width, height = image.size
        small = image.resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
        rgb = np.asarray(small, dtype=np.float32) / 255.0
        spikes1, spikes2 = self.encode_array(rgb)
        per_channel = spikes1.sum(axis=(0, 2, 3)).astype(int)
        counts = dict(zip(LAYER1, (int(c) for c in per_channel), strict=True))
        neurons_per_map = spikes1.shape[2] * spikes1.shape[3]
        colour_spikes = {c: counts[c] for c in COLOURS}
        edge_spikes = {e: counts[e] for e in EDGES}
        # A channel "dominates" only if it fired in at least 2 % of its neuron-steps.
        floor = 0.02 * neurons_per_map * self.steps
        dominant_colour = max(COLOURS, key=lambda c: colour_spikes[c])
        if colour_spikes[dominant_colour] < floor:
            dominant_colour = "neutral"
        dominant_edge = max(EDGES, key=lambda e: edge_spikes[e])
        if edge_spikes[dominant_edge] < floor:
            dominant_edge = "none"
        signature = spikes2.sum(axis=(0, 2, 3)).astype(np.float64)
        total_signature = signature.sum()
        if total_signature > 0:
            signature = signature / total_signature
        spikes_total = int(spikes1.sum()) + int(spikes2.sum())
        neuron_steps = spikes1.size + spikes2.size
        return VisionSummary(
            width=width,
            height=height,
            format=fmt,
            spikes_total=spikes_total,
            spike_rate=round(spikes_total / neuron_steps, 4),
            colour_spikes=colour_spikes,
            dominant_colour=dominant_colour,
            edge_spikes=edge_spikes,
            dominant_edge=dominant_edge,
            brightness=round(counts["brightness"] / (neurons_per_map * self.steps), 4),
            feature_signature=[round(float(x), 4) for x in signature],
        )
