"""Spiking language models: ``SpikingEvoTextLM``, its non-spiking baseline, tokenizers, training.

Needs the ``models`` extra (torch, tokenizers, safetensors). Names are imported lazily, so
``import evospikenet.models.serving`` works (and reports ``models_available() == False``)
without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .baseline import BaselineTextLM
    from .errors import ModelLoadError
    from .serving import GenerationOutput, LoadedModel, load_model_from_files
    from .spiking_lm import SpikingEvoTextLM

_EXPORTS = {
    "SpikingEvoTextLM": ".spiking_lm",
    "BaselineTextLM": ".baseline",
    "ModelLoadError": ".errors",
    "GenerationOutput": ".serving",
    "LoadedModel": ".serving",
    "load_model_from_files": ".serving",
}

__all__ = [
    "BaselineTextLM",
    "GenerationOutput",
    "LoadedModel",
    "ModelLoadError",
    "SpikingEvoTextLM",
    "load_model_from_files",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
