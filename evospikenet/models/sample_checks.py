"""Measures of generated text used to judge the bundled default's samples: whether a
continuation is Japanese, and whether it stutters (a piece repeated three times in a row).

Shared by ``scripts/sample_default_model.py`` and ``tests/models/test_bundled_default.py``.
"""

from __future__ import annotations

import re

__all__ = ["DOCUMENT_PROMPTS", "is_japanese", "stutters"]

DOCUMENT_PROMPTS = (
    "人工知能とは",
    "AIとは?",
    "機械学習の応用例",
    "テストプロンプト",
    "この画像に写っているものは何ですか？",
)
"""Every generation prompt of the SDK document, as it is written there."""

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
_LETTERS = re.compile(r"[^\W\d_]|[\u3000-\u303f\uff01-\uff5e]")
_STUTTER = re.compile(r"(.{2,}?)\1\1")


def is_japanese(text: str) -> bool:
    """At least 5 letters, and 90 % or more of them Japanese (kana, kanji, full-width)."""
    letters = _LETTERS.findall(text)
    return len(letters) >= 5 and len(_JAPANESE.findall(text)) >= 0.9 * len(letters)


def stutters(text: str) -> bool:
    """A piece of two or more characters three times in a row (人間が人間が人間が)."""
    return _STUTTER.search(text) is not None
