"""The CPU worker is shared in turns: a long stepped task leaves it to others between turns, and
a stepped task's result and errors come back as a plain call's would."""

from __future__ import annotations

import time

import anyio
import pytest

from evospikenet.server.offload import TURN_SECONDS, Steps, run_cpu, run_cpu_steps, run_steps


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def _long(events: list[str], steps: int) -> Steps[str]:
    for _ in range(steps):
        _spin(0.001)
        events.append("long")
        yield
    return "done"


def test_a_long_task_leaves_the_worker_to_a_short_one_between_turns():
    events: list[str] = []
    steps = int(40 * TURN_SECONDS / 0.001)  # 40 turns' worth of 1 ms steps

    async def main() -> str:
        async with anyio.create_task_group() as group:
            results: list[str] = []

            async def long() -> None:
                results.append(await run_cpu_steps(_long(events, steps)))

            group.start_soon(long)
            await anyio.sleep(4 * TURN_SECONDS)
            await run_cpu(events.append, "short")
        return results[0]

    assert anyio.run(main) == "done"
    assert events.count("long") == steps
    assert events.index("short") < steps  # it did not wait for the long task's end


def test_results_and_errors_come_back():
    def failing() -> Steps[int]:
        yield
        raise ValueError("bad step")

    assert run_steps(_long([], 3)) == "done"
    assert anyio.run(run_cpu_steps, _long([], 3)) == "done"
    with pytest.raises(ValueError, match="bad step"):
        anyio.run(run_cpu_steps, failing())
    with pytest.raises(ValueError, match="bad step"):
        run_steps(failing())
