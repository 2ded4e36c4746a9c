"""Autoregressive sampling shared by the spiking model and the baseline.

A model plugs in with ``forward(ids) -> logits``, ``prefill(ids) -> (last_logits, state)``,
``decode_step(tokens, state) -> (logits, state)``, ``stack_states(states)``,
``select_states(state, rows)`` and a class flag
``ragged_batches`` (whether prompts of different lengths can share one decode batch).

A :class:`TokenConstraint` (e.g. :class:`~evospikenet.models.utf8.Utf8Constraint`) restricts
which ids each row may sample, given a small per-row state that the sampled ids advance.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor


class TokenConstraint(Protocol):
    """Which ids a row may sample next, from a per-row state the sampled ids advance."""

    def start(self, prompt: Sequence[int]) -> int:
        """The state after the prompt."""
        ...

    def blocked(self, states: Sequence[int]) -> Tensor:
        """``(len(states), V)`` boolean: the ids each row must not sample."""
        ...

    def advance(self, state: int, token_id: int) -> int:
        """The state after sampling ``token_id``."""
        ...


def make_generators(prompts: Sequence[Sequence[int]], seed: int | None) -> list[torch.Generator]:
    """One CPU generator per prompt.

    With a seed, each row's stream is derived from the seed and the prompt's tokens: a prompt
    samples the same whatever else is in the batch, and different prompts get different streams.
    """
    generators = []
    for prompt in prompts:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            digest = zlib.crc32(b",".join(str(t).encode() for t in prompt))
            generator.manual_seed((int(seed) * 1_000_003 + digest) % 2**63)
        generators.append(generator)
    return generators


def sample_next(
    logits: Tensor,
    *,
    temperature: float,
    top_k: int | None,
    generators: Sequence[torch.Generator],
    vocab_limit: int | None = None,
    banned_ids: Sequence[int] = (),
    blocked: Tensor | None = None,
    repeated: Tensor | None = None,
    repetition_penalty: float = 1.0,
) -> Tensor:
    """Pick one token per row of ``logits`` ``(B, V)``; ``temperature <= 0`` is greedy.

    Ids from ``vocab_limit`` on, ``banned_ids`` and where ``blocked`` ``(B, V)`` is true are
    never picked. Where ``repeated`` ``(B, V)`` is true (ids the row has already generated),
    a logit is divided by ``repetition_penalty`` when positive and multiplied when negative
    (the CTRL paper's penalty, as in Hugging Face's ``repetition_penalty``).
    """
    logits = logits.float().clone()
    if repeated is not None and repetition_penalty != 1.0:
        penalised = torch.where(
            logits > 0, logits / repetition_penalty, logits * repetition_penalty
        )
        logits = torch.where(repeated, penalised, logits)
    if blocked is not None:
        logits.masked_fill_(blocked, float("-inf"))
    if vocab_limit is not None and vocab_limit < logits.shape[-1]:
        logits[:, vocab_limit:] = float("-inf")
    if banned_ids:
        logits[:, list(banned_ids)] = float("-inf")
    if temperature <= 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    rows = [torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)]
    return torch.cat(rows)


def _check_args(
    max_new_tokens: int, temperature: float, top_k: int | None, repetition_penalty: float
) -> None:
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise ValueError(f"max_new_tokens must be an integer, got {max_new_tokens!r}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if not isinstance(temperature, int | float) or temperature != temperature:
        raise ValueError(f"temperature must be a number, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if (
        isinstance(repetition_penalty, bool)
        or not isinstance(repetition_penalty, int | float)
        or not repetition_penalty >= 1.0
    ):
        raise ValueError(f"repetition_penalty must be a number >= 1, got {repetition_penalty!r}")


def _decode_batch(
    model: Any,
    prompts: list[list[int]],
    generators: list[torch.Generator],
    *,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    repetition_penalty: float,
    use_cache: bool,
    stop_token: int | None,
    vocab_limit: int | None,
    banned_ids: Sequence[int],
    constraint: TokenConstraint | None,
    on_token: Callable[[int, int], None] | None,
) -> list[list[int]]:
    """Decode rows that can share a batch; returns the new tokens of each row."""
    new_tokens: list[list[int]] = [[] for _ in prompts]
    if max_new_tokens == 0:
        return new_tokens
    states = [constraint.start(p) for p in prompts] if constraint is not None else []
    if use_cache:
        prefilled = [model.prefill(torch.tensor([p], dtype=torch.long)) for p in prompts]
        logits = torch.cat([item[0] for item in prefilled])
        state = model.stack_states([item[1] for item in prefilled])
    else:
        sequences = [list(p) for p in prompts]
        logits = torch.cat([model(torch.tensor([s]))[:, -1] for s in sequences])
    active = list(range(len(prompts)))  # rows still generating, in batch order
    penalise = repetition_penalty != 1.0
    # (rows, V): the ids each active row has generated so far
    repeated = torch.zeros(len(prompts), logits.shape[-1], dtype=torch.bool) if penalise else None
    for step in range(max_new_tokens):
        picked = sample_next(
            logits,
            temperature=temperature,
            top_k=top_k,
            generators=[generators[row] for row in active],
            vocab_limit=vocab_limit,
            banned_ids=banned_ids,
            blocked=None if constraint is None else constraint.blocked([states[r] for r in active]),
            repeated=repeated,
            repetition_penalty=repetition_penalty,
        )
        if repeated is not None:
            repeated[torch.arange(len(active)), picked] = True
        keep = []
        for position, (row, token) in enumerate(zip(active, picked.tolist(), strict=True)):
            if stop_token is not None and token == stop_token:
                continue
            new_tokens[row].append(token)
            if constraint is not None:
                states[row] = constraint.advance(states[row], token)
            if on_token is not None:
                on_token(row, token)
            keep.append(position)
        if not keep or step == max_new_tokens - 1:
            break
        if len(keep) < len(active):  # drop finished rows so they cost nothing more
            active = [active[position] for position in keep]
            picked = picked[keep]
            if repeated is not None:
                repeated = repeated[keep]
            if use_cache:
                state = model.select_states(state, torch.tensor(keep))
        if use_cache:
            logits, state = model.decode_step(picked, state)
        else:
            for row, token in zip(active, picked.tolist(), strict=True):
                sequences[row].append(token)
            logits = torch.cat([model(torch.tensor([sequences[row]]))[:, -1] for row in active])
    return new_tokens


def _for_row(
    on_token: Callable[[int, int], None] | None, row: int
) -> Callable[[int, int], None] | None:
    """``on_token`` for a one-row batch that is row ``row`` of the caller's prompts."""
    if on_token is None:
        return None
    return lambda _, token: on_token(row, token)


@torch.no_grad()
def generate_ids(
    model: Any,
    input_ids: Tensor | Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int | None = None,
    repetition_penalty: float = 1.0,
    use_cache: bool = True,
    stop_token: int | None = None,
    vocab_limit: int | None = None,
    banned_ids: Sequence[int] = (),
    constraint: TokenConstraint | None = None,
    on_token: Callable[[int, int], None] | None = None,
) -> Any:
    """Sample from ``model`` in eval mode (restoring its mode afterwards).

    Tensor input ``(B, L)``/``(L,)`` returns the prompts with new tokens appended (rows that
    stopped early are padded with ``stop_token``); list input returns the new tokens per prompt.
    ``constraint`` masks, at each step, the ids a row may not sample (see TokenConstraint).
    ``repetition_penalty`` (>= 1; 1 is none) lowers the odds of ids a row has already
    generated (see :func:`sample_next`).
    ``on_token(row, id)`` is called for each new token as soon as it is sampled (an exception
    it raises stops generation and propagates).
    """
    _check_args(max_new_tokens, temperature, top_k, repetition_penalty)
    as_tensor = isinstance(input_ids, Tensor)
    if as_tensor:
        assert isinstance(input_ids, Tensor)
        if input_ids.dim() not in (1, 2):
            raise ValueError(f"input_ids must be 1-D or 2-D, got shape {tuple(input_ids.shape)}")
        prompts = [list(map(int, row)) for row in input_ids.reshape(-1, input_ids.shape[-1])]
    else:
        prompts = [list(map(int, p)) for p in input_ids]
    if any(len(p) == 0 for p in prompts):
        raise ValueError("input_ids: every prompt needs at least one token")
    vocab = model.config["vocab_size"]
    if any(t < 0 or t >= vocab for p in prompts for t in p):
        raise ValueError(f"input_ids: token ids must be in [0, {vocab})")
    generators = make_generators(prompts, seed)
    was_training = model.training
    model.eval()
    try:
        decode = functools.partial(
            _decode_batch,
            model,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            repetition_penalty=float(repetition_penalty),
            use_cache=use_cache,
            stop_token=stop_token,
            vocab_limit=vocab_limit,
            banned_ids=banned_ids,
            constraint=constraint,
        )
        if model.ragged_batches or len({len(p) for p in prompts}) == 1:
            new = decode(prompts, generators, on_token=on_token)
        else:
            new = [
                decode([p], [g], on_token=_for_row(on_token, row))[0]
                for row, (p, g) in enumerate(zip(prompts, generators, strict=True))
            ]
    finally:
        model.train(was_training)
    if not as_tensor:
        return new
    assert isinstance(input_ids, Tensor)
    width = max(len(n) for n in new)
    pad = stop_token if stop_token is not None else 0
    rows = [p + n + [pad] * (width - len(n)) for p, n in zip(prompts, new, strict=True)]
    out = torch.tensor(rows, dtype=torch.long)
    return out[0] if input_ids.dim() == 1 else out
