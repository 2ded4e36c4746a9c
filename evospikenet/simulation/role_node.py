"""A worker node (language, vision, auditory): takes tasks from the coordinator, replies.

Tasks arrive on ``evospikenet/node/<role>/<node_id>/task`` and wait in a local queue; one
thread works through them (several at once when the worker batches, as the language node
does) and answers each on ``evospikenet/node/reply``. A task that fails (bad media, a model
error) gets an error reply; the node keeps running.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from evospikenet.simulation import topics
from evospikenet.simulation.messages import Codec, MessageError, require
from evospikenet.simulation.node_base import NodeBase, NodeIdentity


class TaskFailed(Exception):
    """A task that cannot be done; the message goes back to the client."""


class RoleWorker(Protocol):
    """The work of one role. ``process`` returns one outcome per task, in order."""

    max_batch: int

    def prepare(self, stop: threading.Event) -> None:
        """Slow set-up before the node reports ``idle``."""

    def process(self, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``{"summary": str, "details": dict, "spike_rate": float | None}`` per task, or
        ``{"error": str}`` for a task that failed."""
        ...

    def status(self) -> dict[str, Any]:
        """Extra heartbeat fields (e.g. which model is loaded)."""
        ...


class RoleNode(NodeBase):
    """Runs a :class:`RoleWorker` behind the node's task topic."""

    def __init__(
        self,
        identity: NodeIdentity,
        endpoint: str,
        codec: Codec,
        worker: RoleWorker,
        *,
        zenoh_config: Path | None = None,
    ) -> None:
        super().__init__(identity, endpoint, codec, zenoh_config=zenoh_config)
        self.worker = worker
        self._tasks: queue.Queue[dict[str, Any]] = queue.Queue()
        self._held: set[str] = set()  # task ids received and not answered yet
        self._held_lock = threading.Lock()

    def declare(self, session: Any) -> None:
        key = topics.task(self.identity.role, self.identity.node_id)
        session.declare_subscriber(key, self._on_task)

    def _on_task(self, sample: Any) -> None:
        try:
            task = self.codec.decode(sample.payload.to_bytes())
            require(task, "task_id", str)
        except MessageError as exc:
            self.log.warning("dropped a task message: %s", exc)
            return
        with self._held_lock:
            self._held.add(task["task_id"])
        self._tasks.put(task)

    def prepare(self, stop: threading.Event) -> None:
        self.worker.prepare(stop)

    def status_extra(self) -> dict[str, Any]:
        with self._held_lock:
            held = sorted(self._held)
        return {"queued_tasks": self._tasks.qsize(), "tasks": held, **self.worker.status()}

    def _next_batch(self, stop: threading.Event) -> list[dict[str, Any]]:
        while not stop.is_set():
            try:
                first = self._tasks.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < self.worker.max_batch:
                try:
                    batch.append(self._tasks.get_nowait())
                except queue.Empty:
                    break
            return batch
        return []

    def serve(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self._next_batch(stop)
            if not batch:
                continue
            self.set_state("busy")
            started = time.perf_counter()
            try:
                outcomes = self.worker.process(batch)
            except Exception as exc:  # a bug or resource error: fail these tasks, stay up
                self.log.exception("%s work failed", self.identity.role)
                outcomes = [{"error": f"{type(exc).__name__}: {exc}"} for _ in batch]
            elapsed = time.perf_counter() - started
            for task, outcome in zip(batch, outcomes, strict=True):
                self._reply(task, outcome, elapsed)
            if self._tasks.empty():
                self.set_state("idle")

    def _reply(self, task: dict[str, Any], outcome: dict[str, Any], elapsed: float) -> None:
        error = outcome.get("error")
        if error is None:
            self.prompts_done += 1
            if outcome.get("spike_rate") is not None:
                self.spike_rate = float(outcome["spike_rate"])
            self.log.info(
                "prompt %s done in %.3f s: %s", task.get("prompt_id"), elapsed, outcome["summary"]
            )
        else:
            self.log.warning("prompt %s failed: %s", task.get("prompt_id"), error)
        reply = {
            "task_id": task["task_id"],
            "prompt_id": task.get("prompt_id"),
            "node_id": self.identity.node_id,
            "role": self.identity.role,
            "elapsed_s": round(elapsed, 4),
            **outcome,
        }
        self.publish(topics.REPLY, reply)
        with self._held_lock:
            self._held.discard(task["task_id"])
