"""The bundled default model: what its training recorded, its size, and that it answers the SDK
document's Japanese prompts in Japanese (the earlier bundle drifted into English on ``AIとは?``)."""

from __future__ import annotations

import json

import pytest

from evospikenet.models.sample_checks import DOCUMENT_PROMPTS, is_japanese, stutters
from evospikenet.models.serving import bundled_default_files, load_model_from_files


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
            assert "\ufffd" not in output.text
            japanese_answers += is_japanese(output.text)
    # measured on the 8,600-step bundle with its default penalty (1.2): 39 of 40 at 0.7, 37 at
    # 1.0 (the 5,600-step bundle: 35 and 35; the 2,600-step one: 32-33; that one without token
    # healing: 23); the rest drift into the Python documentation
    assert japanese_answers >= 34


def test_the_bundles_default_penalty_keeps_its_answers_from_looping(loaded) -> None:  # type: ignore[no-untyped-def]
    assert 1.0 < loaded.generation_defaults["repetition_penalty"] <= 2.0
    texts = [
        output.text
        for seed in range(8)
        for output in loaded.generate(
            list(DOCUMENT_PROMPTS), max_new_tokens=40, temperature=0.7, seed=seed
        )
    ]
    # measured: the 5,600-step bundle looped in 8 of 40 without a penalty, 1 with 1.15, 0 with
    # 1.3; the 8,600-step bundle in 1 of 40 without, 0 with its default 1.2
    assert sum(map(stutters, texts)) <= 2
