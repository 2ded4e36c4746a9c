"""Tokenizers with the ``tokenizers`` package only: train a byte-level BPE, save and load zips.

A tokenizer zip holds a Hugging Face ``save_pretrained`` folder, at the top level or inside one
subfolder: ``tokenizer.json`` (fast tokenizers), ``vocab.txt`` (BERT WordPiece, as the SDK
document's ``bert-base-uncased`` example writes) or ``vocab.json`` + ``merges.txt`` (GPT-2 style
byte-level BPE). Nothing is downloaded and ``transformers`` is not needed.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from .utf8 import IncrementalTextDecoder, TokenBytes

END_OF_TEXT = "<|endoftext|>"
START_TOKEN_CANDIDATES = (END_OF_TEXT, "<s>", "<bos>", "[CLS]", "<|startoftext|>")
MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""Largest tokenizer file read from a zip (guards against zip bombs)."""


class TokenizerError(ValueError):
    """A tokenizer file or zip cannot be used; the message says why."""


@dataclass(frozen=True)
class TextTokenizer:
    """A loaded tokenizer plus what generation needs to know about it."""

    tokenizer: Tokenizer
    start_id: int
    """Token that starts an empty prompt (end-of-text, BOS or [CLS])."""
    stop_id: int | None
    """Token that ends generation, if the vocabulary has one."""
    banned_ids: tuple[int, ...] = ()
    """Special tokens generation never produces (e.g. [PAD], [CLS], [SEP], [MASK])."""

    @property
    def vocab_size(self) -> int:
        """Number of ids the tokenizer can produce (including added tokens)."""
        return int(self.tokenizer.get_vocab_size(with_added_tokens=True))

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without special tokens such as [CLS]/[SEP]."""
        return list(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids`` with special tokens dropped."""
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    @functools.cached_property
    def token_bytes(self) -> TokenBytes:
        """The bytes each id adds to a text (built once, on first use)."""
        return TokenBytes.from_tokenizer(self.tokenizer)

    def text_decoder(self, context: Sequence[int] = ()) -> IncrementalTextDecoder:
        """An incremental decoder of the ids that follow ``context`` (e.g. the prompt's ids):
        every chunk it returns is complete, valid UTF-8."""
        return IncrementalTextDecoder(self.token_bytes, context)


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 2048) -> Tokenizer:
    """Train a byte-level BPE (any Unicode, e.g. Japanese, round-trips) on ``texts``."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


BYTE_TOKENS = tuple(f"<0x{value:02X}>" for value in range(256))
"""The byte-fallback tokens of :func:`train_char_bpe_tokenizer`, in byte order."""


def train_char_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> Tokenizer:
    """Train a BPE over characters with byte fallback (SentencePiece-style): every character
    of ``texts`` is a token of its own, merges join characters into words, and a character
    never seen falls back to its UTF-8 bytes (``<0x..>`` tokens), so any text round-trips
    (spaces are written ``▁`` inside tokens; a literal ``▁`` decodes as a space).

    Unlike a byte-level BPE, no token holds part of a character that the text has used, so
    a model cannot join the head of one character to the tail of another."""
    if vocab_size < len(BYTE_TOKENS) + 2:
        raise ValueError(f"vocab_size: must be at least {len(BYTE_TOKENS) + 2}, got {vocab_size}")
    tokenizer = Tokenizer(models.BPE(byte_fallback=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="never")
    tokenizer.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(BYTE_TOKENS),
        special_tokens=[END_OF_TEXT],
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    spec = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = spec["model"]["vocab"]
    for token in BYTE_TOKENS:  # ordinary tokens, so that decoding never skips them
        vocab.setdefault(token, len(vocab))
    return Tokenizer.from_str(json.dumps(spec))


def save_tokenizer_zip(tokenizer: Tokenizer, path: Path, *, model_max_length: int) -> Path:
    """Write ``tokenizer`` as a zip of a ``save_pretrained``-style folder; returns ``path``."""
    has_eot = tokenizer.token_to_id(END_OF_TEXT) is not None
    special = {"bos_token": END_OF_TEXT, "eos_token": END_OF_TEXT} if has_eot else {}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        **special,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("tokenizer.json", tokenizer.to_str())
        archive.writestr("tokenizer_config.json", json.dumps(config, indent=2))
        archive.writestr("special_tokens_map.json", json.dumps(special, indent=2))
    return path


def load_tokenizer(path: Path) -> TextTokenizer:
    """Load a tokenizer zip or a bare ``tokenizer.json``; TokenizerError if unusable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TokenizerError(f"cannot read tokenizer file: {exc}") from exc
    if data[:4] == b"PK\x03\x04":
        return _from_zip(data)
    return _wrap(_from_json_bytes(data, "tokenizer file"))


def _from_json_bytes(data: bytes, what: str) -> Tokenizer:
    try:
        return Tokenizer.from_str(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise TokenizerError(f"{what} is neither a zip nor UTF-8 tokenizer.json") from exc
    except Exception as exc:  # tokenizers raises its own untyped errors for bad JSON
        raise TokenizerError(f"{what} is not a valid tokenizer.json: {exc}") from exc


def _zip_members(data: bytes) -> dict[str, bytes]:
    """Files of the zip by name, with one enclosing folder (if any) stripped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES:
                raise TokenizerError(
                    f"tokenizer zip member {info.filename!r} is larger than "
                    f"{MAX_MEMBER_BYTES} bytes"
                )
        tops = {info.filename.split("/", 1)[0] for info in infos if "/" in info.filename}
        strip = ""
        if len(tops) == 1 and all("/" in info.filename for info in infos):
            strip = tops.pop() + "/"
        wanted = {
            "tokenizer.json",
            "vocab.txt",
            "vocab.json",
            "merges.txt",
            "tokenizer_config.json",
        }
        members: dict[str, bytes] = {}
        for info in infos:
            name = info.filename[len(strip) :]
            if name in wanted:
                with archive.open(info) as handle:
                    members[name] = handle.read(MAX_MEMBER_BYTES + 1)
        return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise TokenizerError(f"tokenizer zip is damaged: {exc}") from exc


def _from_zip(data: bytes) -> TextTokenizer:
    members = _zip_members(data)
    config = _tokenizer_config(members.get("tokenizer_config.json"))
    if "tokenizer.json" in members:
        return _wrap(_from_json_bytes(members["tokenizer.json"], "tokenizer.json in the zip"))
    if "vocab.txt" in members:
        return _wrap(_wordpiece(members["vocab.txt"], config))
    if "vocab.json" in members and "merges.txt" in members:
        return _wrap(_byte_level_bpe(members["vocab.json"], members["merges.txt"]))
    raise TokenizerError(
        "tokenizer zip has no tokenizer.json, vocab.txt or vocab.json+merges.txt "
        "(expected a save_pretrained folder at the top level or in one subfolder)"
    )


def _tokenizer_config(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise TokenizerError(f"tokenizer_config.json is not valid JSON: {exc}") from exc
    return config if isinstance(config, dict) else {}


def _wordpiece(raw: bytes, config: dict[str, Any]) -> Tokenizer:
    """A BERT tokenizer rebuilt from ``vocab.txt`` (one token per line, id = line number)."""
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise TokenizerError("vocab.txt is not UTF-8") from exc
    vocab: dict[str, int] = {}
    for index, token in enumerate(lines):
        vocab.setdefault(token, index)
    if not vocab:
        raise TokenizerError("vocab.txt is empty")
    unk = str(config.get("unk_token", "[UNK]"))
    if unk not in vocab:
        raise TokenizerError(f"vocab.txt has no unknown token {unk!r}")
    lowercase = bool(config.get("do_lower_case", True))
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=unk, max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab]
    tokenizer.add_special_tokens(specials)
    return tokenizer


def _byte_level_bpe(vocab_raw: bytes, merges_raw: bytes) -> Tokenizer:
    """A GPT-2 style tokenizer rebuilt from ``vocab.json`` and ``merges.txt``."""
    try:
        vocab = json.loads(vocab_raw)
        merge_lines = merges_raw.decode("utf-8").splitlines()
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenizerError(f"vocab.json/merges.txt cannot be read: {exc}") from exc
    if not isinstance(vocab, dict):
        raise TokenizerError("vocab.json must map tokens to ids")
    merges = []
    for line in merge_lines:
        if line.startswith("#version") or not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TokenizerError(f"merges.txt line is not a pair: {line!r}")
        merges.append((parts[0], parts[1]))
    try:
        tokenizer = Tokenizer(models.BPE(vocab, merges))
    except Exception as exc:
        raise TokenizerError(f"vocab.json/merges.txt do not form a BPE: {exc}") from exc
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    if END_OF_TEXT in vocab:
        tokenizer.add_special_tokens([END_OF_TEXT])
    return tokenizer


def _wrap(tokenizer: Tokenizer) -> TextTokenizer:
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    if not vocab:
        raise TokenizerError("tokenizer has an empty vocabulary")
    start = next((vocab[t] for t in START_TOKEN_CANDIDATES if t in vocab), None)
    stop = vocab.get(END_OF_TEXT, vocab.get("</s>"))
    if start is None:
        start = stop if stop is not None else min(vocab.values())
    specials = {
        token_id
        for token_id, added in tokenizer.get_added_tokens_decoder().items()
        if added.special
    }
    banned = tuple(sorted(specials - {stop}))
    return TextTokenizer(tokenizer=tokenizer, start_id=start, stop_id=stop, banned_ids=banned)
