"""What every node does: connect to the bridge, heartbeat every 2 s, stop cleanly."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evospikenet.simulation import topics
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.peers import HEARTBEAT_SECONDS
from evospikenet.simulation.transport import open_connected, put_reliable


@dataclass(frozen=True)
class NodeIdentity:
    """A node's role, rank and id (``node-<role>-<rank>`` unless given)."""

    role: str
    rank: int
    node_id: str
    host: str

    @classmethod
    def make(cls, role: str, rank: int, node_id: str | None = None) -> NodeIdentity:
        """Validate and fill in the defaults."""
        if role not in topics.ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(topics.ROLES)}")
        if not 0 <= rank <= 1023:
            raise ValueError(f"rank must be within 0..1023, got {rank}")
        node_id = topics.check_node_id(node_id or f"node-{role}-{rank}")
        return cls(role, rank, node_id, socket.gethostname()[:255])


class NodeBase:
    """Runs a node: ``run(stop)`` blocks until ``stop`` is set. Subclasses add their work."""

    def __init__(
        self,
        identity: NodeIdentity,
        endpoint: str,
        codec: Codec,
        *,
        zenoh_config: Path | None = None,
    ) -> None:
        self.identity = identity
        self.endpoint = endpoint
        self.zenoh_config = zenoh_config  # TLS and other Zenoh settings (JSON5 file)
        self.codec = codec
        self.log = logging.getLogger(f"evospikenet.simulation.{identity.role}")
        self.incarnation = uuid.uuid4().hex
        self.state = "starting"
        self.prompts_done = 0
        self.spike_rate: float | None = None
        self.session: Any = None
        self._heartbeat_lock = threading.Lock()

    # --- subclass hooks -----------------------------------------------------------------

    def declare(self, session: Any) -> None:
        """Declare subscribers on the open session (called before the first heartbeat)."""

    def prepare(self, stop: threading.Event) -> None:
        """Slow set-up done while heartbeating ``starting`` (e.g. loading a model)."""

    def serve(self, stop: threading.Event) -> None:
        """The node's main loop; by default wait for ``stop``."""
        stop.wait()

    def status_extra(self) -> dict[str, Any]:
        """Extra heartbeat fields."""
        return {}

    # --- running ------------------------------------------------------------------------

    def heartbeat_message(self, state: str | None = None) -> dict[str, Any]:
        """This node's heartbeat (also what the bridge records as its status)."""
        message: dict[str, Any] = {
            "node_id": self.identity.node_id,
            "type": self.identity.role,
            "rank": self.identity.rank,
            "status": state or self.state,
            "prompts_done": self.prompts_done,
            "spike_rate": self.spike_rate,
            "host": self.identity.host,
            "pid": os.getpid(),
            "incarnation": self.incarnation,
        }
        message.update(self.status_extra())
        return message

    def send_heartbeat(self, state: str | None = None) -> None:
        """Publish a heartbeat now (also called on every state change)."""
        if self.session is None:
            return
        with self._heartbeat_lock:
            payload = self.codec.encode(self.heartbeat_message(state))
            self.session.put(topics.heartbeat(self.identity.node_id), payload)

    def set_state(self, state: str) -> None:
        """Change state and announce it at once."""
        if state != self.state:
            self.state = state
            self.send_heartbeat()

    def publish(self, key: str, message: dict[str, Any]) -> None:
        """Publish ``message`` on ``key`` (never dropped under congestion)."""
        put_reliable(self.session, key, self.codec.encode(message))

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self.send_heartbeat()
            except Exception:
                self.log.exception("heartbeat failed")

    def run(self, stop: threading.Event) -> int:
        """Connect, heartbeat, prepare, serve until ``stop``; announce ``offline`` at the end."""
        ident = self.identity
        self.log.info(
            "node %s (role %s, rank %d) starting; bridge %s",
            ident.node_id,
            ident.role,
            ident.rank,
            self.endpoint,
        )
        session = open_connected(self.endpoint, stop, config_file=self.zenoh_config)
        if session is None:
            return 0
        self.session = session
        beat = threading.Thread(target=self._heartbeat_loop, args=(stop,), daemon=True)
        try:
            self.declare(session)
            self.send_heartbeat()
            beat.start()
            started = time.monotonic()
            self.prepare(stop)
            if stop.is_set():
                return 0
            self.log.info("ready after %.1f s", time.monotonic() - started)
            self.set_state("idle")
            self.serve(stop)
            return 0
        finally:
            stop.set()
            try:
                self.send_heartbeat("offline")
            except Exception:
                self.log.warning("could not announce going offline")
            self.log.info("node %s stopped after %d prompt(s)", ident.node_id, self.prompts_done)
            session.close()
