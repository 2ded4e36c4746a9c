"""Fixtures for the model tests; the folder is skipped without the model extra (torch)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("tokenizers") is None:
    collect_ignore_glob = ["test_*.py"]
else:
    import torch

    @pytest.fixture(autouse=True)
    def _deterministic() -> None:
        torch.manual_seed(0)
        torch.set_flush_denormal(True)
