"""SpikingEvoTextLM: construction, shapes, surrogate gradients, cached generation."""

from __future__ import annotations

import pytest
import torch
from model_helpers import DOC_CONFIG, TINY, tiny_model

from evospikenet.models import SpikingEvoTextLM
from evospikenet.models.generation import generate_ids
from evospikenet.models.neurons import LIF, _SpikeFn, lif_negated_


def test_documents_config_builds_with_keyword_unpacking() -> None:
    model = SpikingEvoTextLM(**DOC_CONFIG)
    assert model.config["vocab_size"] == 30522
    assert model.embed.weight.shape == (30522, 128)
    assert len(model.blocks) == 2
    logits = model(torch.randint(0, 30522, (1, 5)))
    assert logits.shape == (1, 5, 30522)


def test_positional_construction_and_lowercase_neuron_type() -> None:
    model = SpikingEvoTextLM(64, 32, 4, 1, 2, "lif")
    assert model.config["neuron_type"] == "lif"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"d_model": 30, "n_heads": 4}, "d_model"),
        ({"neuron_type": "izhikevich"}, "neuron_type"),
        ({"neuron_type": 3}, "neuron_type"),
        ({"time_steps": 0}, "time_steps"),
        ({"vocab_size": -1}, "vocab_size"),
        ({"d_model": 32.0}, "d_model"),
        ({"tau": 1.0}, "tau"),
        ({"threshold": 0}, "threshold"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_field(
    overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        SpikingEvoTextLM(**{**TINY, **overrides})


def test_forward_shapes_and_binary_spikes() -> None:
    model = tiny_model()
    model.track_spike_rates()
    logits = model(torch.randint(0, 64, (3, 7)))
    assert logits.shape == (3, 7, 64)
    rates = model.spike_rates()
    assert len(rates) == 2 * 5
    assert all(0.0 <= rate <= 1.0 for rate in rates.values())
    assert any(rate > 0.0 for rate in rates.values())


def test_lif_emits_only_zeros_and_ones_and_fires_on_strong_input() -> None:
    lif = LIF(tau=2.0, threshold=0.5)
    spikes = lif(torch.tensor([[0.0, 0.9, 2.0], [0.0, 0.9, 2.0], [0.0, 0.9, 2.0]]))
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert spikes[:, 0].sum() == 0  # no input, no spikes
    assert spikes[:, 2].sum() == 3  # v = 1.0 >= 0.5 at every step after reset
    assert spikes[:, 1].tolist() == [0.0, 1.0, 0.0]  # 0.45, then 0.675 fires and resets


def test_fused_lif_backward_matches_step_by_step_autograd() -> None:
    x = torch.randn(5, 4, 6, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(5, 4, 6, dtype=torch.float64)
    (LIF(tau=2.0, threshold=0.5)(x) * weights).sum().backward()
    fused = x.grad.clone()

    x.grad = None
    v = torch.zeros_like(x[0])
    out = []
    for t in range(5):
        v = v + (x[t] - v) / 2.0
        s = _SpikeFn.apply(v - 0.5, 2.0)
        v = v * (1 - s.detach())
        out.append(s)
    (torch.stack(out) * weights).sum().backward()
    assert torch.allclose(fused, x.grad, atol=1e-12)


@pytest.mark.parametrize("neuron_type", ["LIF", "alif"])
def test_gradient_flows_through_the_surrogate_to_every_layer(neuron_type: str) -> None:
    model = tiny_model(neuron_type=neuron_type).train()
    ids = torch.randint(0, 64, (4, 10))
    logits = model(ids[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 64), ids[:, 1:].reshape(-1))
    loss.backward()
    for name in ("blocks.0.attn.qkv.weight", "blocks.0.ffn.fc1.weight", "embed.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("neuron_type", ["LIF", "ALIF"])
def test_cached_step_logits_equal_the_full_forward(neuron_type: str) -> None:
    model = tiny_model(neuron_type=neuron_type)
    ids = torch.randint(0, 64, (2, 20))
    with torch.no_grad():
        full = model(ids)
        logits, state = model.prefill(ids[:, :6])
        worst = (logits - full[:, 5]).abs().max().item()
        for i in range(6, 20):
            logits, state = model.decode_step(ids[:, i], state)
            worst = max(worst, (logits - full[:, i]).abs().max().item())
    assert worst < 1e-5


def test_generation_is_deterministic_with_a_seed_and_varies_without() -> None:
    model = tiny_model()
    prompt = torch.tensor([1, 2, 3])
    first = model.generate(prompt, max_new_tokens=12, temperature=1.0, seed=7)
    again = model.generate(prompt, max_new_tokens=12, temperature=1.0, seed=7)
    other = model.generate(prompt, max_new_tokens=12, temperature=1.0, seed=8)
    assert first.shape == (15,)
    assert torch.equal(first[:3], prompt)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_cached_and_uncached_generation_agree() -> None:
    model = tiny_model()
    cached = model.generate([[5, 6, 7]], 10, top_k=5, seed=3)
    uncached = model.generate([[5, 6, 7]], 10, top_k=5, seed=3, use_cache=False)
    assert cached == uncached


def test_ragged_batch_matches_one_prompt_at_a_time() -> None:
    model = tiny_model()
    prompts = [[1, 2, 3, 4, 5], [9], [10, 11]]
    batched = model.generate(prompts, 8, seed=11)
    alone = [model.generate([p], 8, seed=11)[0] for p in prompts]
    assert batched == alone


def test_greedy_and_top_k_one_agree() -> None:
    model = tiny_model()
    greedy = model.generate([[3, 4]], 6, temperature=0)
    top1 = model.generate([[3, 4]], 6, top_k=1, seed=123)
    assert greedy == top1


def test_generate_restores_training_mode_and_rejects_bad_input() -> None:
    model = tiny_model().train()
    model.generate([[1]], 2, seed=0)
    assert model.training
    with pytest.raises(ValueError, match="input_ids"):
        model.generate([[]], 2)
    with pytest.raises(ValueError, match="input_ids"):
        model.generate([[64]], 2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.generate([[1]], -1)
    with pytest.raises(ValueError, match="top_k"):
        model.generate([[1]], 1, top_k=0)


def test_banned_ids_and_the_vocab_limit_are_never_sampled() -> None:
    model = tiny_model()
    greedy = model.generate([[3, 4]], 8, temperature=0)[0]
    banned = sorted(set(greedy))
    out = generate_ids(
        model, [[3, 4]], max_new_tokens=8, temperature=0, banned_ids=banned, vocab_limit=40
    )[0]
    assert len(out) == 8
    assert not set(out) & set(banned)
    assert all(token < 40 for token in out)


def test_generation_stops_at_the_stop_token() -> None:
    model = tiny_model()
    first = model.generate([[3, 4]], 8, temperature=0)[0][0]
    assert model.generate([[3, 4]], 8, temperature=0, stop_token=first) == [[]]


@pytest.mark.parametrize("use_cache", [True, False])
def test_rows_that_stop_early_leave_the_batch_without_changing_the_others(use_cache: bool) -> None:
    model = tiny_model()
    prompts = [[1, 2, 3], [7], [20, 21], [5, 5, 5, 5]]
    free = model.generate(prompts, 10, seed=11)
    stop = free[0][2]
    batched = model.generate(prompts, 10, seed=11, stop_token=stop, use_cache=use_cache)
    alone = [model.generate([p], 10, seed=11, stop_token=stop)[0] for p in prompts]
    assert batched == alone
    assert len(batched[0]) <= 2  # row 0 met the stop token early
    for row, tokens in zip(free, batched, strict=True):
        cut = row.index(stop) if stop in row else len(row)
        assert tokens == row[:cut]


# -- the folded inference path (eval mode, no autograd) ------------------------------------------


def _with_random_batchnorm(model: SpikingEvoTextLM, seed: int = 0) -> SpikingEvoTextLM:
    """Give every BatchNorm statistics and an affine part that are far from the identity."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                size = module.num_features
                module.running_mean.copy_(torch.randn(size, generator=generator) * 0.3)
                module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(size, generator=generator) * 0.2)
            elif isinstance(module, torch.nn.LayerNorm):
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    return model


def _reference_logits(model: SpikingEvoTextLM, ids: torch.Tensor) -> torch.Tensor:
    """Eval mode with autograd on runs the module-by-module reference path."""
    with torch.enable_grad():
        return model(ids).detach()


@pytest.mark.parametrize("tau", [2.0, 3.0])
def test_folded_inference_matches_the_reference_path(tau: float) -> None:
    model = _with_random_batchnorm(tiny_model(tau=tau))
    ids = torch.randint(0, 64, (3, 24), generator=torch.Generator().manual_seed(1))
    reference = _reference_logits(model, ids)
    with torch.no_grad():
        folded = model(ids)
        assert model._folded_blocks() is not None
        logits, state = model.prefill(ids[:, :5])
        worst = (logits - folded[:, 4]).abs().max().item()
        for i in range(5, 24):
            logits, state = model.decode_step(ids[:, i], state)
            worst = max(worst, (logits - folded[:, i]).abs().max().item())
    assert (folded - reference).abs().max().item() < 1e-4
    assert worst < 1e-5
    folded.add_(1.0)  # ordinary tensors, not inference tensors


def test_negated_lif_gives_the_same_spikes_as_the_reference_lif() -> None:
    x = torch.randn(4, 300, 17, generator=torch.Generator().manual_seed(2))
    for tau in (2.0, 3.0):
        reference = LIF(tau=tau, threshold=0.5)(x)
        assert torch.equal(lif_negated_(-(x / tau), 1.0 - 1.0 / tau, 0.5), reference)


def test_folded_weights_follow_changes_to_the_parameters_and_buffers() -> None:
    model = _with_random_batchnorm(tiny_model())
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = model(ids)
    other = _with_random_batchnorm(tiny_model(), seed=5)
    other.embed.weight.data.copy_(model.embed.weight)
    model.load_state_dict(other.state_dict())
    with torch.no_grad():
        after_load = model(ids)
        model.blocks[0].ffn.bn1.running_mean.add_(0.5)  # in place, no train()/load in between
        after_edit = model(ids)
    assert not torch.allclose(before, after_load)
    assert torch.allclose(after_load, _reference_logits(other, ids), atol=1e-4)
    assert not torch.allclose(after_load, after_edit)
    assert torch.allclose(after_edit, _reference_logits(model, ids), atol=1e-4)
    model.train()
    assert model._folded is None


def test_training_mode_and_spike_tracking_use_the_reference_path() -> None:
    model = tiny_model()
    with torch.no_grad():
        model.train()
        assert model._folded_blocks() is None
        model.eval()
        model.track_spike_rates()
        assert model._folded_blocks() is None
        model(torch.randint(0, 64, (2, 6)))
    assert len(model.spike_rates()) == 2 * 5
    model.track_spike_rates(False)
    with torch.no_grad():
        assert model._folded_blocks() is not None


def test_folded_inference_in_float64_after_to() -> None:
    model = _with_random_batchnorm(tiny_model())
    ids = torch.randint(0, 64, (2, 9), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        model(ids)  # builds the float32 form
        model.double()
        folded = model(ids)
    assert folded.dtype == torch.float64
    assert torch.allclose(folded, _reference_logits(model, ids), atol=1e-9)
