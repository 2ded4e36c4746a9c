"""Progress bars for transfers: tqdm when installed and wanted, else nothing."""

from __future__ import annotations

import importlib
import sys
from types import TracebackType
from typing import Any, Protocol

__all__ = ["Progress", "open_progress"]


class Progress(Protocol):
    """What transfers call on a progress bar."""

    def update(self, n: int) -> Any:
        """Advance by ``n`` bytes."""

    def reset(self, total: int | None = None) -> Any:
        """Start over (a retried transfer)."""

    def close(self) -> Any:
        """Finish the bar."""


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def reset(self, total: int | None = None) -> None:
        pass

    def close(self) -> None:
        pass


class _Closing:
    def __init__(self, bar: Progress) -> None:
        self.bar = bar

    def __enter__(self) -> Progress:
        return self.bar

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.close()


def open_progress(enabled: bool | None, total: int | None, description: str) -> _Closing:
    """A context manager yielding a bar; ``enabled=None`` shows one only on a terminal.

    tqdm is optional (the ``progress`` extra); without it no bar is shown.
    """
    show = enabled if enabled is not None else sys.stderr.isatty()
    if show:
        try:
            tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError:
            show = False
        else:
            bar: Progress = tqdm(
                total=total,
                desc=description,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=False,
            )
            return _Closing(bar)
    return _Closing(_NoProgress())
