"""Token healing: a prompt's last token is taken back and regenerated, so that the prompt's end
can merge with what follows it as it did in the training text.

A BPE tokenizer writes "人工知能とは、" with a token such as "とは、"; a prompt that stops at "とは"
ends in a token the model has seldom seen followed by anything but another word ("とは異なる").
Healing drops that last token from the prompt and lets the first new token be any token whose
bytes begin with the dropped one's ("とは", "とは、", "とは?という"), then removes those bytes from
the returned text, which still continues the whole prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .utf8 import EMPTY, STATE_COUNT, Utf8Constraint


@dataclass(frozen=True)
class Healed:
    """One prompt after healing: the ids to feed, and the text the first new token repeats."""

    ids: list[int]
    prefix: bytes  # empty: not healed


def heal_prompt(ids: Sequence[int], constraint: Utf8Constraint) -> Healed:
    """Take back the last token when it is whole characters and the rest ends between
    characters (so both the text and the UTF-8 state are the same without it)."""
    if not ids:
        return Healed(list(ids), b"")
    table = constraint.table
    last = ids[-1]
    piece = table.pieces[last] if 0 <= last < len(table.pieces) else None
    if not piece or constraint.start(ids[:-1]) != EMPTY or (len(ids) == 1 and table.strip_first):
        return Healed(list(ids), b"")
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return Healed(list(ids), b"")
    return Healed(list(ids[:-1]), piece)


class HealingConstraint:
    """:class:`Utf8Constraint` plus, at each healed row's first step, only ids whose bytes begin
    with its prefix (never the stop id). ``start`` is called once per row, in row order (as
    ``generate_ids`` does)."""

    def __init__(self, inner: Utf8Constraint, rows: Sequence[Healed]):
        import torch

        self._inner = inner
        self._rows = list(rows)
        self._started = 0
        base = inner.blocked([EMPTY])[0]
        self._masks: list[Any] = []
        for row in self._rows:
            if not row.prefix:
                self._masks.append(None)
                continue
            allowed = torch.tensor(
                [p is not None and p.startswith(row.prefix) for p in inner.table.pieces]
                + [False] * (base.shape[0] - len(inner.table.pieces)),
                dtype=torch.bool,
            )
            self._masks.append(base | ~allowed)

    def start(self, prompt: Sequence[int]) -> int:
        """The next row's state: a healing state for a healed row, else the UTF-8 state."""
        row = self._started
        self._started += 1
        if row < len(self._rows) and self._masks[row] is not None:
            return STATE_COUNT + row
        return self._inner.start(prompt)

    def blocked(self, states: Sequence[int]) -> Any:
        """The ids each row must not sample."""
        import torch

        if all(state < STATE_COUNT for state in states):
            return self._inner.blocked(states)
        return torch.stack(
            [
                self._masks[state - STATE_COUNT]
                if state >= STATE_COUNT
                else self._inner.blocked([state])[0]
                for state in states
            ]
        )

    def advance(self, state: int, token_id: int) -> int:
        """The UTF-8 state after ``token_id`` (a healing row starts between characters)."""
        return self._inner.advance(EMPTY if state >= STATE_COUNT else state, token_id)


class PrefixStripper:
    """Removes a healed row's repeated prompt text from the first chunks of its output."""

    def __init__(self, prefix: bytes) -> None:
        self._left = prefix.decode("utf-8")

    def __call__(self, chunk: str) -> str:
        if not self._left:
            return chunk
        cut = min(len(self._left), len(chunk))
        self._left = self._left[cut:]
        return chunk[cut:]
