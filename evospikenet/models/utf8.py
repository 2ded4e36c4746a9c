"""Always-valid UTF-8 text from any tokenizer: token bytes, an incremental decoder, a sampling mask.

A token of a byte-level BPE may end in the middle of a multi-byte character, or start with the
tail of one character and end with the head of the next. :class:`TokenBytes` gives each id the
bytes it adds to a text; :class:`IncrementalTextDecoder` turns ids into text chunks, holding back
an incomplete character until it completes (and dropping it at the end); :class:`Utf8Constraint`
says, for the bytes still pending, which ids may be sampled so that the text can stay valid.

The pending bytes matter only through a small UTF-8 automaton state (how many continuation bytes
are still needed and the range the next one must fall in), so there are eight states, and the
constraint keeps one cached mask per state. This module imports torch only to build masks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from torch import Tensor

EMPTY = 0
"""Automaton state with no pending bytes: the text so far is complete."""
INVALID = -1
"""Not a state: the bytes cannot be (the start of) valid UTF-8."""

# (continuation bytes still needed, lowest and highest allowed next byte) per state; the ranges
# after E0, ED, F0 and F4 exclude overlong forms, surrogates and code points past U+10FFFF.
_STATES: tuple[tuple[int, int, int], ...] = (
    (0, 0x00, 0xFF),  # EMPTY
    (1, 0x80, 0xBF),
    (2, 0x80, 0xBF),
    (2, 0xA0, 0xBF),  # after E0
    (2, 0x80, 0x9F),  # after ED
    (3, 0x80, 0xBF),  # after F1-F3
    (3, 0x90, 0xBF),  # after F0
    (3, 0x80, 0x8F),  # after F4
)
STATE_COUNT = len(_STATES)


def _lead_state(byte: int) -> int:
    if byte < 0x80:
        return EMPTY
    if 0xC2 <= byte <= 0xDF:
        return 1
    special = {0xE0: 3, 0xED: 4, 0xF0: 6, 0xF4: 7}
    if byte in special:
        return special[byte]
    if 0xE1 <= byte <= 0xEF:
        return 2
    if 0xF1 <= byte <= 0xF3:
        return 5
    return INVALID


def _build_table() -> tuple[tuple[int, ...], ...]:
    rows = [tuple(_lead_state(byte) for byte in range(256))]
    for need, low, high in _STATES[1:]:
        after = EMPTY if need == 1 else need - 1  # states 1 and 2 need 1 and 2 bytes, any range
        rows.append(tuple(after if low <= byte <= high else INVALID for byte in range(256)))
    return tuple(rows)


_TABLE = _build_table()
"""``_TABLE[state][byte]``: the next state, or INVALID."""


def scan(state: int, data: bytes) -> int:
    """State after reading ``data`` from ``state``, or INVALID."""
    for byte in data:
        state = _TABLE[state][byte]
        if state == INVALID:
            return INVALID
    return state


def _byte_level_chars() -> dict[str, int]:
    """The GPT-2 byte-level alphabet: printable stand-in character → byte."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = {chr(byte): byte for byte in printable}
    extra = (byte for byte in range(256) if byte not in set(printable))
    chars.update({chr(256 + n): byte for n, byte in enumerate(extra)})
    return chars


_BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@dataclass(frozen=True)
class TokenBytes:
    """The bytes each id adds to a text, as the tokenizer's decoder would write them."""

    pieces: tuple[bytes | None, ...]
    """By id: the bytes the token adds after other text; ``b""`` for a special token (decoding
    skips it); None for an id that cannot be shown (no token, or decoded text not recoverable)."""
    strip_first: bool = False
    """The decoder drops one leading space of a text's first token (WordPiece, Metaspace)."""

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer) -> TokenBytes:
        """Derive the table from a ``tokenizers.Tokenizer`` and its decoder."""
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        size = max(
            [tokenizer.get_vocab_size(with_added_tokens=True), *(i + 1 for i in vocab.values())]
        )
        strings: list[str | None] = [None] * size
        for token, token_id in vocab.items():
            strings[token_id] = token
        special = {i for i, added in tokenizer.get_added_tokens_decoder().items() if added.special}
        spec = json.loads(tokenizer.to_str()).get("decoder")
        if spec is None:  # no decoder: tokens are joined with spaces
            pieces = [None if s is None else b" " + s.encode() for s in strings]
            strip_first = True
        elif spec.get("type") == "ByteLevel":
            pieces = [None if s is None else _byte_level_piece(s) for s in strings]
            strip_first = False
        else:
            fallback = "ByteFallback" in _decoder_types(spec)
            pieces, strip_first = _pieces_from_decoder(tokenizer.decoder, strings, fallback)
        for token_id in special:
            pieces[token_id] = b""
        return cls(pieces=tuple(pieces), strip_first=strip_first)

    @functools.cached_property
    def transitions(self) -> tuple[tuple[int, ...], ...]:
        """``transitions[state][id]``: the automaton state after the id's bytes, or INVALID."""
        rows = [[INVALID] * len(self.pieces) for _ in range(STATE_COUNT)]
        for token_id, piece in enumerate(self.pieces):
            if piece is None:
                continue
            if not piece:
                for state in range(STATE_COUNT):
                    rows[state][token_id] = state
                continue
            starts = range(1, STATE_COUNT) if _may_follow(piece) else (EMPTY,)
            for state in starts:
                rows[state][token_id] = scan(state, piece)
        return tuple(tuple(row) for row in rows)


def _byte_level_piece(token: str) -> bytes:
    """As the ``ByteLevel`` decoder: map each character to its byte; a token with a character
    outside the alphabet (an added token) keeps its UTF-8 bytes."""
    chars = _BYTE_LEVEL_CHARS
    if all(char in chars for char in token):
        return bytes(chars[char] for char in token)
    return token.encode()


_BYTE_LEVEL_CHARS = _byte_level_chars()


def _decoder_types(spec: Any) -> set[str]:
    """Every decoder type named in a (possibly nested ``Sequence``) decoder spec."""
    if not isinstance(spec, dict):
        return set()
    found = {str(spec.get("type"))}
    for inner in spec.get("decoders") or []:
        found |= _decoder_types(inner)
    return found


def _pieces_from_decoder(
    decoder: Any, strings: Sequence[str | None], byte_fallback: bool
) -> tuple[list[bytes | None], bool]:
    """Each token's text after a reference token (so context rules such as WordPiece's space
    between words apply), and whether a text's first token loses its leading space."""
    reference = "a"
    head = decoder.decode([reference])
    pieces: list[bytes | None] = []
    for token in strings:
        piece: bytes | None = None
        match = _BYTE_FALLBACK.fullmatch(token) if byte_fallback and token else None
        if match:
            piece = bytes.fromhex(match.group(1))
        elif token is not None:
            text = decoder.decode([reference, token])
            if text.startswith(head) and "\ufffd" not in text[len(head) :]:
                piece = text[len(head) :].encode()
        pieces.append(piece)
    spaced = [
        (token, piece)
        for token, piece in zip(strings, pieces, strict=True)
        if token and piece and piece.startswith(b" ") and len(piece) > 1
    ][:20]
    strip_first = any(decoder.decode([token]).encode() == piece[1:] for token, piece in spaced)
    return pieces, strip_first


class IncrementalTextDecoder:
    """Turns token ids into text chunks that are always complete, valid UTF-8.

    ``push(id)`` returns the text that the id completes (possibly ``""``): bytes of a character
    that is not complete yet are held back. ``finish()`` drops what is still pending. Bytes that
    cannot continue the pending ones are dropped too, so no chunk ever holds U+FFFD.
    """

    def __init__(self, table: TokenBytes, context: Iterable[int] = ()) -> None:
        """``context``: the prompt's ids; their text is not returned, but a character they leave
        incomplete can be completed by the first pushed ids (and is then returned whole)."""
        self._pieces = table.pieces
        self._strip_first = table.strip_first
        self._started = False
        self._state = EMPTY
        self._pending = bytearray()
        for token_id in context:
            self.push(token_id)

    @property
    def state(self) -> int:
        """The automaton state of the pending bytes (:data:`EMPTY` when none)."""
        return self._state

    def push(self, token_id: int) -> str:
        """Text completed by ``token_id``; ids that have no bytes add nothing."""
        piece = self._pieces[token_id] if 0 <= token_id < len(self._pieces) else None
        if not piece:
            return ""
        if not self._started:
            self._started = True
            if self._strip_first and piece.startswith(b" "):
                piece = piece[1:]
        out = bytearray()
        state, pending = self._state, self._pending
        for byte in piece:
            after = _TABLE[state][byte]
            if after == INVALID:  # the pending bytes cannot complete: drop them, retry the byte
                pending.clear()
                after = _TABLE[EMPTY][byte]
                if after == INVALID:
                    state = EMPTY
                    continue
            pending.append(byte)
            if after == EMPTY:
                out += pending
                pending.clear()
            state = after
        self._state = state
        return out.decode("utf-8")

    def finish(self) -> str:
        """End of the text: drop an incomplete character; returns ``""``."""
        self._pending.clear()
        self._state = EMPTY
        return ""


def _may_follow(piece: bytes | None) -> bool:
    """Whether a token can come after pending bytes: empty, or starting with 10xxxxxx."""
    return piece is not None and (not piece or piece[0] & 0xC0 == 0x80)


class Utf8Constraint:
    """Which ids generation may sample next, per automaton state, so text stays valid UTF-8.

    An id is allowed when its bytes continue the pending bytes validly and lead to a state from
    which the text can still complete with allowed ids. Ids from ``vocab_limit`` (or past the
    tokenizer) on and ``banned_ids`` are never allowed; ``stop_id`` always is (it ends the text,
    dropping any incomplete character).
    """

    def __init__(
        self,
        table: TokenBytes,
        *,
        width: int,
        stop_id: int | None = None,
        banned_ids: Iterable[int] = (),
        vocab_limit: int | None = None,
    ) -> None:
        """``width``: the model's logit count (may exceed the tokenizer's vocabulary)."""
        import torch

        self.table = table
        """The tokenizer's bytes per id that the constraint was built from."""
        self._stop = stop_id
        self._next = table.transitions
        limit = min(len(table.pieces), width, vocab_limit if vocab_limit is not None else width)
        banned = set(banned_ids) | ({stop_id} if stop_id is not None else set())
        candidates = [t for t in range(limit) if t not in banned]
        # after pending bytes only ids starting with a continuation byte (or empty) can follow
        followers = [t for t in candidates if _may_follow(table.pieces[t])]
        live = {EMPTY}
        grew = True
        while grew:
            grew = False
            for state in range(1, STATE_COUNT):
                if state not in live and any(self._next[state][t] in live for t in followers):
                    live.add(state)
                    grew = True
        self.live_states: frozenset[int] = frozenset(live)
        """States from which the text can still complete."""
        allowed = torch.zeros(STATE_COUNT, width, dtype=torch.bool)
        for state in live:
            ids = candidates if state == EMPTY else followers
            allowed[state, [t for t in ids if self._next[state][t] in live]] = True
            if stop_id is not None and 0 <= stop_id < width:
                allowed[state, stop_id] = True
        self.allowed: Tensor = allowed
        """``(states, width)`` boolean: which ids each state allows."""
        self._blocked = ~allowed

    def start(self, prompt: Sequence[int]) -> int:
        """The state after the prompt's ids (EMPTY when their pending bytes cannot complete)."""
        state = IncrementalTextDecoder(self.table, prompt).state
        return state if state in self.live_states else EMPTY

    def blocked(self, states: Sequence[int]) -> Tensor:
        """``(len(states), width)`` boolean mask of the ids each row must not sample."""
        if len(states) == 1:
            return self._blocked[states[0] : states[0] + 1]
        return self._blocked[list(states)]

    def advance(self, state: int, token_id: int) -> int:
        """The state after sampling ``token_id`` in ``state``."""
        after = self._next[state][token_id] if 0 <= token_id < len(self.table.pieces) else -1
        return after if after != INVALID else EMPTY
