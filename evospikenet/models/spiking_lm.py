"""SpikingEvoTextLM: a spiking transformer language model trained with surrogate gradients.

Data flow for a token sequence ``(B, L)``:

1. Direct encoding: the token embedding is presented to the network at each of ``time_steps``
   simulation steps, ``(T, B, L, D)``; the first neurons turn it into spikes.
2. ``num_transformer_blocks`` blocks, each adding to a real-valued residual stream (a "membrane
   shortcut"): spiking self-attention (binary Q/K/V, softmax-free causal decayed mean, see
   :mod:`.spiking_attention`) and a two-layer LIF feed-forward.
3. Readout: the residual stream is integrated (averaged) over the time steps, normalized and
   projected onto the (tied) embedding matrix, giving vocabulary logits.

Generation keeps one small state per block and costs one network step per new token.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .generation import generate_ids
from .neurons import ALIF, LIF, make_neuron, normalize_neuron_type
from .spiking_attention import (
    AttentionState,
    Folded,
    FoldedAttention,
    SpikingSelfAttention,
    fold_layer_norm,
    fold_linear,
    folded_attention,
    folded_attention_step,
    lif_layer_norm,
    lif_linear,
)

SpikingState = list[AttentionState]
"""One attention state per block."""


class SpikingFeedForward(nn.Module):
    """Pre-norm two-layer LIF feed-forward branch: LIF -> Linear -> BN -> LIF -> Linear -> BN."""

    def __init__(self, d_model: int, hidden: int, neuron: Any) -> None:
        super().__init__()
        self.d_model, self.hidden = d_model, hidden
        self.norm = nn.LayerNorm(d_model)
        self.lif_in = neuron()
        self.fc1 = nn.Linear(d_model, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.lif_hidden = neuron()
        self.fc2 = nn.Linear(hidden, d_model, bias=False)
        self.bn2 = nn.BatchNorm1d(d_model)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(T, ..., D)`` -> branch output of the same shape."""
        steps = x.shape[0]
        s = self.lif_in(self.norm(x))
        h = self.bn1(self.fc1(s.reshape(-1, self.d_model)))
        h = self.lif_hidden(h.view(steps, -1, self.hidden))
        out: Tensor = self.bn2(self.fc2(h.reshape(-1, self.hidden)))
        return out.view(x.shape)

    def fold(self) -> tuple[Folded, Folded, Folded] | None:
        """The inference form (eval mode): LayerNorm, fc1 + bn1, fc2 + bn2, each one op."""
        if not (isinstance(self.lif_in, LIF) and isinstance(self.lif_hidden, LIF)):
            return None
        return (
            fold_layer_norm(self.norm, self.lif_in),
            fold_linear(self.fc1, self.bn1, self.lif_hidden),
            fold_linear(self.fc2, self.bn2, None),
        )


FoldedBlock = tuple[FoldedAttention, tuple[Folded, Folded, Folded]]


def _folded_ffn(folded: tuple[Folded, Folded, Folded], x: Tensor) -> Tensor:
    norm, fc1, fc2 = folded
    return F.linear(lif_linear(lif_layer_norm(x, norm), fc1), fc2.weight, fc2.bias)


class SpikingBlock(nn.Module):
    """Spiking self-attention then the spiking feed-forward, each added to the residual."""

    def __init__(self, d_model: int, n_heads: int, hidden: int, neuron: Any) -> None:
        super().__init__()
        self.attn = SpikingSelfAttention(d_model, n_heads, neuron)
        self.ffn = SpikingFeedForward(d_model, hidden, neuron)

    def forward(
        self, x: Tensor, *, want_state: bool = False
    ) -> tuple[Tensor, AttentionState | None]:
        """``x`` ``(T, B, L, D)`` -> the updated residual and optionally the attention state."""
        a, state = self.attn(x, want_state=want_state)
        x = x + a
        return x + self.ffn(x), state

    def step(self, x: Tensor, state: AttentionState | None) -> tuple[Tensor, AttentionState]:
        """One new position ``(T, B, D)`` given the prefix state."""
        a, state = self.attn.step(x, state)
        x = x + a
        return x + self.ffn(x), state

    def fold(self) -> FoldedBlock | None:
        """The inference form of the block (eval mode), or None unless all neurons are LIF."""
        attn, ffn = self.attn.fold(), self.ffn.fold()
        return None if attn is None or ffn is None else (attn, ffn)

    def folded_forward(
        self, folded: FoldedBlock, x: Tensor, *, want_state: bool = False
    ) -> tuple[Tensor, AttentionState | None]:
        """:meth:`forward` from :meth:`fold`'s tensors: same spikes, a third of the ops."""
        a, state = folded_attention(folded[0], x, want_state=want_state)
        x = x + a
        return x + _folded_ffn(folded[1], x), state

    def folded_step(
        self, folded: FoldedBlock, x: Tensor, state: AttentionState | None
    ) -> tuple[Tensor, AttentionState]:
        """:meth:`step` from :meth:`fold`'s tensors."""
        a, state = folded_attention_step(folded[0], x, state)
        x = x + a
        return x + _folded_ffn(folded[1], x), state


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


class SpikingEvoTextLM(nn.Module):
    """Spiking transformer language model.

    Args:
        vocab_size: number of token ids.
        d_model: width of the residual stream; must be divisible by ``n_heads``.
        n_heads: attention heads.
        num_transformer_blocks: number of spiking transformer blocks.
        time_steps: simulation steps each token is presented for.
        neuron_type: ``"LIF"`` (or ``"lif"``) or ``"ALIF"`` (adaptive threshold).
        context_length: tokens seen in training; longer prompts are cut from the left by servers.
        ffn_mult: feed-forward hidden width as a multiple of ``d_model``.
        threshold: membrane firing threshold.
        tau: membrane time constant (in time steps), ``> 1``.
        surrogate_alpha: sharpness of the arctan surrogate gradient.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int,
        n_heads: int,
        num_transformer_blocks: int,
        time_steps: int,
        neuron_type: str = "LIF",
        *,
        context_length: int = 256,
        ffn_mult: int = 4,
        threshold: float = 0.5,
        tau: float = 2.0,
        surrogate_alpha: float = 2.0,
    ) -> None:
        super().__init__()
        for name, value in (
            ("vocab_size", vocab_size),
            ("d_model", d_model),
            ("n_heads", n_heads),
            ("num_transformer_blocks", num_transformer_blocks),
            ("time_steps", time_steps),
            ("context_length", context_length),
            ("ffn_mult", ffn_mult),
        ):
            _positive_int(name, value)
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        _positive_float("threshold", threshold)
        _positive_float("surrogate_alpha", surrogate_alpha)
        if _positive_float("tau", tau) <= 1.0:
            raise ValueError(f"tau must be greater than 1, got {tau!r}")
        normalize_neuron_type(neuron_type)
        self.config: dict[str, Any] = {
            "vocab_size": vocab_size,
            "d_model": d_model,
            "n_heads": n_heads,
            "num_transformer_blocks": num_transformer_blocks,
            "time_steps": time_steps,
            "neuron_type": neuron_type,
            "context_length": context_length,
            "ffn_mult": ffn_mult,
            "threshold": float(threshold),
            "tau": float(tau),
            "surrogate_alpha": float(surrogate_alpha),
        }
        self.time_steps = time_steps
        self.context_length = context_length
        neuron = functools.partial(
            make_neuron, neuron_type, tau=tau, threshold=threshold, alpha=surrogate_alpha
        )
        self.embed = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList(
            SpikingBlock(d_model, n_heads, ffn_mult * d_model, neuron)
            for _ in range(num_transformer_blocks)
        )
        self.final_norm = nn.LayerNorm(d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=module.in_features**-0.5)
        self._folded: tuple[list[Tensor], list[int], list[FoldedBlock] | None] | None = None

    # -- inference form ------------------------------------------------------------------------

    def _folded_blocks(self) -> list[FoldedBlock] | None:
        """The blocks with BatchNorm and the LIF input scale folded into the weights, used in eval
        mode without autograd; None in training, with gradients, for ALIF or while spike rates
        are tracked. Built once; rebuilt after ``train()``, ``load_state_dict()``, ``.to()``,
        ``track_spike_rates()`` or any in-place change of a block's parameter or buffer (their
        version counters are compared on every call)."""
        if self.training or torch.is_grad_enabled():
            return None
        cached = self._folded
        if cached is not None and [t._version for t in cached[0]] == cached[1]:
            return cached[2]
        sources = [*self.blocks.parameters(), *self.blocks.buffers()]
        versions = [t._version for t in sources]
        folded: list[FoldedBlock] | None = []
        tracking = any(getattr(m, "track_rate", False) for m in self.modules())
        with torch.no_grad():
            for block in self.blocks:
                assert isinstance(block, SpikingBlock)
                one = None if tracking else block.fold()
                if one is None or folded is None:
                    folded = None
                    break
                folded.append(one)
        self._folded = (sources, versions, folded)
        return folded

    def train(self, mode: bool = True) -> SpikingEvoTextLM:
        self._folded = None
        return super().train(mode)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._folded = None  # .to(), .double() and the like give the parameters new storage
        return super()._apply(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        self._folded = None
        return super().load_state_dict(*args, **kwargs)

    # -- full sequence -------------------------------------------------------------------------

    def _encode(self, input_ids: Tensor) -> Tensor:
        """Direct encoding: ids ``(B, L)`` or ``(B,)`` -> embeddings repeated over time
        ``(T, B, L, D)`` or ``(T, B, D)``."""
        x = F.embedding(input_ids, self.embed.weight)
        return x.expand(self.time_steps, *x.shape)

    def _readout(self, x: Tensor) -> Tensor:
        """Integrate the residual over time and project onto the vocabulary."""
        norm = self.final_norm
        mean = torch.layer_norm(x.mean(0), norm.normalized_shape, norm.weight, norm.bias, norm.eps)
        return F.linear(mean, self.embed.weight)

    def _run(
        self, input_ids: Tensor, states: SpikingState | None, *, want_state: bool = True
    ) -> tuple[Tensor, SpikingState]:
        """Logits and states: of ``(B, L)`` ids with ``states`` None (the last position's logits
        unless ``want_state`` is false), else of one token per row ``(B,)`` after ``states``.

        In eval mode without autograd this runs the folded blocks under ``torch.inference_mode``
        (the states it returns are inference tensors; the logits are ordinary ones).
        """
        folded = self._folded_blocks()
        if folded is None:
            return self._run_blocks(input_ids, states, None, want_state)
        with torch.inference_mode():
            logits, new_states = self._run_blocks(input_ids, states, folded, want_state)
        return logits.clone(), new_states

    def _run_blocks(
        self,
        input_ids: Tensor,
        states: SpikingState | None,
        folded: list[FoldedBlock] | None,
        want_state: bool,
    ) -> tuple[Tensor, SpikingState]:
        x = self._encode(input_ids)
        new_states: SpikingState = []
        for index, block in enumerate(self.blocks):
            assert isinstance(block, SpikingBlock)
            state: AttentionState | None
            if states is not None and folded is not None:
                x, state = block.folded_step(folded[index], x, states[index])
            elif states is not None:
                x, state = block.step(x, states[index])
            elif folded is not None:
                x, state = block.folded_forward(folded[index], x, want_state=want_state)
            else:
                x, state = block(x, want_state=want_state)
            if state is not None:
                new_states.append(state)
        if states is None and want_state:
            x = x[:, :, -1]
        return self._readout(x), new_states

    def forward(self, input_ids: Tensor) -> Tensor:
        """Logits ``(B, L, vocab_size)`` for ids ``(B, L)`` (each position sees its prefix)."""
        return self._run(input_ids, None, want_state=False)[0]

    # -- cached generation ---------------------------------------------------------------------

    def prefill(self, input_ids: Tensor) -> tuple[Tensor, SpikingState]:
        """Run a prompt ``(B, L)`` once: logits of its last position ``(B, V)`` and the state."""
        return self._run(input_ids, None)

    def decode_step(self, token_ids: Tensor, states: SpikingState) -> tuple[Tensor, SpikingState]:
        """Feed one token per row ``(B,)``: logits ``(B, V)`` and the advanced state."""
        if len(states) != len(self.blocks):
            raise ValueError(f"expected {len(self.blocks)} block states, got {len(states)}")
        return self._run(token_ids, states)

    @staticmethod
    def stack_states(states: Sequence[SpikingState]) -> SpikingState:
        """Join per-prompt states (any prefix lengths) into one batch state."""
        return [
            (torch.cat([s[i][0] for s in states], dim=1), torch.cat([s[i][1] for s in states]))
            for i in range(len(states[0]))
        ]

    @staticmethod
    def select_states(states: SpikingState, rows: Tensor) -> SpikingState:
        """Keep only the batch rows ``rows`` of a state."""
        return [(summary[:, rows], norm[rows]) for summary, norm in states]

    ragged_batches = True
    """Prompts of different lengths can be decoded together (the state is length-free)."""

    @torch.no_grad()
    def generate(
        self,
        input_ids: Tensor | Sequence[Sequence[int]],
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        *,
        use_cache: bool = True,
        stop_token: int | None = None,
    ) -> Any:
        """Sample continuations.

        ``input_ids`` is a ``(B, L)`` or ``(L,)`` LongTensor (returns the same with the new tokens
        appended) or a list of token-id lists of any lengths (returns the new tokens per prompt).
        ``temperature <= 0`` means greedy; ``seed`` makes sampling repeatable. Runs in eval mode.
        """
        return generate_ids(
            self,
            input_ids,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            seed=seed,
            use_cache=use_cache,
            stop_token=stop_token,
        )

    def spike_rates(self) -> dict[str, float]:
        """Spike rate of each neuron layer in the last forward pass (after enabling tracking)."""
        return {
            name: module.last_rate
            for name, module in self.named_modules()
            if getattr(module, "last_rate", None) is not None
        }

    def track_spike_rates(self, enabled: bool = True) -> None:
        """Record each neuron layer's spike rate on every forward pass (costs a sync per layer)."""
        self._folded = None
        for module in self.modules():
            if isinstance(module, LIF | ALIF):
                module.track_rate = enabled
