"""Who is online: the last heartbeat of every node, with the 5-second offline rule."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from evospikenet.simulation.topics import NODE_ID_PATTERN

HEARTBEAT_SECONDS = 2.0
OFFLINE_SECONDS = 5.0
NODE_STATES = ("starting", "idle", "busy", "offline")


@dataclass
class Peer:
    """One node as its last heartbeat described it."""

    node_id: str
    role: str
    rank: int
    state: str
    incarnation: str
    last_seen: float
    report: dict[str, Any] = field(default_factory=dict)


def heartbeat_fields(message: dict[str, Any]) -> tuple[str, str, int, str, str]:
    """``node_id, role, rank, state, incarnation`` of a heartbeat; ValueError if malformed."""
    node_id, role, rank = message.get("node_id"), message.get("type"), message.get("rank")
    state, incarnation = message.get("status"), message.get("incarnation")
    if not isinstance(node_id, str) or not isinstance(role, str) or not isinstance(rank, int):
        raise ValueError("heartbeat needs node_id, type and rank")
    if not NODE_ID_PATTERN.match(node_id) or not 0 <= rank <= 1023:
        raise ValueError(f"heartbeat has a malformed node_id {node_id[:80]!r} or rank {rank}")
    if state not in NODE_STATES or not isinstance(incarnation, str):
        raise ValueError(f"heartbeat of {node_id} has a bad status or incarnation")
    return node_id, role, rank, state, incarnation


class PeerTable:
    """Thread-safe table of peers; a peer silent for ``offline_after`` seconds is offline."""

    def __init__(self, offline_after: float = OFFLINE_SECONDS) -> None:
        self.offline_after = offline_after
        self._peers: dict[str, Peer] = {}
        self._lock = threading.Lock()

    def update(self, message: dict[str, Any]) -> tuple[Peer, Peer | None]:
        """Record a heartbeat; returns the new entry and the previous one (None if new)."""
        node_id, role, rank, state, incarnation = heartbeat_fields(message)
        peer = Peer(node_id, role, rank, state, incarnation, time.monotonic(), dict(message))
        with self._lock:
            previous = self._peers.get(node_id)
            self._peers[node_id] = peer
        return peer, previous

    def is_online(self, peer: Peer, now: float | None = None) -> bool:
        """True while ``peer`` heartbeats in time and did not say it went offline."""
        now = time.monotonic() if now is None else now
        return peer.state != "offline" and now - peer.last_seen <= self.offline_after

    def get(self, node_id: str) -> Peer | None:
        """The last entry of ``node_id``."""
        with self._lock:
            return self._peers.get(node_id)

    def online(self, role: str | None = None) -> list[Peer]:
        """Online peers (of ``role`` if given), ordered by rank."""
        now = time.monotonic()
        with self._lock:
            peers = list(self._peers.values())
        return sorted(
            (p for p in peers if self.is_online(p, now) and (role is None or p.role == role)),
            key=lambda p: (p.rank, p.node_id),
        )

    def newly_offline(self) -> list[Peer]:
        """Peers that went silent since the last call (each reported once per silence)."""
        now = time.monotonic()
        gone: list[Peer] = []
        with self._lock:
            for peer in self._peers.values():
                if peer.state != "offline" and now - peer.last_seen > self.offline_after:
                    peer.state = "offline"
                    gone.append(peer)
        return gone
