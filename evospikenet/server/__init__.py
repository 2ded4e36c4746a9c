"""The reference EvoSpikeNet API server (FastAPI), serving the hand-written contract.

Public surface: ``create_app(settings, plugins=())`` builds the application, ``Settings`` holds
every option (``Settings.from_env()`` reads the environment), ``run(settings)`` serves it with
uvicorn. Imports are lazy, so ``import evospikenet.server.remote_log`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evospikenet.server.app import create_app
    from evospikenet.server.runner import run
    from evospikenet.server.settings import Settings

_EXPORTS = {
    "create_app": "evospikenet.server.app",
    "run": "evospikenet.server.runner",
    "Settings": "evospikenet.server.settings",
}

__all__ = ["Settings", "create_app", "run"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
