"""The coordinator (PFC, rank 0): takes prompts from the bridge, routes each modality to a
node of its role, collects what each measured and publishes the composed answer.

Per prompt it needs a language node for the text, a vision node for the image and an
auditory node for the audio. A task whose node goes offline (or restarts) mid-prompt, or a
role with no node online for ``role_wait_seconds``, gives the attempt back to the bridge as a
``retry`` (the server requeues the prompt until its attempts are spent). A node's error reply
(bad media) fails the prompt at once: trying again would not help.

Every outcome (response, error or retry) stays in an outbox (in memory, at most
``OUTBOX_LIMIT``) until the bridge acknowledges it on ``evospikenet/api/result_ack``: the
coordinator lists it in its heartbeats (``results``: ``[prompt_id, attempt]`` pairs) and
re-publishes it every ``RESULT_RESEND_SECONDS``, so a result finished while no bridge listens
(the server restarting) reaches the next one, and the attempt is not done again. A re-sent
prompt of an attempt already finished gets the outbox's result, not a second run.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evospikenet.simulation import topics
from evospikenet.simulation.compose import compose_response
from evospikenet.simulation.messages import Codec, MessageError, require
from evospikenet.simulation.node_base import NodeBase, NodeIdentity
from evospikenet.simulation.peers import Peer, PeerTable

MONITOR_SECONDS = 0.2
LOST_GRACE_SECONDS = 3.0
RESULT_RESEND_SECONDS = 2.0
OUTBOX_LIMIT = 256


@dataclass
class RoleTask:
    """One modality of a prompt: the node it went to (None while waiting for one)."""

    role: str
    payload: dict[str, Any]
    task_id: str = ""
    node_id: str | None = None
    incarnation: str | None = None
    waiting_since: float = field(default_factory=time.monotonic)
    sent_at: float = 0.0
    missing_since: float | None = None


@dataclass
class Job:
    """One attempt at one prompt."""

    prompt_id: str
    attempt: int
    tasks: dict[str, RoleTask]
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    received_at: float = field(default_factory=time.monotonic)


def role_payloads(prompt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The task payload for each role the prompt needs; MessageError if it needs none."""
    payloads: dict[str, dict[str, Any]] = {}
    text, image, audio = prompt.get("text"), prompt.get("image"), prompt.get("audio")
    if isinstance(text, str) and text:
        payloads["language"] = {"text": text}
    if isinstance(image, str):
        payloads["vision"] = {"media": image}
    if isinstance(audio, str):
        payloads["auditory"] = {"media": audio}
    if not payloads:
        raise MessageError("the prompt has no text, image or audio")
    return payloads


class Coordinator(NodeBase):
    """Routes prompts to role nodes; holds at most ``capacity`` prompts at a time."""

    def __init__(
        self,
        identity: NodeIdentity,
        endpoint: str,
        codec: Codec,
        *,
        capacity: int = 16,
        role_wait_seconds: float = 30.0,
        task_timeout_seconds: float = 300.0,
        offline_after: float = 5.0,
        zenoh_config: Path | None = None,
    ) -> None:
        super().__init__(identity, endpoint, codec, zenoh_config=zenoh_config)
        self.capacity = capacity
        self.role_wait_seconds = role_wait_seconds
        self.task_timeout_seconds = task_timeout_seconds
        self.peers = PeerTable(offline_after)
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, tuple[str, str]] = {}  # task_id -> (prompt_id, role)
        # finished attempts not yet acknowledged: (prompt_id, attempt) -> (result, last sent)
        self._outbox: OrderedDict[tuple[str, int], tuple[dict[str, Any], float]] = OrderedDict()
        self._lock = threading.RLock()

    # --- Zenoh -------------------------------------------------------------------------

    def declare(self, session: Any) -> None:
        session.declare_subscriber(topics.HEARTBEAT_ALL, self._on_heartbeat)
        session.declare_subscriber(topics.PROMPT, self._on_prompt)
        session.declare_subscriber(topics.REPLY, self._on_reply)
        session.declare_subscriber(topics.RESULT_ACK, self._on_result_ack)

    def status_extra(self) -> dict[str, Any]:
        with self._lock:
            prompts = sorted(self._jobs)
            results = [list(key) for key in self._outbox]
        roles = sorted({p.role for p in self.peers.online() if p.state in ("idle", "busy")})
        return {
            "capacity": self.capacity,
            "in_flight": len(prompts),
            "prompts": prompts,
            "results": results,
            "roles_online": roles,
        }

    def _decode(self, sample: Any, what: str) -> dict[str, Any] | None:
        try:
            return self.codec.decode(sample.payload.to_bytes())
        except MessageError as exc:
            self.log.warning("dropped a %s message: %s", what, exc)
            return None

    def _on_heartbeat(self, sample: Any) -> None:
        message = self._decode(sample, "heartbeat")
        if message is None:
            return
        try:
            peer, previous = self.peers.update(message)
        except ValueError as exc:
            self.log.warning("dropped a heartbeat: %s", exc)
            return
        new = previous is None or previous.incarnation != peer.incarnation
        if new and peer.node_id != self.identity.node_id:
            self.log.info("node %s (%s, rank %d) joined", peer.node_id, peer.role, peer.rank)
        if peer.role in topics.WORKER_ROLES and peer.state in ("idle", "busy"):
            self._dispatch_waiting()

    def _on_prompt(self, sample: Any) -> None:
        prompt = self._decode(sample, "prompt")
        if prompt is None or prompt.get("coordinator") != self.identity.node_id:
            return
        try:
            prompt_id = require(prompt, "prompt_id", str)
            attempt = require(prompt, "attempt", int)
        except MessageError as exc:
            self.log.warning("dropped a prompt: %s", exc)
            return
        ack = {"prompt_id": prompt_id, "attempt": attempt, "node_id": self.identity.node_id}
        with self._lock:
            finished = self._outbox.get((prompt_id, attempt))
            if finished is not None:  # a re-sent copy of an attempt already done
                self.publish(topics.ACK, ack)
                self._send_result(prompt_id, attempt, finished[0])
                return
            current = self._jobs.get(prompt_id)
            if current is not None and current.attempt >= attempt:
                self.publish(topics.ACK, ack)
                return  # a re-sent copy of a prompt already being worked on
            if current is not None:  # a newer attempt replaces an older one
                for task in current.tasks.values():
                    self._tasks.pop(task.task_id, None)
            try:
                payloads = role_payloads(prompt)
            except MessageError as exc:
                self.publish(topics.ACK, ack)
                self._finish(prompt_id, attempt, error=str(exc))
                return
            job = Job(
                prompt_id,
                attempt,
                {role: RoleTask(role, payload) for role, payload in payloads.items()},
            )
            self._jobs[prompt_id] = job
            # acknowledged only once the job exists, so every later heartbeat lists it
            self.publish(topics.ACK, ack)
            self.log.info(
                "prompt %s attempt %d: needs %s", prompt_id, attempt, ", ".join(job.tasks)
            )
            self.set_state("busy")
            self._dispatch(job)

    def _on_reply(self, sample: Any) -> None:
        reply = self._decode(sample, "reply")
        if reply is None or not isinstance(reply.get("task_id"), str):
            return
        with self._lock:
            owner = self._tasks.pop(reply["task_id"], None)
            if owner is None:
                return  # an answer to an attempt given up on
            prompt_id, role = owner
            job = self._jobs.get(prompt_id)
            if job is None:
                return
            error = reply.get("error")
            if error is not None:
                node = reply.get("node_id", "?")
                self._finish(prompt_id, job.attempt, error=f"{role} node {node}: {error}")
                return
            if not isinstance(reply.get("summary"), str):
                self._finish(prompt_id, job.attempt, error=f"{role} node sent a malformed reply")
                return
            job.replies[role] = reply
            if len(job.replies) == len(job.tasks):
                self._finish(prompt_id, job.attempt, response=compose_response(job.replies))

    def _on_result_ack(self, sample: Any) -> None:
        ack = self._decode(sample, "result acknowledgement")
        if ack is None or ack.get("node_id") != self.identity.node_id:
            return
        try:
            key = (require(ack, "prompt_id", str), require(ack, "attempt", int))
        except MessageError:
            return
        with self._lock:
            if self._outbox.pop(key, None) is not None:
                self.log.info("result of %s (attempt %d) delivered", *key)

    def _send_result(self, prompt_id: str, attempt: int, message: dict[str, Any]) -> None:
        """Publish a result and note when (under the lock)."""
        self._outbox[prompt_id, attempt] = (message, time.monotonic())
        self.publish(topics.RESULT, message)

    def _resend_results(self) -> None:
        """Re-publish the results not acknowledged within ``RESULT_RESEND_SECONDS``."""
        now = time.monotonic()
        with self._lock:
            for (prompt_id, attempt), (message, sent) in list(self._outbox.items()):
                if now - sent >= RESULT_RESEND_SECONDS:
                    self._send_result(prompt_id, attempt, message)

    # --- routing -------------------------------------------------------------------------

    def _pick(self, role: str) -> Peer | None:
        ready = [p for p in self.peers.online(role) if p.state in ("idle", "busy")]
        if not ready:
            return None
        with self._lock:
            load: dict[str, int] = {}
            for job in self._jobs.values():
                for task in job.tasks.values():
                    outstanding = task.node_id is not None and task.role not in job.replies
                    if outstanding and task.role == role and task.node_id is not None:
                        load[task.node_id] = load.get(task.node_id, 0) + 1
        return min(ready, key=lambda p: (load.get(p.node_id, 0), p.rank))

    def _dispatch(self, job: Job) -> None:
        for task in job.tasks.values():
            if task.node_id is not None or task.role in job.replies:
                continue
            peer = self._pick(task.role)
            if peer is None:
                continue
            task.task_id = uuid.uuid4().hex
            task.node_id = peer.node_id
            task.incarnation = peer.incarnation
            task.sent_at = time.monotonic()
            self._tasks[task.task_id] = (job.prompt_id, task.role)
            message = {
                "task_id": task.task_id,
                "prompt_id": job.prompt_id,
                "attempt": job.attempt,
                **task.payload,
            }
            self.publish(topics.task(task.role, peer.node_id), message)

    def _dispatch_waiting(self) -> None:
        with self._lock:
            for job in list(self._jobs.values()):
                self._dispatch(job)

    def _finish(
        self,
        prompt_id: str,
        attempt: int,
        *,
        response: str | None = None,
        error: str | None = None,
        retry: str | None = None,
    ) -> None:
        """Put the outcome of an attempt in the outbox, publish it and forget the job.

        Done under the lock, so every heartbeat lists the attempt, as a prompt or as a result,
        until the bridge acknowledges the result (the bridge takes an acknowledged prompt
        missing from both as a lost result).
        """
        with self._lock:
            if (prompt_id, attempt) in self._outbox:
                return  # the attempt has its outcome already (a racing verdict): the first counts
            message: dict[str, Any] = {
                "prompt_id": prompt_id,
                "attempt": attempt,
                "node_id": self.identity.node_id,
            }
            if response is not None:
                message["response"] = response
                self.prompts_done += 1
                self.log.info("prompt %s completed", prompt_id)
            elif retry is not None:
                message["retry"] = retry
                self.log.warning("prompt %s attempt %d given back: %s", prompt_id, attempt, retry)
            else:
                message["error"] = error
                self.log.warning("prompt %s failed: %s", prompt_id, error)
            job = self._jobs.pop(prompt_id, None)
            if job is not None:
                for task in job.tasks.values():
                    self._tasks.pop(task.task_id, None)
            while len(self._outbox) >= OUTBOX_LIMIT:
                (old_id, old_attempt), _ = self._outbox.popitem(last=False)
                self.log.warning(
                    "result of %s (attempt %d) dropped unacknowledged: the outbox is full",
                    old_id,
                    old_attempt,
                )
            self._send_result(prompt_id, attempt, message)
            if not self._jobs:
                self.set_state("idle")

    def send_heartbeat(self, state: str | None = None) -> None:
        """Build and send the heartbeat under the jobs lock, so the prompts it lists and the
        results and acknowledgements already sent are consistent on the wire."""
        with self._lock:
            super().send_heartbeat(state)

    def _check_jobs(self) -> None:
        """Give back attempts whose node died or restarted, or that waited too long."""
        now = time.monotonic()
        verdicts: list[tuple[Job, str]] = []
        with self._lock:
            for job in self._jobs.values():
                for task in job.tasks.values():
                    if task.role in job.replies:
                        continue
                    reason = self._task_problem(task, now)
                    if reason is not None:
                        verdicts.append((job, reason))
                        break
        for job, reason in verdicts:
            self._finish(job.prompt_id, job.attempt, retry=reason)

    def _task_problem(self, task: RoleTask, now: float) -> str | None:
        if task.node_id is None:
            if now - task.waiting_since > self.role_wait_seconds:
                return f"no {task.role} node online for {self.role_wait_seconds:.0f} s"
            return None
        peer = self.peers.get(task.node_id)
        if peer is None or not self.peers.is_online(peer, now):
            return f"the {task.role} node {task.node_id} went offline while working on it"
        if peer.incarnation != task.incarnation:
            return f"the {task.role} node {task.node_id} restarted while working on it"
        if self._lost(task, peer, now):
            return f"the {task.role} node {task.node_id} lost the task or its answer"
        if now - task.sent_at > self.task_timeout_seconds:
            limit = self.task_timeout_seconds
            return f"the {task.role} node {task.node_id} gave no answer within {limit:.0f} s"
        return None

    @staticmethod
    def _lost(task: RoleTask, peer: Peer, now: float) -> bool:
        """True when the node's heartbeats, sent after the task, have not listed it for
        ``LOST_GRACE_SECONDS`` while no reply came (a lost task or a lost reply)."""
        held = peer.report.get("tasks")
        if not isinstance(held, list) or peer.last_seen - task.sent_at < 0.5:
            return False
        if task.task_id in held:
            task.missing_since = None
            return False
        if task.missing_since is None:
            task.missing_since = now
        return now - task.missing_since > LOST_GRACE_SECONDS

    def serve(self, stop: threading.Event) -> None:
        while not stop.wait(MONITOR_SECONDS):
            try:
                self._check_jobs()
                self._dispatch_waiting()
                self._resend_results()
            except Exception:
                self.log.exception("coordinator monitor pass failed")
        with self._lock:
            pending = list(self._jobs.values())
        for job in pending:
            self._finish(job.prompt_id, job.attempt, retry="the coordinator stopped")
