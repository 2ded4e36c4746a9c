"""The API server's side of the simulation: Zenoh ↔ the durable prompt queue.

``SimulationBridge`` listens on a Zenoh endpoint (router mode; nodes connect to it). It
claims queued prompts for online coordinators and publishes them, media included, on
``evospikenet/api/prompt``; records results from ``evospikenet/api/result`` in the queue; and
turns heartbeats (``heartbeat/{node_id}``) into node status records. The database stays the
record: a prompt is claimed only when a coordinator is up, a prompt not acknowledged is re-sent,
acknowledgements and results count only from the node the attempt was given to (its
``node_id``; with a message key nobody without the key can speak as a node at all),
a given-back attempt is requeued (or failed once its attempts are spent), prompts of a node
that went silent or restarted are requeued at once (and by the server's janitor,
``requeue_stale``). Every queue call names the attempt, so nothing done for an older attempt
touches a newer one. The bridge renews the leases of the attempts it holds; at start it
requeues only attempts whose lease ran out (their bridge is gone), so several bridges may share
one database; an attempt a coordinator reports working on that the database says is its own
is adopted (a bridge that restarted mid-prompt takes its result, nothing is done again). A
coordinator's capacity is counted in the database, across bridges.

Results are delivered reliably: the coordinator keeps each in an outbox, lists it in its
heartbeats (``results``) and re-sends it until the bridge acknowledges it on
``evospikenet/api/result_ack``, which the bridge does once the result is recorded or refused
for good (a repeat of one already recorded is acknowledged again, not written again). An
attempt whose result a coordinator lists is not taken as lost, and one the bridge does not
hold is adopted on the same terms as a running one, so a result finished while the server was
down is taken by the next bridge. A result that arrives before the heartbeat counts if the
database says that attempt is its sender's current one.

All queue and registry calls run on the bridge's one worker thread, never on Zenoh's.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evospikenet.simulation import topics
from evospikenet.simulation.messages import Codec, MessageError, b64encode
from evospikenet.simulation.peers import OFFLINE_SECONDS, PeerTable
from evospikenet.simulation.transport import (
    DEFAULT_ENDPOINT,
    TransportError,
    check_config,
    check_endpoint,
    open_listening,
    open_listening_free,
    open_router_client,
    put_reliable,
)

log = logging.getLogger("evospikenet.simulation.bridge")

TICK_SECONDS = 0.05
RESEND_SECONDS = 2.0
MAX_SENDS = 5
PROMPT_TIMEOUT_SECONDS = 900.0
LOST_GRACE_SECONDS = 3.0
RENEW_SECONDS = 5.0
ANSWERED_LIMIT = 4096
NODE_TYPE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class BridgeError(RuntimeError):
    """The bridge cannot start as configured."""


class ClaimedPromptLike(Protocol):
    """What ``claim_next`` returns (``evospikenet.server.brain.queue.ClaimedPrompt``)."""

    prompt_id: str
    text: str | None
    image_path: Path | None
    audio_path: Path | None
    attempts: int


class PromptQueueLike(Protocol):
    """The part of ``evospikenet.server.brain.queue.PromptQueue`` the bridge uses."""

    def claim_next(
        self, node_id: str, *, capacity: int | None = None
    ) -> ClaimedPromptLike | None: ...
    def complete(self, prompt_id: str, response: str, attempt: int | None = None) -> bool: ...
    def fail(self, prompt_id: str, error: str, attempt: int | None = None) -> bool: ...
    def requeue(self, prompt_id: str, reason: str, attempt: int | None = None) -> str | None: ...
    def requeue_expired(self) -> list[str]: ...
    def renew(self, attempts: dict[str, int]) -> int: ...
    def held_by(self, node_id: str, prompt_ids: Iterable[str]) -> dict[str, int]: ...


class NodeRegistryLike(Protocol):
    """The part of ``evospikenet.server.brain.nodes.NodeRegistry`` the bridge uses."""

    def report(
        self,
        *,
        node_id: str,
        rank: int,
        node_type: str,
        status: str,
        prompts_done: int | None = None,
        spike_rate: float | None = None,
        host: str | None = None,
    ) -> dict[str, Any]: ...


@dataclass
class InFlight:
    """A prompt handed to a coordinator and not answered yet."""

    prompt_id: str
    attempt: int
    coordinator: str
    payload: bytes
    first_sent: float
    last_sent: float
    sends: int = 1
    acked: bool = False
    missing_since: float | None = None


def _finished_attempts(listed: Any) -> dict[str, int]:
    """``{prompt_id: attempt}`` of a coordinator heartbeat's ``results`` (``[id, attempt]``
    pairs of finished attempts whose result it re-sends until acknowledged); the last attempt
    listed per prompt, malformed pairs skipped."""
    if not isinstance(listed, list):
        return {}
    return {
        str(pair[0]): pair[1]
        for pair in listed
        if isinstance(pair, list)
        and len(pair) == 2
        and isinstance(pair[1], int)
        and not isinstance(pair[1], bool)
    }


def _is_loopback_endpoint(endpoint: str) -> bool:
    host = endpoint.partition("/")[2].rsplit(":", 1)[0].strip("[]")
    return host in {"localhost", "::1"} or host.startswith("127.")


class SimulationBridge:
    """Start with ``start()``, stop with ``stop()``; both block briefly (call off the loop)."""

    def __init__(
        self,
        prompt_queue: PromptQueueLike,
        nodes: NodeRegistryLike,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        offline_after: float = OFFLINE_SECONDS,
        sim_key: bytes | None = None,
        allow_unauthenticated: bool = False,
        resend_seconds: float = RESEND_SECONDS,
        prompt_timeout_seconds: float = PROMPT_TIMEOUT_SECONDS,
        any_free_port: bool = False,
        router: str | None = None,
        zenoh_config: Path | None = None,
    ) -> None:
        # with a Zenoh router, the bridge connects to it like the nodes do and listens on nothing
        self.router = check_endpoint(router) if router else None
        endpoint = self.router or endpoint
        self.endpoint = check_endpoint(endpoint)
        # TLS and access control (a Zenoh JSON5 file); checked now, so a bad one stops the start
        self.zenoh_config = zenoh_config
        try:
            check_config(self.endpoint, zenoh_config, listen=self.router is None)
        except TransportError as exc:
            raise BridgeError(str(exc)) from None
        # endpoint taken: listen on a free port of its host (self.endpoint then names it)
        self.any_free_port = any_free_port
        if sim_key is None and not _is_loopback_endpoint(endpoint) and not allow_unauthenticated:
            raise BridgeError(
                f"refusing to open the simulation endpoint {endpoint} beyond loopback without "
                "a message key: set EVOSPIKENET_SIM_KEY (the same on every node), listen on "
                "tcp/127.0.0.1, or allow it explicitly"
            )
        self.queue = prompt_queue
        self.nodes = nodes
        self.codec = Codec(sim_key)
        self.peers = PeerTable(offline_after)
        self.resend_seconds = resend_seconds
        self.prompt_timeout_seconds = prompt_timeout_seconds
        self._events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._in_flight: dict[str, InFlight] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._renewed = 0.0
        # (prompt_id, attempt, node) of results recorded or refused: repeats are only re-acked
        self._answered: OrderedDict[tuple[str, int, str], None] = OrderedDict()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Listen on the endpoint and start the worker thread."""
        if self._thread is not None:
            raise BridgeError("the bridge is already running")
        orphans = self.queue.requeue_expired()
        if orphans:
            log.warning("requeued %d prompt(s) whose claimer stopped renewing", len(orphans))
        if self.router:
            self._session = open_router_client(self.router, config_file=self.zenoh_config)
        elif self.any_free_port:
            wanted = self.endpoint
            self._session, self.endpoint = open_listening_free(
                wanted, config_file=self.zenoh_config
            )
            if self.endpoint != wanted:
                log.warning(
                    "%s is in use (another server?): the simulation bridge listens on %s "
                    "instead; set EVOSPIKENET_SIM_ENDPOINT to choose",
                    wanted,
                    self.endpoint,
                )
        else:
            self._session = open_listening(self.endpoint, self.zenoh_config)
        session = self._session
        session.declare_subscriber(topics.HEARTBEAT_ALL, self._receiver("heartbeat"))
        session.declare_subscriber(topics.RESULT, self._receiver("result"))
        session.declare_subscriber(topics.ACK, self._receiver("ack"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="simulation-bridge", daemon=True)
        self._thread.start()
        auth = "HMAC-authenticated" if self.codec.authenticated else "unauthenticated"
        how = "connected to the Zenoh router at" if self.router else "listening on"
        extra = f"; Zenoh config {self.zenoh_config}" if self.zenoh_config else ""
        log.info("simulation bridge %s %s (%s messages%s)", how, self.endpoint, auth, extra)

    def stop(self) -> None:
        """Stop the worker and close the Zenoh session. Running prompts stay in the database;
        the janitor requeues them once their coordinator is seen offline."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._session is not None:
            self._session.close()
            self._session = None
        log.info("simulation bridge stopped")

    # --- Zenoh side (Zenoh's threads: decode and hand over only) ------------------------

    def _receiver(self, kind: str) -> Callable[[Any], None]:
        def receive(sample: Any) -> None:
            try:
                message = self.codec.decode(sample.payload.to_bytes())
            except MessageError as exc:
                log.warning("dropped a %s message on %s: %s", kind, sample.key_expr, exc)
                return
            self._events.put((kind, message))

        return receive

    # --- worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        last_tick = 0.0
        while not self._stop.is_set():
            try:
                kind, message = self._events.get(timeout=TICK_SECONDS)
            except queue.Empty:
                kind, message = "", {}
            try:
                if kind == "heartbeat":
                    self._on_heartbeat(message)
                elif kind == "result":
                    self._on_result(message)
                elif kind == "ack":
                    self._on_ack(message)
                now = time.monotonic()
                if self._events.empty() or now - last_tick >= TICK_SECONDS:
                    last_tick = now
                    self._tick()
            except Exception:
                log.exception("simulation bridge step failed (%s)", kind or "tick")
                self._stop.wait(0.5)

    def _on_heartbeat(self, message: dict[str, Any]) -> None:
        try:
            peer, previous = self.peers.update(message)
        except ValueError as exc:
            log.warning("dropped a heartbeat: %s", exc)
            return
        if not peer.role or set(peer.role) - NODE_TYPE_CHARS or len(peer.role) > 32:
            log.warning("dropped a heartbeat of %s: bad type %r", peer.node_id, peer.role)
            return
        if previous is None or previous.incarnation != peer.incarnation:
            log.info("node %s (%s, rank %d) joined", peer.node_id, peer.role, peer.rank)
            if previous is not None:
                self._give_back(peer.node_id, "its coordinator restarted while working on it")
        if peer.state == "offline":
            self._give_back(peer.node_id, "its coordinator went offline while working on it")
        elif peer.role == "coordinator" and isinstance(message.get("prompts"), list):
            holding = set(map(str, message["prompts"]))
            finished = _finished_attempts(message.get("results"))
            self._adopt(peer.node_id, holding, finished)
            self._requeue_lost(peer.node_id, holding, finished)
        rate = message.get("spike_rate")
        done = message.get("prompts_done")
        host = message.get("host")
        self.nodes.report(
            node_id=peer.node_id,
            rank=peer.rank,
            node_type=peer.role,
            status=peer.state,
            prompts_done=done if isinstance(done, int) and done >= 0 else None,
            spike_rate=float(rate) if isinstance(rate, int | float) and 0 <= rate <= 1 else None,
            host=host[:255] if isinstance(host, str) else None,
        )

    def _on_ack(self, message: dict[str, Any]) -> None:
        entry = self._in_flight.get(str(message.get("prompt_id")))
        if (
            entry is not None
            and entry.attempt == message.get("attempt")
            and entry.coordinator == message.get("node_id")
        ):
            entry.acked = True

    def _on_result(self, message: dict[str, Any]) -> None:
        prompt_id = message.get("prompt_id")
        attempt = message.get("attempt")
        sender = message.get("node_id")
        if not isinstance(prompt_id, str) or not isinstance(sender, str):
            log.warning("dropped a result without prompt_id or node_id")
            return
        if not isinstance(attempt, int) or isinstance(attempt, bool):
            log.warning("dropped a result for %s without attempt", prompt_id)
            return
        key = (prompt_id, attempt, sender)
        if key in self._answered:  # a re-sent copy: the acknowledgement was not there yet
            self._ack_result(key)
            return
        entry = self._in_flight.get(prompt_id)
        if entry is None or entry.attempt != attempt or sender != entry.coordinator:
            # only the node the database gives that very attempt may answer it
            if self.queue.held_by(sender, [prompt_id]).get(prompt_id) != attempt:
                log.warning(
                    "dropped a result for %s attempt %d from %s: not that node's current attempt",
                    prompt_id,
                    attempt,
                    sender,
                )
                self._ack_result(key)  # decided for good: the sender may forget it
                return
            log.info("prompt %s (attempt %d) on %s adopted with its result", *key)
        self._in_flight.pop(prompt_id, None)
        self._record(message, prompt_id, attempt)
        self._ack_result(key)

    def _record(self, message: dict[str, Any], prompt_id: str, attempt: int) -> None:
        """Write a result of the current attempt to the queue."""
        if isinstance(message.get("response"), str):
            if not self.queue.complete(prompt_id, message["response"], attempt):
                log.info("result for %s attempt %d ignored: not current", prompt_id, attempt)
        elif isinstance(message.get("error"), str):
            self.queue.fail(prompt_id, message["error"], attempt)
        elif isinstance(message.get("retry"), str):
            state = self.queue.requeue(prompt_id, message["retry"], attempt)
            log.warning("prompt %s given back (%s): now %s", prompt_id, message["retry"], state)
        else:
            log.warning("dropped a result for %s with no response, error or retry", prompt_id)

    def _ack_result(self, key: tuple[str, int, str]) -> None:
        """Tell the coordinator its result is dealt with (recorded or refused for good)."""
        self._answered[key] = None
        self._answered.move_to_end(key)
        while len(self._answered) > ANSWERED_LIMIT:
            self._answered.popitem(last=False)
        prompt_id, attempt, node_id = key
        ack = {"prompt_id": prompt_id, "attempt": attempt, "node_id": node_id}
        put_reliable(self._session, topics.RESULT_ACK, self.codec.encode(ack))

    def _give_back(self, node_id: str, reason: str) -> None:
        """Requeue the prompts a coordinator held (it went offline or restarted). The server's
        janitor does the same for silent nodes, but only if it runs while the registry shows
        the node offline: a coordinator restarted within a second would slip through."""
        for entry in [e for e in self._in_flight.values() if e.coordinator == node_id]:
            prompt_id = entry.prompt_id
            del self._in_flight[prompt_id]
            state = self.queue.requeue(prompt_id, reason, entry.attempt)
            log.warning("prompt %s given back (%s): now %s", prompt_id, reason, state)

    def _adopt(self, node_id: str, holding: set[str], finished: dict[str, int]) -> None:
        """Take over the attempts a coordinator works on, or has finished and not delivered,
        that this bridge did not give it but the database says are its current ones (the
        bridge that gave them stopped or restarted): renew their leases and accept their
        results, so they are not done again."""
        unknown = (holding | finished.keys()) - self._in_flight.keys()
        if not unknown:
            return
        adopted = {
            prompt_id: attempt
            for prompt_id, attempt in self.queue.held_by(node_id, unknown).items()
            if prompt_id in holding or finished[prompt_id] == attempt
        }
        now = time.monotonic()
        for prompt_id, attempt in adopted.items():
            self._in_flight[prompt_id] = InFlight(
                prompt_id, attempt, node_id, b"", now, now, acked=True
            )
            log.info("prompt %s (attempt %d) on %s adopted", prompt_id, attempt, node_id)
        if adopted:
            self.queue.renew(adopted)

    def _requeue_lost(self, node_id: str, holding: set[str], finished: dict[str, int]) -> None:
        """Requeue acknowledged prompts the coordinator has neither held nor listed as
        finished for ``LOST_GRACE_SECONDS`` of heartbeats while their result never arrived (a
        result in flight arrives within milliseconds; heartbeats and results may overtake
        each other). A finished one's result is re-sent until acknowledged: wait for it."""
        now = time.monotonic()
        for entry in list(self._in_flight.values()):
            if entry.coordinator != node_id or not entry.acked:
                continue
            if entry.prompt_id in holding or finished.get(entry.prompt_id) == entry.attempt:
                entry.missing_since = None
            elif entry.missing_since is None:
                entry.missing_since = now
            elif now - entry.missing_since > LOST_GRACE_SECONDS:
                del self._in_flight[entry.prompt_id]
                log.warning("prompt %s: its result from %s was lost", entry.prompt_id, node_id)
                self.queue.requeue(entry.prompt_id, "its result was lost on the way", entry.attempt)

    def _tick(self) -> None:
        for peer in self.peers.newly_offline():
            log.warning("node %s (%s) is offline: no heartbeat", peer.node_id, peer.role)
            self._give_back(peer.node_id, "its coordinator went offline while working on it")
        self._resend_or_give_up()
        self._renew_leases()
        self._dispatch()

    def _renew_leases(self) -> None:
        """Every ``RENEW_SECONDS``: extend the leases of the attempts this bridge holds."""
        now = time.monotonic()
        if self._in_flight and now - self._renewed >= RENEW_SECONDS:
            self._renewed = now
            self.queue.renew({e.prompt_id: e.attempt for e in self._in_flight.values()})

    def _resend_or_give_up(self) -> None:
        now = time.monotonic()
        for entry in list(self._in_flight.values()):
            if now - entry.first_sent > self.prompt_timeout_seconds:
                del self._in_flight[entry.prompt_id]
                limit = self.prompt_timeout_seconds
                self.queue.requeue(
                    entry.prompt_id, f"no result within {limit:.0f} s", entry.attempt
                )
            elif not entry.acked and now - entry.last_sent > self.resend_seconds:
                if entry.sends >= MAX_SENDS:
                    del self._in_flight[entry.prompt_id]
                    self.queue.requeue(
                        entry.prompt_id,
                        f"coordinator {entry.coordinator} did not acknowledge it",
                        entry.attempt,
                    )
                    continue
                entry.sends += 1
                entry.last_sent = now
                put_reliable(self._session, topics.PROMPT, entry.payload)

    def _dispatch(self) -> None:
        for peer in self.peers.online("coordinator"):
            if peer.state not in ("idle", "busy"):
                continue
            capacity = peer.report.get("capacity")
            limit = capacity if isinstance(capacity, int) and capacity > 0 else 1
            held = sum(1 for e in self._in_flight.values() if e.coordinator == peer.node_id)
            while held < limit:  # held here is a lower bound: the queue counts every bridge's
                claimed = self.queue.claim_next(peer.node_id, capacity=limit)
                if claimed is None:
                    break
                self._send(claimed, peer.node_id)
                held += 1

    def _send(self, claimed: ClaimedPromptLike, coordinator: str) -> None:
        try:
            image = claimed.image_path.read_bytes() if claimed.image_path else None
            audio = claimed.audio_path.read_bytes() if claimed.audio_path else None
        except OSError as exc:
            self.queue.fail(
                claimed.prompt_id, f"the prompt's media cannot be read: {exc}", claimed.attempts
            )
            return
        payload = self.codec.encode(
            {
                "prompt_id": claimed.prompt_id,
                "attempt": claimed.attempts,
                "coordinator": coordinator,
                "text": claimed.text,
                "image": b64encode(image),
                "audio": b64encode(audio),
            }
        )
        now = time.monotonic()
        self._in_flight[claimed.prompt_id] = InFlight(
            claimed.prompt_id, claimed.attempts, coordinator, payload, now, now
        )
        put_reliable(self._session, topics.PROMPT, payload)
        log.info(
            "prompt %s (attempt %d) sent to %s", claimed.prompt_id, claimed.attempts, coordinator
        )
