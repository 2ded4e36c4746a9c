"""The vision and auditory nodes' workers: media in, spike summaries out."""

from __future__ import annotations

import threading
from typing import Any

from evospikenet.simulation.auditory import MAX_SECONDS, AuditoryEncoder
from evospikenet.simulation.media import DEFAULT_MAX_MEDIA_BYTES, MediaError
from evospikenet.simulation.messages import MessageError, b64decode
from evospikenet.simulation.vision import VisionEncoder


def _media(task: dict[str, Any]) -> bytes:
    data = b64decode(task.get("media"), "media")
    if data is None:
        raise MediaError("the task carries no media")
    return data


class VisionWorker:
    """Encodes each image with :class:`VisionEncoder` and reports its summary."""

    max_batch = 1

    def __init__(self, max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES) -> None:
        self.encoder = VisionEncoder()
        self.max_media_bytes = max_media_bytes

    def prepare(self, stop: threading.Event) -> None:
        """Nothing to load: the encoder's weights are fixed."""

    def process(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = []
        for task in tasks:
            try:
                summary = self.encoder.summarize(_media(task), self.max_media_bytes)
            except (MediaError, MessageError) as exc:
                outcomes.append({"error": str(exc)})
                continue
            outcomes.append(
                {
                    "summary": summary.describe(),
                    "details": summary.as_dict(),
                    "spike_rate": summary.spike_rate,
                }
            )
        return outcomes

    def status(self) -> dict[str, Any]:
        return {"max_media_bytes": self.max_media_bytes}


class AuditoryWorker:
    """Encodes each WAV with :class:`AuditoryEncoder` and reports its summary."""

    max_batch = 1

    def __init__(
        self, max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES, max_seconds: float = MAX_SECONDS
    ) -> None:
        self.encoder = AuditoryEncoder()
        self.max_media_bytes = max_media_bytes
        self.max_seconds = max_seconds

    def prepare(self, stop: threading.Event) -> None:
        """Nothing to load."""

    def process(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        outcomes: list[dict[str, Any]] = []
        for task in tasks:
            try:
                summary = self.encoder.summarize(
                    _media(task), self.max_media_bytes, self.max_seconds
                )
            except (MediaError, MessageError) as exc:
                outcomes.append({"error": str(exc)})
                continue
            outcomes.append(
                {
                    "summary": summary.describe(),
                    "details": summary.as_dict(),
                    "spike_rate": summary.spike_rate,
                }
            )
        return outcomes

    def status(self) -> dict[str, Any]:
        return {"max_media_bytes": self.max_media_bytes}
