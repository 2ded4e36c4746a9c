"""Simulation nodes: their last reports, and who counts as online (a heartbeat within 5 s)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from evospikenet.server.db import Database, as_utc, isoformat, utcnow
from evospikenet.server.tables import NodeRow


class NodeRegistry:
    """Stores node reports; a node silent for ``offline_after`` seconds is shown offline."""

    def __init__(self, database: Database, *, offline_after: float = 5.0) -> None:
        self.database = database
        self.offline_after = offline_after

    def _effective_status(self, row: NodeRow) -> str:
        if row.last_heartbeat is None:
            return "offline"
        age = utcnow() - as_utc(row.last_heartbeat)
        return "offline" if age > timedelta(seconds=self.offline_after) else row.status

    def _json(self, row: NodeRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "rank": row.rank,
            "type": row.type,
            "status": self._effective_status(row),
            "last_heartbeat": isoformat(row.last_heartbeat),
            "prompts_done": row.prompts_done,
            "spike_rate": row.spike_rate,
            "host": row.host,
        }

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
    ) -> dict[str, Any]:
        """Record a heartbeat/report; fields not given keep their last value."""
        with self.database.session() as db:
            row = db.get(NodeRow, node_id)
            if row is None:
                row = NodeRow(id=node_id, rank=rank, type=node_type, status=status, prompts_done=0)
                db.add(row)
            row.rank = rank
            row.type = node_type
            row.status = status
            row.last_heartbeat = utcnow()
            if prompts_done is not None:
                row.prompts_done = prompts_done
            if spike_rate is not None:
                row.spike_rate = spike_rate
            if host is not None:
                row.host = host
            db.flush()
            return self._json(row)

    def list(self) -> list[dict[str, Any]]:
        """Every node ever seen, by rank."""
        with self.database.session() as db:
            rows = db.scalars(select(NodeRow).order_by(NodeRow.rank, NodeRow.id))
            return [self._json(row) for row in rows]

    def live_ids(self) -> set[str]:
        """Ids of the nodes not offline."""
        return {node["id"] for node in self.list() if node["status"] != "offline"}
