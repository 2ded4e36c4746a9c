"""``repetition_penalty``: the sampling rule and its effect on a real (tiny) model's output (the
model's default from config.json is tested with the loader, in ``test_serving.py``)."""

from __future__ import annotations

import pytest
import torch
from model_helpers import tiny_model

from evospikenet.models.generation import generate_ids, sample_next


def test_repeated_ids_lose_odds_whatever_the_sign_of_their_logit() -> None:
    logits = torch.tensor([[2.0, 1.5, -1.0, -1.2]])
    repeated = torch.tensor([[True, False, True, False]])
    greedy = {"temperature": 0.0, "top_k": None, "generators": [torch.Generator()]}
    assert sample_next(logits, **greedy).item() == 0
    assert sample_next(logits, **greedy, repeated=repeated, repetition_penalty=2.0).item() == 1
    # -1.0 becomes -2.0: below the unrepeated -1.2
    only_negative = torch.tensor([[-1.0, -1.2, -5.0, -5.0]])
    assert sample_next(only_negative, **greedy).item() == 0
    picked = sample_next(only_negative, **greedy, repeated=repeated, repetition_penalty=2.0)
    assert picked.item() == 1


def _distinct_share(rows: list[list[int]]) -> float:
    return sum(len(set(row)) for row in rows) / sum(len(row) for row in rows)


def test_a_penalty_makes_greedy_output_repeat_less() -> None:
    model = tiny_model()
    prompts = [[3, 4, 5], [7, 8, 9], [10, 11, 12], [20, 21, 22]]
    plain = generate_ids(model, prompts, max_new_tokens=24, temperature=0.0)
    penalised = generate_ids(
        model, prompts, max_new_tokens=24, temperature=0.0, repetition_penalty=1.8
    )
    assert _distinct_share(penalised) > _distinct_share(plain)
    again = generate_ids(model, prompts, max_new_tokens=24, temperature=0.0, repetition_penalty=1.0)
    assert again == plain  # 1 is no penalty at all


@pytest.mark.parametrize("bad", [0.5, float("nan"), "1.2", True])
def test_a_bad_penalty_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="repetition_penalty"):
        generate_ids(tiny_model(), [[1, 2]], max_new_tokens=2, repetition_penalty=bad)  # type: ignore[arg-type]
