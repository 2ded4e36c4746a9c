"""The server-facing loader: artifacts as an upload has them; refused when unsafe or wrong."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from model_helpers import DOC_CONFIG, SAMPLE_TEXT, tiny_model, write_config, write_vocab_txt_zip
from model_helpers import TINY as TINY_64

from evospikenet.models import ModelLoadError, SpikingEvoTextLM
from evospikenet.models.serving import (
    GenerationOutput,
    bundled_default_files,
    load_model_from_files,
    models_available,
)
from evospikenet.models.tokenizer import save_tokenizer_zip, train_bpe_tokenizer

TINY = {**TINY_64, "vocab_size": 300}
"""A byte-level BPE has at least 257 tokens (256 bytes and end-of-text)."""


@pytest.fixture(scope="module")
def bpe_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizer = train_bpe_tokenizer(SAMPLE_TEXT.splitlines(), vocab_size=300)
    path = tmp_path_factory.mktemp("tok") / "spiking_lm_tokenizer.zip"
    return save_tokenizer_zip(tokenizer, path, model_max_length=32)


def save_tiny(tmp_path: Path, **config: Any) -> tuple[Path, Path]:
    model = SpikingEvoTextLM(**{**TINY, **config})
    weights = tmp_path / "spiking_lm.pth"
    torch.save(model.state_dict(), weights)
    return write_config(tmp_path / "config.json", {**TINY, **config}), weights


class _RunsShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_models_available() -> None:
    assert models_available() is True


def test_documents_config_round_trips_through_state_dict_and_vocab_txt(tmp_path: Path) -> None:
    model = SpikingEvoTextLM(**DOC_CONFIG)
    weights = tmp_path / "spiking_lm.pth"
    torch.save(model.state_dict(), weights)
    config = write_config(tmp_path / "config.json", DOC_CONFIG)
    tokenizer = write_vocab_txt_zip(tmp_path / "spiking_lm_tokenizer.zip", 30522)
    loaded = load_model_from_files(config, weights, tokenizer)
    assert loaded.llm_type == "SpikingEvoTextLM"
    assert loaded.config["vocab_size"] == 30522 and loaded.config["time_steps"] == 10
    assert loaded.context_length == 256
    out = loaded.generate(["hello world", "the quick fox"], max_new_tokens=4, seed=1)
    assert [type(o) for o in out] == [GenerationOutput, GenerationOutput]
    assert out[0].prompt_tokens == 2 and out[1].prompt_tokens == 3
    assert all(o.generated_tokens == 4 and not o.prompt_truncated for o in out)
    assert out == loaded.generate(["hello world", "the quick fox"], max_new_tokens=4, seed=1)


def test_unknown_config_keys_are_dropped(tmp_path: Path, bpe_zip: Path) -> None:
    config, weights = save_tiny(tmp_path)
    write_config(config, {**TINY, "dropout": 0.1, "architecture": "whatever"})
    loaded = load_model_from_files(config, weights, bpe_zip)
    assert loaded.dropped_config_keys == ["architecture", "dropout"]
    assert "dropout" not in loaded.config


def test_generation_truncates_long_prompts_from_the_left(tmp_path: Path, bpe_zip: Path) -> None:
    loaded = load_model_from_files(*save_tiny(tmp_path), bpe_zip)
    long_prompt = "spiking neurons fire " * 40
    (out,) = loaded.generate([long_prompt], max_new_tokens=3, seed=0)
    assert out.prompt_truncated
    assert out.prompt_tokens == loaded.context_length == 32
    (empty,) = loaded.generate([""], max_new_tokens=3, seed=0)
    assert empty.prompt_tokens == 0 and not empty.prompt_truncated
    assert loaded.generate([], max_new_tokens=3) == []
    with pytest.raises(ValueError, match="prompts"):
        loaded.generate("not a list", max_new_tokens=3)  # type: ignore[arg-type]


def test_safetensors_weights_are_accepted(tmp_path: Path, bpe_zip: Path) -> None:
    from safetensors.torch import save_model

    config, _ = save_tiny(tmp_path)
    model = SpikingEvoTextLM(**TINY)
    weights = tmp_path / "model.safetensors"
    save_model(model, str(weights))
    loaded = load_model_from_files(config, weights, bpe_zip)
    assert loaded.generate(["a"], max_new_tokens=2, seed=0)[0].generated_tokens <= 2


@pytest.mark.parametrize("legacy_format", [False, True])
def test_malicious_pickle_is_refused_and_never_runs(
    tmp_path: Path, bpe_zip: Path, legacy_format: bool
) -> None:
    marker = tmp_path / "pwned"
    config, _ = save_tiny(tmp_path)
    weights = tmp_path / "evil.pth"
    payload = {"embed.weight": _RunsShell(marker)}
    if legacy_format:
        weights.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, weights)
    with pytest.raises(ModelLoadError, match="not a safely loadable"):
        load_model_from_files(config, weights, bpe_zip)
    assert not marker.exists()
    # the payload is live: unpickling it without protection does run the command
    pickle.loads(pickle.dumps(_RunsShell(marker)))
    assert marker.exists()


def test_a_whole_pickled_module_is_refused(tmp_path: Path, bpe_zip: Path) -> None:
    config, _ = save_tiny(tmp_path)
    weights = tmp_path / "module.pth"
    torch.save(SpikingEvoTextLM(**TINY), weights)
    with pytest.raises(ModelLoadError, match="not a safely loadable"):
        load_model_from_files(config, weights, bpe_zip)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d_model": 64}, "does not fit the weights"),
        ({"num_transformer_blocks": 3}, "does not fit the weights"),
        ({"vocab_size": 320}, "does not fit the weights"),
        ({"vocab_size": 10_000_000}, "does not fit the weights"),
        ({"n_heads": 5}, "d_model"),
        ({"neuron_type": "hodgkin-huxley"}, "neuron_type"),
        ({"time_steps": 1000}, "time_steps"),
    ],
)
def test_config_that_does_not_fit_the_weights_is_refused(
    tmp_path: Path, bpe_zip: Path, change: dict[str, Any], message: str
) -> None:
    _, weights = save_tiny(tmp_path)
    config = write_config(tmp_path / "other.json", {**TINY, **change})
    with pytest.raises(ModelLoadError, match=message):
        load_model_from_files(config, weights, bpe_zip)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "not valid UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"vocab_size": 64}).encode(), "missing d_model"),
        (json.dumps({**TINY, "d_model": "32"}).encode(), "d_model"),
    ],
)
def test_bad_config_files_are_refused(
    tmp_path: Path, bpe_zip: Path, content: bytes, message: str
) -> None:
    _, weights = save_tiny(tmp_path)
    config = tmp_path / "bad.json"
    config.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        load_model_from_files(config, weights, bpe_zip)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00garbage" * 10, "not a safely loadable"),
        (None, "non-empty state_dict"),
    ],
)
def test_weights_that_are_not_a_state_dict_are_refused(
    tmp_path: Path, bpe_zip: Path, content: bytes | None, message: str
) -> None:
    config, weights = save_tiny(tmp_path)
    if content is None:
        torch.save(torch.zeros(3), weights)
    else:
        weights.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        load_model_from_files(config, weights, bpe_zip)


def test_bad_tokenizer_and_too_large_vocabulary_are_refused(tmp_path: Path) -> None:
    config, weights = save_tiny(tmp_path)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_model_from_files(config, weights, broken)
    too_big = write_vocab_txt_zip(tmp_path / "bert.zip", 400)
    with pytest.raises(ModelLoadError, match="400 tokens but the model's vocab_size is 300"):
        load_model_from_files(config, weights, too_big)
    with pytest.raises(ModelLoadError, match="cannot read"):
        load_model_from_files(tmp_path / "missing.json", weights, too_big)


def test_bundled_default_has_upload_formats_and_generates() -> None:
    config, weights, tokenizer = bundled_default_files()
    assert (config.name, weights.name, tokenizer.name) == (
        "config.json",
        "spiking_lm.pth",
        "spiking_lm_tokenizer.zip",
    )
    assert zipfile.is_zipfile(tokenizer)
    state = torch.load(weights, weights_only=True)
    assert isinstance(state, dict) and "embed.weight" in state
    loaded = load_model_from_files(config, weights, tokenizer)
    prompts = ["The for statement", "こんにちは、世界"]
    first = loaded.generate(prompts, max_new_tokens=12, temperature=0.8, seed=5)
    assert first == loaded.generate(prompts, max_new_tokens=12, temperature=0.8, seed=5)
    assert all(out.text and out.generated_tokens > 0 for out in first)
    meta = json.loads((config.parent / "training.json").read_text(encoding="utf-8"))
    assert meta["heldout_bits_per_byte"] < 3.0


def test_loaded_model_reports_spike_rates_only_while_tracking() -> None:
    loaded = load_model_from_files(*bundled_default_files())
    loaded.generate(["The for statement"], max_new_tokens=2, seed=1)
    assert loaded.spike_rates() == {}
    loaded.track_spike_rates(True)
    loaded.generate(["The for statement"], max_new_tokens=2, seed=1)
    rates = loaded.spike_rates()
    assert rates and all(0.0 <= rate <= 1.0 for rate in rates.values())
    assert 0.0 < sum(rates.values()) / len(rates) < 1.0


def test_importing_the_serving_module_does_not_import_torch() -> None:
    code = (
        "import sys, evospikenet.models, evospikenet.models.serving as s, evospikenet.cli.train; "
        "assert s.models_available(); assert 'torch' not in sys.modules, 'torch imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_text_arrives_in_chunks_and_a_failing_callback_stops_generation(
    tmp_path: Path, bpe_zip: Path
) -> None:
    loaded = load_model_from_files(*save_tiny(tmp_path), bpe_zip)
    prompts = ["こんにちは", "spiking"]
    chunks: list[tuple[int, str]] = []
    outputs = loaded.generate(
        prompts, max_new_tokens=12, seed=3, on_text=lambda row, text: chunks.append((row, text))
    )
    for row, output in enumerate(outputs):
        assert "".join(text for r, text in chunks if r == row) == output.text
    assert chunks and all(text for _, text in chunks)

    def leave(row: int, text: str) -> None:
        raise ConnectionAbortedError("client left")

    with pytest.raises(ConnectionAbortedError):
        loaded.generate(prompts, max_new_tokens=12, seed=3, on_text=leave)
    assert loaded.generate(prompts, max_new_tokens=12, seed=3) == outputs  # the lock was freed


def test_token_healing_regenerates_the_prompts_last_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evospikenet.models import generation
    from evospikenet.models.healing import heal_prompt
    from evospikenet.models.tokenizer import (
        load_tokenizer,
        save_tokenizer_zip,
        train_char_bpe_tokenizer,
    )

    text = ["人工知能とは、人間の知能をまねる技術です。人工知能とは何か。"] * 20
    zipped = save_tokenizer_zip(
        train_char_bpe_tokenizer(text, vocab_size=300), tmp_path / "t.zip", model_max_length=32
    )
    tokenizer = load_tokenizer(zipped)
    config = write_config(tmp_path / "config.json", {**TINY_64, "vocab_size": 300})
    weights = tmp_path / "w.pth"
    torch.manual_seed(0)
    torch.save(tiny_model(vocab_size=300).state_dict(), weights)
    loaded = load_model_from_files(config, weights, zipped)
    ids = tokenizer.encode("人工知能とは")
    healed = heal_prompt(ids, loaded._utf8_constraint())
    assert healed.ids == ids[:-1] and healed.prefix == tokenizer.decode(ids[-1:]).encode()
    sampled: list[list[list[int]]] = []
    real = generation.generate_ids

    def spy(*args: Any, **kwargs: Any) -> Any:
        sampled.append(real(*args, **kwargs))
        return sampled[-1]

    monkeypatch.setattr(generation, "generate_ids", spy)
    chunks: list[str] = []
    for seed in range(8):
        chunks.clear()
        (out,) = loaded.generate(
            ["人工知能とは"], max_new_tokens=6, seed=seed, on_text=lambda _, c: chunks.append(c)
        )
        (new,) = sampled[-1]
        first = tokenizer.token_bytes.pieces[new[0]]
        assert first is not None and first.startswith(healed.prefix)  # the prompt's end, regrown
        continuation = tokenizer.decode(healed.ids + new)
        assert continuation.startswith("人工知能とは")
        whole_characters = continuation[len("人工知能とは") :].split("\ufffd")[0]
        assert out.text.startswith(whole_characters) and out.text == "".join(chunks)
        assert out.prompt_tokens == len(ids) and "\ufffd" not in out.text


def test_sampling_defaults_come_from_the_configs_generation_object(
    tmp_path: Path, bpe_zip: Path
) -> None:
    config, weights = save_tiny(tmp_path)
    plain = load_model_from_files(config, weights, bpe_zip)
    assert plain.generation_defaults == {}
    write_config(config, {**TINY, "generation": {"repetition_penalty": 1.8}})
    loaded = load_model_from_files(config, weights, bpe_zip)
    assert loaded.generation_defaults == {"repetition_penalty": 1.8}
    assert loaded.dropped_config_keys == []
    prompt = [SAMPLE_TEXT[:40]]
    by_default = loaded.generate(prompt, max_new_tokens=20, temperature=0.0)
    explicit = plain.generate(prompt, max_new_tokens=20, temperature=0.0, repetition_penalty=1.8)
    none = loaded.generate(prompt, max_new_tokens=20, temperature=0.0, repetition_penalty=1.0)
    assert by_default == explicit
    assert none == plain.generate(prompt, max_new_tokens=20, temperature=0.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([1.2], "must be a JSON object"),
        ({"repetition_penalty": 3}, r"in \[1, 2\]"),
        ({"top_p": 0.9}, "does not know top_p"),
    ],
)
def test_a_bad_generation_section_fails_the_load(
    tmp_path: Path,
    bpe_zip: Path,
    section: object,
    message: str,
) -> None:
    config, weights = save_tiny(tmp_path)
    write_config(config, {**TINY, "generation": section})
    with pytest.raises(ModelLoadError, match=message):
        load_model_from_files(config, weights, bpe_zip)
