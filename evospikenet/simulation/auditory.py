"""The auditory node's work: decode a WAV, build a spectrogram, encode each band into spikes.

The WAV is read with the stdlib ``wave`` module (PCM, 8/16/24/32-bit, any channel count,
mixed to mono). A Hann-windowed short-time Fourier transform (25 ms frames, 10 ms hop) is
pooled into log-spaced frequency bands; each band's log energy drives one LIF neuron per
frame, with ``substeps`` time steps per frame. The summary reports what the spikes say:
dominant band and frequency, duration, spike counts and rate.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evospikenet.simulation.lif import LIF, FloatArray
from evospikenet.simulation.media import DEFAULT_MAX_MEDIA_BYTES, MediaError, check_size

MAX_SECONDS = 60.0
BANDS = 32
LOW_HZ = 50.0
HIGH_HZ = 8000.0
FLOOR_DB = -60.0


@dataclass(frozen=True)
class Audio:
    """Mono samples in [-1, 1] and their rate."""

    samples: FloatArray
    sample_rate: int
    channels: int


def decode_wav(
    data: bytes, max_bytes: int = DEFAULT_MAX_MEDIA_BYTES, max_seconds: float = MAX_SECONDS
) -> Audio:
    """The PCM WAV in ``data`` mixed to mono; :class:`MediaError` when it is not usable."""
    check_size("audio", data, max_bytes)
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.getnframes()
            if rate < 1000 or rate > 384000:
                raise MediaError(f"audio sample rate {rate} Hz is outside 1000..384000 Hz")
            if frames / rate > max_seconds:
                raise MediaError(
                    f"audio lasts {frames / rate:.1f} s, more than the limit of {max_seconds:.0f} s"
                )
            raw = reader.readframes(frames)
    except MediaError:
        raise
    except (wave.Error, EOFError, ValueError, OSError) as exc:
        raise MediaError(f"the audio could not be decoded as a PCM WAV file: {exc}") from None
    if channels < 1 or width not in (1, 2, 3, 4):
        raise MediaError(f"unsupported WAV layout: {channels} channels of {width} bytes")
    usable = len(raw) - len(raw) % (width * channels)
    if usable == 0:
        raise MediaError("the audio holds no samples")
    samples = _pcm_to_float(raw[:usable], width).reshape(-1, channels).mean(axis=1)
    return Audio(samples.astype(np.float32), rate, channels)


def _pcm_to_float(raw: bytes, width: int) -> FloatArray:
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 3:
        bytes3 = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return (values / float(1 << 23)).astype(np.float32)
    dtype = np.int16 if width == 2 else np.int32
    return np.frombuffer(raw, dtype=dtype).astype(np.float32) / float(np.iinfo(dtype).max + 1)


def spectrogram(audio: Audio) -> tuple[FloatArray, NDArray[np.float64]]:
    """Power spectrogram ``(frames, bins)`` and the bins' frequencies in Hz."""
    frame = max(16, round(audio.sample_rate * 0.025))
    hop = max(1, round(audio.sample_rate * 0.010))
    samples = audio.samples
    if samples.size < frame:
        samples = np.pad(samples, (0, frame - samples.size))
    windows = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop]
    power = np.abs(np.fft.rfft(windows * np.hanning(frame).astype(np.float32), axis=1)) ** 2
    freqs = np.fft.rfftfreq(frame, 1.0 / audio.sample_rate).astype(np.float64)
    return power.astype(np.float32), freqs


def band_edges(sample_rate: int, bands: int = BANDS) -> NDArray[np.float64]:
    """``bands + 1`` log-spaced band edges from 50 Hz to min(8 kHz, Nyquist)."""
    high = min(HIGH_HZ, sample_rate / 2)
    return np.geomspace(LOW_HZ, high, bands + 1)


@dataclass(frozen=True)
class AuditorySummary:
    """What the auditory encoder's spikes say about one sound."""

    duration_s: float
    sample_rate: int
    channels: int
    spikes_total: int
    spike_rate: float
    band_spikes: list[int]
    dominant_band: int | None
    dominant_band_hz: tuple[float, float] | None
    peak_frequency_hz: float | None

    def describe(self) -> str:
        """One line for the composed response."""
        head = f"{self.duration_s:.2f} s at {self.sample_rate} Hz, {self.channels} ch"
        if self.dominant_band is None or self.dominant_band_hz is None:
            return f"{head}; silent (no band spiked)"
        low, high = self.dominant_band_hz
        return (
            f"{head}; dominant band {self.dominant_band} ({low:.0f}-{high:.0f} Hz), "
            f"peak {self.peak_frequency_hz:.0f} Hz; {self.spikes_total} spikes, "
            f"rate {self.spike_rate:.3f}"
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dict(self.__dict__)


class AuditoryEncoder:
    """One LIF neuron per frequency band, driven by the band's log energy frame by frame."""

    def __init__(self, bands: int = BANDS, substeps: int = 4, neuron: LIF | None = None) -> None:
        self.bands = bands
        self.substeps = substeps
        self.neuron = neuron or LIF(decay=0.8, threshold=1.0)

    def band_currents(self, audio: Audio) -> tuple[FloatArray, NDArray[np.float64], float]:
        """Currents ``(frames, bands)`` in [0, 1], the band edges, and the peak frequency (Hz)."""
        power, freqs = spectrogram(audio)
        edges = band_edges(audio.sample_rate, self.bands)
        index = np.digitize(freqs, edges) - 1
        energy = np.zeros((power.shape[0], self.bands), dtype=np.float64)
        for band in range(self.bands):
            in_band = index == band
            if in_band.any():
                energy[:, band] = power[:, in_band].mean(axis=1)
        peak_hz = float(freqs[int(power.mean(axis=0).argmax())])
        peak = energy.max()
        if peak <= 1e-12:
            return np.zeros_like(energy, dtype=np.float32), edges, peak_hz
        decibels = 10 * np.log10(np.maximum(energy / peak, 1e-12))
        currents = np.clip(1.0 - decibels / FLOOR_DB, 0.0, 1.0)
        return currents.astype(np.float32), edges, peak_hz

    def summarize(
        self,
        data: bytes,
        max_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
        max_seconds: float = MAX_SECONDS,
    ) -> AuditorySummary:
        """Decode ``data`` and summarize its spikes; :class:`MediaError` for bad media."""
        audio = decode_wav(data, max_bytes, max_seconds)
        currents, edges, peak_hz = self.band_currents(audio)
        steps = np.repeat(currents, self.substeps, axis=0)
        spikes = self.neuron.run(steps)
        per_band = spikes.sum(axis=0).astype(int)
        total = int(per_band.sum())
        dominant: int | None = int(per_band.argmax()) if total > 0 else None
        band_hz = None
        if dominant is not None:
            band_hz = (round(float(edges[dominant]), 1), round(float(edges[dominant + 1]), 1))
        return AuditorySummary(
            duration_s=round(audio.samples.size / audio.sample_rate, 3),
            sample_rate=audio.sample_rate,
            channels=audio.channels,
            spikes_total=total,
            spike_rate=round(total / spikes.size, 4),
            band_spikes=[int(c) for c in per_band],
            dominant_band=dominant,
            dominant_band_hz=band_hz,
            peak_frequency_hz=round(peak_hz, 1) if dominant is not None else None,
        )
