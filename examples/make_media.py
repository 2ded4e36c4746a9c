"""Write the small media files the SDK examples send: ``dummy_image.png`` and ``dummy_audio.wav``.

Standard library only, deterministic output: ``python examples/make_media.py``.
"""

from __future__ import annotations

import math
import struct
import wave
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def png_bytes(width: int = 32, height: int = 32) -> bytes:
    """A 32x32 RGB gradient with a dark square: a real PNG for the vision examples."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            inside = 8 <= x < 24 and 8 <= y < 24
            row += bytes((40, 40, 40) if inside else (x * 8, y * 8, 128))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def write_wav(path: Path, seconds: float = 0.25, rate: int = 16000) -> None:
    """A quarter second of a 440 Hz tone, 16-bit mono."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        frames += struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / rate)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def main() -> None:
    (HERE / "dummy_image.png").write_bytes(png_bytes())
    write_wav(HERE / "dummy_audio.wav")


if __name__ == "__main__":
    main()
