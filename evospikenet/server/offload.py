"""CPU-bound steps on large request bodies run in worker threads, one at a time.

Parsing, decoding and scanning megabytes holds the GIL in steps of a few milliseconds. With
every heavy request in a thread of its own, the event loop competes with all of them for the
GIL (and, on a small machine, for the CPU) and ``GET /api/health`` waits behind them. Through
``run_cpu`` at most ``CPU_THREADS`` such steps run at once, so the loop competes with one.
Blocking I/O (file writes, fsync, database calls) stays on Starlette's ordinary thread pool.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread

CPU_THREADS = 1
_LIMITER = anyio.CapacityLimiter(CPU_THREADS)

P = ParamSpec("P")
T = TypeVar("T")


async def run_cpu(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)`` in a worker thread, at most ``CPU_THREADS`` at once."""
    return await anyio.to_thread.run_sync(
        functools.partial(func, *args, **kwargs), limiter=_LIMITER
    )
