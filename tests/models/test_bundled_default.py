"""The bundled default model: what its training recorded, its size, and that it answers the SDK
document's Japanese prompts in Japanese (the earlier bundle drifted into English on ``AIとは?``)."""

from __future__ import annotations

import json
import re

import pytest

from evospikenet.models.serving import bundled_default_files, load_model_from_files

DOCUMENT_PROMPTS = (  # every prompt of the SDK document, as it is written there
    "人工知能とは",
    "AIとは?",
    "機械学習の応用例",
    "テストプロンプト",
    "この画像に写っているものは何ですか？",
)
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]")
LETTERS = re.compile(r"[^\W\d_]|[\u3000-\u303f\uff01-\uff5e]")


def _meta() -> dict[str, object]:
    config = bundled_default_files()[0]
    return json.loads((config.parent / "training.json").read_text(encoding="utf-8"))


def test_the_bundle_is_small_and_its_recorded_figures_meet_the_targets() -> None:
    files = bundled_default_files()
    assert sum(path.stat().st_size for path in files) <= 20 * 1000 * 1000
    meta = _meta()
    assert float(meta["heldout_bits_per_byte"]) <= 1.8  # type: ignore[arg-type]
    assert str(meta["tokenizer"]).startswith("character BPE")


@pytest.fixture(scope="module")
def loaded():  # type: ignore[no-untyped-def]
    return load_model_from_files(*bundled_default_files())


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_the_document_prompts_are_mostly_answered_in_japanese(loaded, temperature: float) -> None:  # type: ignore[no-untyped-def]
    japanese_answers = 0
    for seed in range(8):
        outputs = loaded.generate(
            list(DOCUMENT_PROMPTS), max_new_tokens=40, temperature=temperature, seed=seed
        )
        for output in outputs:
            letters = LETTERS.findall(output.text)
            japanese = JAPANESE.findall(output.text)
            assert "\ufffd" not in output.text
            japanese_answers += len(letters) >= 5 and len(japanese) >= 0.9 * len(letters)
    # measured 35 of 40 at both temperatures (the 2,600-step bundle before it: 32-33; that
    # bundle without token healing: 23); the rest drift into the Python documentation
    assert japanese_answers >= 30
