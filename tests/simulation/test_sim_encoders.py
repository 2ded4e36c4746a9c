"""The vision and auditory spiking encoders: real decoding, real LIF spikes, honest summaries."""

from __future__ import annotations

import numpy as np
import pytest
from sim_media import solid_image, stripes_image, tone_wav

from evospikenet.simulation.auditory import AuditoryEncoder, decode_wav
from evospikenet.simulation.lif import LIF
from evospikenet.simulation.media import MediaError
from evospikenet.simulation.vision import VisionEncoder, decode_image


def test_lif_rate_grows_with_current_and_resets() -> None:
    neuron = LIF(decay=0.8, threshold=1.0)
    spikes = neuron.run_constant(np.array([0.0, 0.1, 0.3, 0.6, 1.2], dtype=np.float32), 20)
    counts = spikes.sum(axis=0)
    assert counts[0] == 0 and counts[1] == 0  # steady state 5 * 0.1 = 0.5 < threshold
    assert 0 < counts[2] < counts[3] < counts[4] == 20


def test_vision_dominant_colour_follows_the_image() -> None:
    encoder = VisionEncoder()
    red = encoder.summarize(solid_image((220, 10, 10)))
    blue = encoder.summarize(solid_image((10, 10, 230), fmt="JPEG"))
    grey = encoder.summarize(solid_image((128, 128, 128)))
    assert red.dominant_colour == "red" and red.format == "PNG"
    assert blue.dominant_colour == "blue" and blue.format == "JPEG"
    assert grey.dominant_colour == "neutral"
    assert (red.width, red.height) == (80, 60)
    assert red.describe() != blue.describe()
    assert red.feature_signature != blue.feature_signature


def test_vision_edge_orientation_and_brightness() -> None:
    encoder = VisionEncoder()
    vertical = encoder.summarize(stripes_image(vertical=True))
    horizontal = encoder.summarize(stripes_image(vertical=False))
    assert vertical.dominant_edge == "vertical"
    assert horizontal.dominant_edge == "horizontal"
    dark = encoder.summarize(solid_image((30, 30, 30)))
    light = encoder.summarize(solid_image((240, 240, 240)))
    assert dark.dominant_edge == "none"
    assert light.brightness > dark.brightness
    assert 0 < light.spike_rate < 1


def test_vision_is_deterministic() -> None:
    data = stripes_image(vertical=True)
    assert VisionEncoder().summarize(data) == VisionEncoder().summarize(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"not an image at all", "could not be decoded"),
        (solid_image((1, 2, 3))[:60], "could not be decoded"),
    ],
)
def test_vision_rejects_bad_images(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        decode_image(data)


def test_vision_rejects_oversized_image() -> None:
    with pytest.raises(MediaError, match="limit of 100 bytes"):
        VisionEncoder().summarize(solid_image((1, 2, 3)), max_bytes=100)


def test_vision_rejects_decompression_bomb() -> None:
    bomb = solid_image((0, 0, 0), size=(8000, 8000))  # 64 M pixels in a small PNG
    with pytest.raises(MediaError, match="pixels"):
        decode_image(bomb)


def test_auditory_dominant_band_follows_the_tone() -> None:
    encoder = AuditoryEncoder()
    low = encoder.summarize(tone_wav(440))
    high = encoder.summarize(tone_wav(2000))
    assert low.dominant_band_hz is not None and high.dominant_band_hz is not None
    assert low.dominant_band_hz[0] <= 440 <= low.dominant_band_hz[1]
    assert high.dominant_band_hz[0] <= 2000 <= high.dominant_band_hz[1]
    assert abs((low.peak_frequency_hz or 0) - 440) < 45
    assert low.duration_s == pytest.approx(0.5)
    assert low.spikes_total > 0 and low.describe() != high.describe()


@pytest.mark.parametrize("width, channels, rate", [(1, 1, 8000), (2, 2, 44100), (4, 1, 22050)])
def test_auditory_reads_pcm_layouts(width: int, channels: int, rate: int) -> None:
    summary = AuditoryEncoder().summarize(tone_wav(1000, width=width, channels=channels, rate=rate))
    assert summary.channels == channels and summary.sample_rate == rate
    assert summary.dominant_band_hz is not None
    assert summary.dominant_band_hz[0] <= 1000 <= summary.dominant_band_hz[1]


def test_auditory_silence_has_no_spikes() -> None:
    summary = AuditoryEncoder().summarize(tone_wav(440, amplitude=0.0))
    assert summary.spikes_total == 0 and summary.dominant_band is None
    assert "silent" in summary.describe()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "could not be decoded"),
        (b"\x00" * 300, "could not be decoded"),
        (b"", "empty"),
    ],
)
def test_auditory_rejects_bad_audio(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        decode_wav(data)


def test_auditory_rejects_too_long_audio() -> None:
    with pytest.raises(MediaError, match="more than the limit"):
        decode_wav(tone_wav(440, seconds=2.0), max_seconds=1.0)
