"""Fixtures for the model tests; the folder is skipped without the model extra (torch)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("tokenizers") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    import torch

    @pytest.fixture(autouse=True)
    def _deterministic() -> Iterator[None]:
        torch.manual_seed(0)
        torch.set_flush_denormal(True)
        yield
        # Flushing denormals is processor state of this thread: leave it as found, or
        # hypothesis (schemathesis) refuses to generate floats in later tests.
        torch.set_flush_denormal(False)
