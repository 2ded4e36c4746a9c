"""The interface the server uses: load model artifacts safely and generate text from them.

Importing this module does not import torch; :func:`models_available` says whether the model
extra (torch, tokenizers) is installed, and the loaders import it when called.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError

if TYPE_CHECKING:
    from .utf8 import IncrementalTextDecoder, Utf8Constraint

__all__ = [
    "GenerationOutput",
    "LoadedModel",
    "ModelLoadError",
    "PromptError",
    "bundled_default_files",
    "check_prompt_text",
    "load_model_from_files",
    "models_available",
]

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
LLM_TYPE = "SpikingEvoTextLM"


class PromptError(ValueError):
    """One prompt cannot be generated from (e.g. lone surrogates, which are not text); the
    other prompts of its batch are not affected."""


def check_prompt_text(prompt: object) -> None:
    """:class:`PromptError` unless ``prompt`` is a string of valid Unicode text (cheap: no
    tokenizer; lone surrogates such as ``"\\ud800"`` pass JSON parsing but are not text)."""
    if not isinstance(prompt, str):
        raise PromptError("the prompt must be a string")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PromptError(
            f"holds a lone surrogate at character {exc.start} (not valid Unicode text)"
        ) from None


@dataclass(frozen=True)
class GenerationOutput:
    """One prompt's result."""

    text: str
    """Only the newly generated text, not the prompt."""
    prompt_tokens: int
    """Prompt length in tokens after left-truncation."""
    generated_tokens: int
    prompt_truncated: bool


class LoadedModel:
    """A model with its tokenizer, ready to generate; built by :func:`load_model_from_files`."""

    llm_type: str = LLM_TYPE

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        dropped_keys: list[str],
        generation_defaults: dict[str, float] | None = None,
    ) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self._constraint: Utf8Constraint | None = None
        self.config: dict[str, Any] = dict(model.config)
        """The effective config the model was built with (defaults filled in)."""
        self.context_length: int = int(model.context_length)
        self.dropped_config_keys: list[str] = dropped_keys
        """Keys of config.json that the model does not know and that were ignored."""
        self.generation_defaults: dict[str, float] = dict(generation_defaults or {})
        """Sampling defaults from config.json's ``"generation"`` object, for requests that leave
        them out (see :func:`~evospikenet.models.checkpoint.generation_defaults`)."""
        self.threads: int = 1
        """Torch intra-op threads while generating (set for the call, then restored). Decoding
        runs many tiny ops: on a busy 2-core machine 2 threads fell to 29-63 tokens/s where 1
        thread kept 270-360 (see docs/models.md)."""

    def track_spike_rates(self, enabled: bool = True) -> None:
        """Record each neuron layer's spike rate on the next generations (costs speed)."""
        with self._lock:
            self._model.track_spike_rates(enabled)

    def spike_rates(self) -> dict[str, float]:
        """Spike rate of each neuron layer in the last tracked forward pass."""
        with self._lock:
            return dict(self._model.spike_rates())

    def encode_prompt(self, prompt: str) -> list[int]:
        """``prompt``'s token ids; :class:`PromptError` if it cannot be tokenized."""
        check_prompt_text(prompt)
        try:
            return list(self._tokenizer.encode(prompt))
        except Exception as exc:  # the tokenizer refused this text: it is this prompt's fault
            raise PromptError(f"cannot be tokenized ({type(exc).__name__})") from None

    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        repetition_penalty: float | None = None,
        on_text: Callable[[int, str], None] | None = None,
        isolate: bool = False,
    ) -> list[Any]:
        """Continue each prompt by up to ``max_new_tokens`` tokens (blocking, CPU).

        Prompts longer than the context are cut from the left. ``temperature <= 0`` is greedy.
        ``repetition_penalty`` None takes the model's default (:attr:`generation_defaults`,
        else 1, none). Calls are serialized by a lock, so several threads may share one
        instance. The text is always valid UTF-8: ids that would break a multi-byte character
        are never sampled, and an incomplete character at the end is dropped.
        ``on_text(prompt_index, chunk)`` receives each prompt's text in chunks as soon as they
        are complete (while generating, under the lock; an exception it raises stops
        generation); the chunks join to ``text``.

        A prompt that cannot be tokenized raises :class:`PromptError`; with ``isolate`` its
        place in the returned list holds that error instead and the other prompts are generated
        as if it had not been there (one request's bad input never fails its batch).
        """
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompts must be a list of strings")
        results: list[Any] = []
        for prompt in prompts:
            try:
                results.append(self.encode_prompt(prompt))
            except PromptError as exc:
                if not isolate:
                    raise
                results.append(exc)
        good = [row for row, item in enumerate(results) if not isinstance(item, PromptError)]
        if good:
            outputs = self._generate_encoded(
                [results[row] for row in good],
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                top_k=top_k,
                seed=seed,
                repetition_penalty=(
                    self.generation_defaults.get("repetition_penalty", 1.0)
                    if repetition_penalty is None
                    else repetition_penalty
                ),
                on_text=None if on_text is None else (lambda i, chunk: on_text(good[i], chunk)),
            )
            for row, output in zip(good, outputs, strict=True):
                results[row] = output
        return results

    def _generate_encoded(
        self,
        encoded: list[list[int]],
        *,
        max_new_tokens: int,
        temperature: float,
        top_k: int | None,
        seed: int | None,
        repetition_penalty: float,
        on_text: Callable[[int, str], None] | None,
    ) -> list[GenerationOutput]:
        import torch

        from .generation import generate_ids
        from .healing import HealingConstraint, PrefixStripper, heal_prompt

        kept = [ids[-self.context_length :] for ids in encoded]
        utf8 = self._utf8_constraint()
        healed = [heal_prompt(ids, utf8) for ids in kept]
        fed = [row.ids if row.ids else [self._tokenizer.start_id] for row in healed]
        decoders = [self.text_decoder(row.ids) for row in healed]
        strippers = [PrefixStripper(row.prefix) for row in healed]
        texts: list[list[str]] = [[] for _ in encoded]

        def take(row: int, token: int) -> None:
            chunk = strippers[row](decoders[row].push(token))
            if chunk:
                texts[row].append(chunk)
                if on_text is not None:
                    on_text(row, chunk)

        with self._lock:
            previous_threads = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                new_tokens = generate_ids(
                    self._model,
                    fed,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature,
                    top_k=top_k,
                    seed=seed,
                    repetition_penalty=repetition_penalty,
                    stop_token=self._tokenizer.stop_id,
                    constraint=HealingConstraint(utf8, healed),
                    on_token=take,
                )
            finally:
                torch.set_num_threads(previous_threads)
        return [
            GenerationOutput(
                text="".join(text) + decoder.finish(),
                prompt_tokens=len(prompt_ids),
                generated_tokens=len(new),
                prompt_truncated=len(prompt_ids) < len(full),
            )
            for full, prompt_ids, new, text, decoder in zip(
                encoded, kept, new_tokens, texts, decoders, strict=True
            )
        ]

    def text_decoder(self, prompt_ids: list[int]) -> IncrementalTextDecoder:
        """An :class:`~evospikenet.models.utf8.IncrementalTextDecoder` of the ids generated
        after ``prompt_ids``: ``push(id)`` returns only complete text, ``finish()`` ends it."""
        decoder: IncrementalTextDecoder = self._tokenizer.text_decoder(prompt_ids)
        return decoder

    def _utf8_constraint(self) -> Utf8Constraint:
        """The sampling mask that keeps text valid UTF-8 (built on first use; holds the lock)."""
        if self._constraint is None:
            from .utf8 import Utf8Constraint

            self._constraint = Utf8Constraint(
                self._tokenizer.token_bytes,
                width=int(self.config["vocab_size"]),
                stop_id=self._tokenizer.stop_id,
                banned_ids=self._tokenizer.banned_ids,
                vocab_limit=self._tokenizer.vocab_size,
            )
        return self._constraint


def load_model_from_files(
    config_path: Path, weights_path: Path, tokenizer_path: Path
) -> LoadedModel:
    """Build a :class:`LoadedModel` from a config.json, a weights file and a tokenizer.

    The weights are a ``state_dict`` saved by ``torch.save`` (read with ``weights_only=True``)
    or a safetensors file; the tokenizer is a ``save_pretrained``-layout zip or a
    ``tokenizer.json``. Raises :class:`ModelLoadError` saying what is wrong.
    """
    if not models_available():
        raise ModelLoadError("the model extra is not installed (pip install 'evospikenet[models]')")
    import torch

    from .checkpoint import generation_defaults, load_checkpoint
    from .tokenizer import TokenizerError, load_tokenizer

    torch.set_flush_denormal(True)
    model, dropped = load_checkpoint(Path(config_path), Path(weights_path))
    try:
        tokenizer = load_tokenizer(Path(tokenizer_path))
    except TokenizerError as exc:
        raise ModelLoadError(f"tokenizer: {exc}") from exc
    if tokenizer.vocab_size > model.config["vocab_size"]:
        raise ModelLoadError(
            f"tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is "
            f"{model.config['vocab_size']}"
        )
    defaults = generation_defaults(json.loads(Path(config_path).read_bytes()))
    return LoadedModel(model, tokenizer, dropped, defaults)


def bundled_default_files() -> tuple[Path, Path, Path]:
    """Config, weights (torch state_dict) and tokenizer zip of the committed default model."""
    files = (
        DEFAULT_DIR / "config.json",
        DEFAULT_DIR / "spiking_lm.pth",
        DEFAULT_DIR / "spiking_lm_tokenizer.zip",
    )
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise ModelLoadError(f"bundled default model files are missing: {', '.join(missing)}")
    return files


def models_available() -> bool:
    """Whether torch and tokenizers can be imported (the ``models`` extra is installed)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "tokenizers"))
