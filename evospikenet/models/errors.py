"""Errors raised while loading model artifacts (no torch import, so servers can catch them)."""

from __future__ import annotations


class ModelLoadError(Exception):
    """Model artifacts cannot be used; the message says which file and what is wrong.

    Raised for a damaged or unsafe weights file (anything but a plain ``state_dict``), a config
    that is not a JSON object, lacks a key or does not fit the weights, and a bad tokenizer.
    Unknown config keys are not errors: they are dropped.
    """
