"""The coordinator's answer: one line per modality, in the original's format where it applies.

``[HH:MM:SS] SpikingLM Generated: '<text>'`` for the text (the original's line), followed by
what the language node measured, and one line each for the vision and auditory summaries.
Times are UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def stamp(now: datetime | None = None) -> str:
    """``[HH:MM:SS]`` of ``now`` (UTC)."""
    return (now or datetime.now(UTC)).strftime("[%H:%M:%S]")


def compose_response(replies: dict[str, dict[str, Any]], now: datetime | None = None) -> str:
    """The response text from the role nodes' replies, keyed by role."""
    prefix = stamp(now)
    lines: list[str] = []
    language = replies.get("language")
    if language is not None:
        text = str(language.get("details", {}).get("text", ""))
        lines.append(f"{prefix} SpikingLM Generated: {text!r}")
        lines.append(f"{prefix} Language: {language['summary']}")
    if "vision" in replies:
        lines.append(f"{prefix} Vision: {replies['vision']['summary']}")
    if "auditory" in replies:
        lines.append(f"{prefix} Auditory: {replies['auditory']['summary']}")
    return "\n".join(lines)
