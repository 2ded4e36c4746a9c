"""CPU-bound steps on large request bodies run in worker threads, one at a time.

Parsing, decoding and scanning megabytes holds the GIL in steps of a few milliseconds. With
every heavy request in a thread of its own, the event loop competes with all of them for the
GIL (and, on a small machine, for the CPU) and ``GET /api/health`` waits behind them. Through
``run_cpu`` at most ``CPU_THREADS`` such steps run at once, so the loop competes with one.
Long tasks go through ``run_cpu_steps`` in turns of ``TURN_SECONDS``, so that one request's
100 ms decode does not hold up another's 1 MiB multipart step (the worker is handed out first
come, first served). Blocking I/O (file writes, fsync, database calls) stays on Starlette's
ordinary thread pool.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Generator
from typing import ParamSpec, TypeVar

import anyio.to_thread

CPU_THREADS = 1
TURN_SECONDS = 0.005
_LIMITER = anyio.CapacityLimiter(CPU_THREADS)

P = ParamSpec("P")
T = TypeVar("T")

Steps = Generator[None, None, T]
"""A CPU-bound task that yields between short steps and returns its result."""


async def run_cpu(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``func(*args, **kwargs)`` in a worker thread, at most ``CPU_THREADS`` at once."""
    return await anyio.to_thread.run_sync(
        functools.partial(func, *args, **kwargs), limiter=_LIMITER
    )


async def run_cpu_steps(steps: Steps[T]) -> T:
    """The result of ``steps``, run through ``run_cpu`` in turns of about ``TURN_SECONDS``;
    between turns the worker goes to whoever queued for it meanwhile."""
    result: list[T] = []

    def turn() -> bool:
        deadline = time.monotonic() + TURN_SECONDS
        try:
            while time.monotonic() < deadline:
                next(steps)
        except StopIteration as finished:
            result.append(finished.value)
            return True
        return False

    while not await run_cpu(turn):
        pass
    return result[0]


def run_steps(steps: Steps[T]) -> T:
    """The result of ``steps``, all run at once in the calling thread."""
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            result: T = finished.value
            return result
