"""Test media made on the spot: images with Pillow, WAV files with ``wave`` and numpy."""

from __future__ import annotations

import io
import wave

import numpy as np
from PIL import Image


def solid_image(
    rgb: tuple[int, int, int], size: tuple[int, int] = (80, 60), fmt: str = "PNG"
) -> bytes:
    """A single-colour image encoded as ``fmt``."""
    buffer = io.BytesIO()
    Image.new("RGB", size, rgb).save(buffer, format=fmt)
    return buffer.getvalue()


def stripes_image(vertical: bool, size: int = 96, period: int = 8) -> bytes:
    """Black and white stripes (vertical or horizontal lines) as PNG."""
    pixels = np.zeros((size, size, 3), dtype=np.uint8)
    pixels[:, ::period] = 255
    pixels[:, 1::period] = 255
    if not vertical:
        pixels = np.ascontiguousarray(np.transpose(pixels, (1, 0, 2)))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def tone_wav(
    freq: float,
    seconds: float = 0.5,
    rate: int = 16000,
    width: int = 2,
    channels: int = 1,
    amplitude: float = 0.5,
) -> bytes:
    """A sine tone as a PCM WAV file."""
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t)
    if width == 1:
        data = (x * 127 + 128).astype(np.uint8)
    elif width == 2:
        data = (x * 32767).astype("<i2")
    else:
        data = (x * (2**31 - 1)).astype("<i4")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(np.repeat(data[:, None], channels, axis=1).tobytes())
    return buffer.getvalue()
