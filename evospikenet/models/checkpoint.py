"""Safe loading of model artifacts: config.json -> model, weights -> state_dict.

Weights are read with ``torch.load(weights_only=True)`` or safetensors (sniffed from the bytes),
never as arbitrary pickles, and must be a ``state_dict``. The model is built from the config's
known keys (others are dropped, as the original server did) and only if its size fits the weights.
"""

from __future__ import annotations

import inspect
import io
import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .budget import check_budget
from .errors import ModelLoadError
from .spiking_lm import SpikingEvoTextLM

REQUIRED_KEYS = ("vocab_size", "d_model", "n_heads", "num_transformer_blocks", "time_steps")
LIMITS = {"time_steps": 64, "context_length": 16384, "num_transformer_blocks": 64}
"""Largest values a served config may ask for (compute per token grows with them)."""


#: The config.json object of sampling defaults (see :func:`generation_defaults`).
GENERATION_KEY = "generation"


def known_config_keys() -> tuple[str, ...]:
    """Constructor arguments of :class:`SpikingEvoTextLM`, the keys a config may set."""
    params = inspect.signature(SpikingEvoTextLM.__init__).parameters
    return tuple(name for name in params if name != "self")


def parse_config(data: bytes) -> tuple[dict[str, Any], list[str]]:
    """Known keys of a config.json and the names of the dropped unknown keys."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"config.json is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ModelLoadError("config.json must be a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ModelLoadError(f"config.json is missing {', '.join(missing)}")
    known = set(known_config_keys())
    config = {key: value for key, value in raw.items() if key in known}
    for key, limit in LIMITS.items():
        value = config.get(key)
        if isinstance(value, int) and value > limit:
            raise ModelLoadError(f"config.json: {key}={value} is above the limit {limit}")
    generation_defaults(raw)  # a bad "generation" section fails the load, not a later request
    return config, sorted(set(raw) - known - {GENERATION_KEY})


def generation_defaults(raw: Mapping[str, Any]) -> dict[str, float]:
    """The sampling defaults a config.json's ``"generation"`` object sets for requests that
    leave them out; only ``repetition_penalty`` (a number in [1, 2]) so far."""
    section = raw.get(GENERATION_KEY, {})
    if not isinstance(section, Mapping):
        raise ModelLoadError(f'config.json: "{GENERATION_KEY}" must be a JSON object')
    unknown = sorted(set(section) - {"repetition_penalty"})
    if unknown:
        raise ModelLoadError(f'config.json: "{GENERATION_KEY}" does not know {", ".join(unknown)}')
    defaults: dict[str, float] = {}
    if "repetition_penalty" in section:
        value = section["repetition_penalty"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 2:
            raise ModelLoadError(
                f'config.json: "{GENERATION_KEY}.repetition_penalty" must be a number in [1, 2]'
            )
        defaults["repetition_penalty"] = float(value)
    return defaults


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (header_len,) = struct.unpack("<Q", data[:8])
    return header_len <= len(data) - 8 and data[8:9] == b"{"


def read_state_dict(data: bytes) -> dict[str, Tensor]:
    """A ``state_dict`` from torch-saved or safetensors bytes; ModelLoadError for anything else."""
    if _is_safetensors(data):
        from safetensors.torch import load as load_safetensors

        try:
            loaded: Any = load_safetensors(data)
        except Exception as exc:
            raise ModelLoadError(f"weights file is damaged safetensors: {exc}") from exc
    else:
        try:
            loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # UnpicklingError for code-running pickles, others for junk
            raise ModelLoadError(
                f"weights file is not a safely loadable torch state_dict: {exc}"[:600]
            ) from exc
    if isinstance(loaded, Mapping) and len(loaded) == 1:
        inner = next(iter(loaded.values()))
        if next(iter(loaded)) in ("state_dict", "model_state_dict") and isinstance(inner, Mapping):
            loaded = inner
    if not isinstance(loaded, Mapping) or not loaded:
        raise ModelLoadError("weights file must hold a non-empty state_dict (name -> tensor)")
    if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in loaded.items()):
        raise ModelLoadError("weights file must hold a state_dict mapping names to tensors")
    state = dict(loaded)
    if all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def estimated_parameters(config: Mapping[str, Any]) -> int:
    """Rough parameter count of the model a config describes (dominant terms)."""
    d = int(config["d_model"])
    hidden = int(config.get("ffn_mult", 4)) * d
    per_block = 4 * d * d + 2 * d * hidden
    return int(config["vocab_size"]) * d + int(config["num_transformer_blocks"]) * per_block


def build_model(config: Mapping[str, Any], state: Mapping[str, Tensor]) -> SpikingEvoTextLM:
    """The model of ``config`` with ``state`` loaded, in eval mode; ModelLoadError on mismatch."""
    try:
        numbers = [int(config[key]) for key in ("vocab_size", "d_model", "num_transformer_blocks")]
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"config.json has a non-integer size: {exc}") from exc
    if min(numbers) < 1:
        raise ModelLoadError("config.json sizes must be positive")
    stored = sum(t.numel() for t in state.values())
    if estimated_parameters(config) > 1.5 * stored + 100_000:
        raise ModelLoadError(
            f"config does not fit the weights: it describes ~{estimated_parameters(config)} "
            f"parameters, the weights hold {stored}"
        )
    check_budget(config)  # before anything of its size is allocated
    try:
        model = SpikingEvoTextLM(**config)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"config.json: {exc}") from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(f"config does not fit the weights: {exc}"[:1000]) from exc
    return model.eval()


def load_checkpoint(config_path: Path, weights_path: Path) -> tuple[SpikingEvoTextLM, list[str]]:
    """Build and load the model from files; also returns the dropped config keys.

    A config whose worst request exceeds the :class:`~evospikenet.models.budget.ModelBudget`
    is refused before the model is built (see :func:`build_model`).
    """
    try:
        config_bytes = Path(config_path).read_bytes()
        weights_bytes = Path(weights_path).read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"cannot read model files: {exc}") from exc
    config, dropped = parse_config(config_bytes)
    model = build_model(config, read_state_dict(weights_bytes))
    return model, dropped
