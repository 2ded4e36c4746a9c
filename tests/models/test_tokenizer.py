"""Tokenizers: our byte-level BPE, and save_pretrained-layout zips loaded without transformers."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from model_helpers import SAMPLE_TEXT, write_vocab_txt_zip

from evospikenet.models.tokenizer import (
    END_OF_TEXT,
    TokenizerError,
    load_tokenizer,
    save_tokenizer_zip,
    train_bpe_tokenizer,
    train_char_bpe_tokenizer,
)


@pytest.fixture(scope="module")
def bpe():  # type: ignore[no-untyped-def]
    return train_bpe_tokenizer(SAMPLE_TEXT.splitlines(), vocab_size=300)


def test_byte_level_bpe_round_trips_japanese_and_unseen_text(bpe) -> None:  # type: ignore[no-untyped-def]
    for text in ("こんにちは、世界。", "Zebra 🦓 quartz ünïcödé", "def f(x):\n    return x"):
        assert bpe.decode(bpe.encode(text).ids) == text
    assert bpe.token_to_id(END_OF_TEXT) == 0


def test_character_bpe_keeps_seen_characters_whole_and_falls_back_to_bytes(
    tmp_path: Path,
) -> None:
    text = SAMPLE_TEXT + "\n人工知能とは、機械学習の応用例。"
    tokenizer = train_char_bpe_tokenizer(text.splitlines(), vocab_size=400)
    assert tokenizer.get_vocab_size() == 400 and tokenizer.token_to_id(END_OF_TEXT) == 0
    ids = tokenizer.encode(text).ids
    assert all("\ufffd" not in tokenizer.decode([i]) for i in ids)  # no part of a character
    for unseen in ("Zebra 🦓 quartz ünïcödé", "  two  spaces\tand a tab\n", " leading space"):
        assert tokenizer.decode(tokenizer.encode(unseen).ids) == unseen
    emoji_ids = tokenizer.encode("🦓").ids
    assert [tokenizer.id_to_token(i) for i in emoji_ids] == ["<0xF0>", "<0x9F>", "<0xA6>", "<0x93>"]
    loaded = load_tokenizer(save_tokenizer_zip(tokenizer, tmp_path / "t.zip", model_max_length=8))
    assert loaded.decode(loaded.encode("人工知能と🦓")) == "人工知能と🦓"
    with pytest.raises(ValueError, match="vocab_size"):
        train_char_bpe_tokenizer(["abc"], vocab_size=100)


def test_saved_zip_has_save_pretrained_layout_and_loads(tmp_path: Path, bpe) -> None:  # type: ignore[no-untyped-def]
    path = save_tokenizer_zip(bpe, tmp_path / "tok.zip", model_max_length=64)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("tokenizer_config.json"))
    assert {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"} <= names
    assert config["model_max_length"] == 64
    loaded = load_tokenizer(path)
    assert loaded.encode("スパイク spike") == bpe.encode("スパイク spike").ids
    assert loaded.start_id == loaded.stop_id == 0
    assert loaded.banned_ids == ()  # end-of-text is the stop token, so it may be generated
    assert loaded.vocab_size == bpe.get_vocab_size()


def test_zip_with_files_inside_one_subfolder_loads(tmp_path: Path, bpe) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w") as archive:  # as shutil.make_archive of a parent folder
        archive.writestr("tokenizer_temp/", "")
        archive.writestr("tokenizer_temp/tokenizer.json", bpe.to_str())
        archive.writestr("tokenizer_temp/tokenizer_config.json", "{}")
    assert load_tokenizer(path).decode(bpe.encode("hello").ids) == "hello"


def test_bare_tokenizer_json_loads(tmp_path: Path, bpe) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tokenizer.json"
    path.write_text(bpe.to_str(), encoding="utf-8")
    assert load_tokenizer(path).vocab_size == bpe.get_vocab_size()


@pytest.mark.parametrize("subfolder", [None, "bert_tokenizer"])
def test_wordpiece_vocab_txt_zip_loads_like_bert(tmp_path: Path, subfolder: str | None) -> None:
    path = write_vocab_txt_zip(tmp_path / "bert.zip", 30522, subfolder=subfolder)
    tokenizer = load_tokenizer(path)
    assert tokenizer.vocab_size == 30522
    ids = tokenizer.encode("The QUICK spikes!")
    # lower-cased, "spikes" -> "spike" "##s", unknown "!" -> [UNK] (id 1), no [CLS]/[SEP] added
    assert ids == [5, 6, 11, 12, 1]
    assert tokenizer.decode(ids[:4]) == "the quick spikes"
    assert tokenizer.start_id == 2  # [CLS]
    assert tokenizer.stop_id is None
    assert tokenizer.banned_ids == (0, 1, 2, 3, 4)  # never generate [PAD] [UNK] [CLS] [SEP] [MASK]


def test_gpt2_style_vocab_json_and_merges_load(tmp_path: Path) -> None:
    vocab = {"h": 0, "i": 1, "hi": 2, "Ġ": 3, END_OF_TEXT: 4}
    path = tmp_path / "gpt2.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vocab.json", json.dumps(vocab))
        archive.writestr("merges.txt", "#version: 0.2\nh i\n")
    tokenizer = load_tokenizer(path)
    assert tokenizer.encode("hi") == [2]
    assert tokenizer.stop_id == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 definitely not a zip", "damaged"),
        (b"\xff\xfe\x00binary", "neither a zip nor UTF-8"),
        (b'{"not": "a tokenizer"}', "not a valid tokenizer.json"),
    ],
)
def test_broken_tokenizer_files_raise_clear_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(TokenizerError, match=message):
        load_tokenizer(path)


def test_zip_without_tokenizer_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "nothing here")
    with pytest.raises(TokenizerError, match=r"no tokenizer\.json, vocab\.txt"):
        load_tokenizer(path)


def test_vocab_txt_without_unknown_token_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nounk.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vocab.txt", "a\nb\n")
    with pytest.raises(TokenizerError, match="unknown token"):
        load_tokenizer(path)
