"""Generated text is always valid UTF-8: the automaton, the incremental decoder, the sampling mask,
every tokenizer kind the server loads, and the bundled default model over many seeds."""

from __future__ import annotations

import itertools
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from model_helpers import SAMPLE_TEXT, tiny_model, write_vocab_txt_zip
from tokenizers import Tokenizer, decoders, models, normalizers

from evospikenet.models.generation import generate_ids
from evospikenet.models.healing import heal_prompt
from evospikenet.models.serving import bundled_default_files, load_model_from_files
from evospikenet.models.tokenizer import (
    TextTokenizer,
    load_tokenizer,
    train_bpe_tokenizer,
    train_char_bpe_tokenizer,
)
from evospikenet.models.utf8 import (
    EMPTY,
    INVALID,
    STATE_COUNT,
    IncrementalTextDecoder,
    TokenBytes,
    Utf8Constraint,
    scan,
)

TEXTS = (
    "人工知能とは",
    "AIとは?",
    "機械学習の応用例",
    "こんにちは、世界。",
    "絵文字 😀🎉👍🏽 mixed ünïcödé text",
    "def f(x):\n    return x  # ok",
)

# A representative of each automaton state's pending bytes.
PENDING = {1: b"\xc3", 2: b"\xe3", 3: b"\xe0", 4: b"\xed", 5: b"\xf1", 6: b"\xf0", 7: b"\xf4"}


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def assert_clean(text: str) -> None:
    assert "\ufffd" not in text
    assert text.encode("utf-8").decode("utf-8") == text  # no lone surrogates


# --- the automaton ------------------------------------------------------------------------


def test_automaton_accepts_exactly_the_valid_utf8_sequences_and_their_prefixes() -> None:
    for first, second in itertools.product(range(256), repeat=2):
        for data in (bytes([first]), bytes([first, second])):
            assert (scan(EMPTY, data) == EMPTY) == _decodes(data), data
    edges = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF]
    edges += [0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    # each allowed range of a next byte holds 0x80, 0x90 or 0xA0; later ones allow 0x80
    completions = [b""] + [bytes([x]) + b"\x80" * k for x in (0x80, 0x90, 0xA0) for k in range(3)]
    for length in (1, 2, 3):
        for data in map(bytes, itertools.product(edges, repeat=length)):
            state = scan(EMPTY, data)
            assert (state == EMPTY) == _decodes(data), data
            completable = any(_decodes(data + tail) for tail in completions)
            assert (state != INVALID) == completable, data


# --- the incremental decoder --------------------------------------------------------------

CRAFTED = TokenBytes(
    pieces=(
        b"a",  # 0
        b"\xe3",  # 1: head of あ (E3 81 82)
        b"\x81",  # 2
        b"\x82",  # 3
        b"\x82\xe3",  # 4: tail of one あ and head of the next
        b"\xff",  # 5: never valid
        b"\xed\xa0",  # 6: head of a surrogate, never valid
        b"",  # 7: a special token
        None,  # 8: no token
        b"\xf0\x9f",  # 9: head of 😀 (F0 9F 98 80)
        b"\x98\x80",  # 10
        b" b",  # 11
    )
)


def push_all(decoder: IncrementalTextDecoder, ids: list[int]) -> list[str]:
    return [decoder.push(token) for token in ids]


@pytest.mark.parametrize(
    ("ids", "chunks"),
    [
        ([1, 2, 3, 0], ["", "", "あ", "a"]),
        ([1, 2, 4, 2, 3], ["", "", "あ", "", "あ"]),  # a token ending one char, starting another
        ([9, 7, 8, 10], ["", "", "", "😀"]),  # specials and unknown ids add nothing
        ([1, 2, 0], ["", "", "a"]),  # an interrupted character is dropped, not replaced
        ([5, 0, 3, 6, 2, 0], ["", "a", "", "", "", "a"]),  # invalid bytes are dropped
        ([0, 1, 2, 3, 1], ["a", "", "", "あ", ""]),
    ],
)
def test_decoder_holds_back_incomplete_characters(ids: list[int], chunks: list[str]) -> None:
    assert push_all(IncrementalTextDecoder(CRAFTED), ids) == chunks


def test_decoder_drops_an_incomplete_tail_and_completes_one_the_context_left() -> None:
    decoder = IncrementalTextDecoder(CRAFTED)
    assert push_all(decoder, [0, 1, 2]) == ["a", "", ""] and decoder.state != EMPTY
    assert decoder.finish() == "" and decoder.state == EMPTY
    assert decoder.push(3) == ""  # a stray continuation byte after the end
    primed = IncrementalTextDecoder(CRAFTED, context=[0, 1, 2])  # the prompt ends mid-character
    assert primed.push(3) == "あ"
    stripping = TokenBytes(pieces=CRAFTED.pieces, strip_first=True)
    assert push_all(IncrementalTextDecoder(stripping), [11, 11]) == ["b", " b"]
    assert IncrementalTextDecoder(stripping, context=[0]).push(11) == " b"


def test_random_splits_give_every_complete_character_as_soon_as_its_bytes_are_in() -> None:
    rng = random.Random(0)
    for text in TEXTS * 20:
        data = text.encode("utf-8")
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(0, min(12, len(data) - 1))))
        pieces = [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]
        decoder = IncrementalTextDecoder(TokenBytes(pieces=tuple(pieces)))
        seen, out = b"", ""
        for token_id, piece in enumerate(pieces):
            out += decoder.push(token_id)
            seen += piece
            complete = max(k for k in range(len(seen) + 1) if _decodes(seen[:k]))
            assert out.encode("utf-8") == seen[:complete]
        assert out == text


def test_random_bytes_never_give_replacement_characters() -> None:
    rng = random.Random(1)
    pieces = tuple(rng.randbytes(rng.randint(1, 4)) for _ in range(500))
    decoder = IncrementalTextDecoder(TokenBytes(pieces=pieces))
    for token_id in range(len(pieces)):
        assert_clean(decoder.push(token_id))


# --- the sampling mask --------------------------------------------------------------------


def allowed_ids(constraint: Utf8Constraint, state: int) -> set[int]:
    return set(torch.nonzero(constraint.allowed[state]).flatten().tolist())


def test_mask_allows_exactly_the_ids_that_keep_the_text_completable() -> None:
    table = TokenBytes(
        pieces=(
            b"",  # 0: end-of-text (stop)
            b"a",  # 1
            b"\xe3",  # 2
            b"\xa1",  # 3
            b"\xa2\xe3",  # 4: tail of one character, head of the next
            b"\xe0\x80",  # 5: overlong, never valid
            b"\xed",  # 6: needs 80-9F next, which only banned id 9 gives
            b"\xa0a",  # 7
            b"[PAD]",  # 8: banned
            b"\x80\x80",  # 9: banned
            b"\xc3\xa9",  # 10: é, complete
        )
    )
    constraint = Utf8Constraint(table, width=13, stop_id=0, banned_ids=[8, 9], vocab_limit=11)
    assert scan(EMPTY, b"\xed") not in constraint.live_states
    assert allowed_ids(constraint, EMPTY) == {0, 1, 2, 10}
    after_e3, after_e3_a1 = scan(EMPTY, b"\xe3"), scan(EMPTY, b"\xe3\xa1")
    assert allowed_ids(constraint, after_e3) == {0, 3}
    assert allowed_ids(constraint, after_e3_a1) == {0, 3, 4, 7}
    assert constraint.start([1, 2]) == after_e3
    assert constraint.start([6]) == EMPTY  # pending bytes that cannot complete are given up
    assert constraint.advance(after_e3_a1, 4) == after_e3
    assert constraint.advance(EMPTY, 10) == EMPTY
    blocked = constraint.blocked([EMPTY, after_e3, EMPTY])
    assert blocked.shape == (3, 13) and bool(blocked[:, 11:].all())
    assert torch.equal(blocked[1], ~constraint.allowed[after_e3])


@pytest.fixture(scope="module")
def bpe(tmp_path_factory: pytest.TempPathFactory) -> TextTokenizer:
    path = tmp_path_factory.mktemp("bpe") / "tokenizer.json"
    path.write_text(train_bpe_tokenizer(SAMPLE_TEXT.splitlines(), 300).to_str(), encoding="utf-8")
    return load_tokenizer(path)


def test_mask_of_a_trained_byte_level_bpe_is_sound_and_complete(bpe: TextTokenizer) -> None:
    table = bpe.token_bytes
    constraint = Utf8Constraint(table, width=320, stop_id=bpe.stop_id)
    assert constraint.live_states == frozenset(range(STATE_COUNT))  # all 256 bytes are tokens
    for state in range(STATE_COUNT):
        rep = PENDING.get(state, b"")
        allowed = allowed_ids(constraint, state)
        for token_id, piece in enumerate(table.pieces):
            if token_id == bpe.stop_id:
                assert token_id in allowed
                continue
            assert piece is not None
            assert (token_id in allowed) == (scan(EMPTY, rep + piece) != INVALID), (state, piece)
        assert not allowed & set(range(bpe.vocab_size, 320))
    # the tokenizer has tokens that start in the middle of a character, so the mask matters
    assert any(piece and 0x80 <= piece[0] < 0xC0 for piece in table.pieces)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny models decode far faster on one thread on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.usefixtures("one_thread")
def test_random_model_samples_valid_text_only_with_the_mask(bpe: TextTokenizer) -> None:
    model = tiny_model(vocab_size=300)
    prompts = [bpe.encode(text) for text in TEXTS]
    constraint = Utf8Constraint(bpe.token_bytes, width=300, stop_id=bpe.stop_id)
    unmasked_broken = 0
    for seed in range(6):
        kwargs = {"max_new_tokens": 24, "seed": seed, "stop_token": bpe.stop_id}
        masked = generate_ids(model, prompts, constraint=constraint, **kwargs)
        for prompt, new in zip(prompts, masked, strict=True):
            decoder = bpe.text_decoder(prompt)
            chunks = [decoder.push(token) for token in new]
            for chunk in chunks:
                assert_clean(chunk)
            # the tokenizer's own decoding agrees, but for an incomplete tail that is dropped
            whole = bpe.decode(prompt + new).rstrip("\ufffd")
            assert whole == bpe.decode(prompt) + "".join(chunks)
            assert "\ufffd" not in whole
        unmasked = generate_ids(model, prompts, **kwargs)
        unmasked_broken += sum(
            "\ufffd" in bpe.decode(p + n) for p, n in zip(prompts, unmasked, strict=True)
        )
    assert unmasked_broken > 0  # without the mask a random model breaks characters


# --- every tokenizer kind: the table decodes as the tokenizer does ------------------------


def _gpt2_zip(path: Path, tokenizer: Tokenizer) -> Path:
    model = json.loads(tokenizer.to_str())["model"]
    merges = [" ".join(pair) if isinstance(pair, list) else pair for pair in model["merges"]]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vocab.json", json.dumps(model["vocab"]))
        archive.writestr("merges.txt", "#version: 0.2\n" + "\n".join(merges) + "\n")
    return path


def _byte_fallback_tokenizer(path: Path) -> Path:
    """A Llama-style tokenizer.json: Metaspace pieces, unknown characters as <0xNN> bytes."""
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{byte:02X}>": 3 + byte for byte in range(256)})
    for piece in ("▁", "▁the", "▁quick", "a", "b", "▁AI", "と", "は", "?"):
        vocab.setdefault(piece, len(vocab))
    tokenizer = Tokenizer(models.BPE(vocab, [], unk_token="<unk>", byte_fallback=True))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
    )
    tokenizer.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    tokenizer.add_special_tokens(["<unk>", "<s>", "</s>"])
    path.write_text(tokenizer.to_str(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "kind", ["tokenizer.json", "vocab.json+merges.txt", "byte fallback", "character bpe"]
)
def test_decoder_matches_the_tokenizer_for_each_kind(tmp_path: Path, kind: str) -> None:
    trained = train_bpe_tokenizer(SAMPLE_TEXT.splitlines(), vocab_size=300)
    if kind == "tokenizer.json":
        path = tmp_path / "tokenizer.json"
        path.write_text(trained.to_str(), encoding="utf-8")
    elif kind == "vocab.json+merges.txt":
        path = _gpt2_zip(tmp_path / "gpt2.zip", trained)
    elif kind == "character bpe":
        path = tmp_path / "tokenizer.json"
        chars = train_char_bpe_tokenizer(SAMPLE_TEXT.splitlines(), vocab_size=300)
        path.write_text(chars.to_str(), encoding="utf-8")
    else:
        path = _byte_fallback_tokenizer(tmp_path / "tokenizer.json")
    tokenizer = load_tokenizer(path)
    split_somewhere = False
    for text in TEXTS:
        ids = tokenizer.encode(text)
        decoder = tokenizer.text_decoder()
        chunks = [decoder.push(token) for token in ids]
        split_somewhere |= "" in chunks
        assert "".join(chunks) == tokenizer.decode(ids) == text
        for cut in range(1, len(ids)):  # as a continuation of any prefix
            head = "".join(chunks[:cut])
            if "\ufffd" not in tokenizer.decode(ids[:cut]):
                assert head == tokenizer.decode(ids[:cut])
            rest = tokenizer.text_decoder(ids[:cut])
            assert head + "".join(rest.push(token) for token in ids[cut:]) == text
    assert split_somewhere  # some token held back part of a character


def test_wordpiece_vocab_txt_decodes_as_the_tokenizer(tmp_path: Path) -> None:
    tokenizer = load_tokenizer(write_vocab_txt_zip(tmp_path / "bert.zip", 64))
    assert tokenizer.token_bytes.strip_first
    for text in ("the quick brown fox.", "hello world spikes", "spikes the fox"):
        ids = tokenizer.encode(text)
        decoder = tokenizer.text_decoder()
        assert "".join(decoder.push(token) for token in ids) == tokenizer.decode(ids) == text
        continued = tokenizer.text_decoder(ids[:1])
        tail = "".join(continued.push(token) for token in ids[1:])
        assert tokenizer.decode(ids[:1]) + tail == text
    constraint = Utf8Constraint(tokenizer.token_bytes, width=64, stop_id=tokenizer.stop_id)
    assert constraint.live_states == {EMPTY}  # WordPiece tokens are whole characters


# --- the bundled default model ------------------------------------------------------------


def test_bundled_model_never_writes_broken_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    from evospikenet.models import generation

    sampled: list[list[list[int]]] = []  # the ids each call sampled, to check them too

    def spy(*args: Any, **kwargs: Any) -> Any:
        sampled.append(generate_ids(*args, **kwargs))
        return sampled[-1]

    monkeypatch.setattr(generation, "generate_ids", spy)
    files = bundled_default_files()
    loaded, tokenizer = load_model_from_files(*files), load_tokenizer(files[2])
    constraint = loaded._utf8_constraint()
    prompts = ["人工知能とは", "AIとは?", "機械学習の応用例", "こんにちは", "絵文字😀🎉で遊ぶ", ""]
    total = 0
    for seed, temperature in itertools.product(range(10), (1.0, 1.4)):
        chunks: list[list[str]] = [[] for _ in prompts]
        outputs = loaded.generate(
            prompts,
            max_new_tokens=32,
            temperature=temperature,
            seed=seed,
            on_text=lambda row, chunk, into=chunks: into[row].append(chunk),
        )
        for prompt, output, pieces, new in zip(prompts, outputs, chunks, sampled[-1], strict=True):
            assert all(pieces) and "".join(pieces) == output.text
            for piece in pieces:
                assert_clean(piece)
            assert_clean(output.text)
            # no byte was dropped: the tokenizer decodes the same ids to the same text (the
            # sampled ids follow the healed prompt: its last token taken back and regrown)
            healed = heal_prompt(tokenizer.encode(prompt), constraint)
            decoded = tokenizer.decode(healed.ids + new).rstrip("\ufffd")
            assert decoded == prompt + output.text
            total += output.generated_tokens
    assert total > 6 * 20 * 10  # most rows ran long enough to meet multi-byte characters
