"""Simulation nodes: their last reports, and who counts as online (a heartbeat within 5 s).

Nodes silent for ``retention`` seconds (default an hour) are forgotten: the janitor's pass asks
for the live ids every second, and at most once a minute that also deletes them, so rows of
nodes long gone (or made up) never pile up in the health and status answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from evospikenet.server.db import Database, as_utc, insert, isoformat, utcnow
from evospikenet.server.tables import NodeRow

NODE_RETENTION_SECONDS = 3600.0
PURGE_EVERY_SECONDS = 60.0


class NodeRegistry:
    """Stores node reports; a node silent for ``offline_after`` seconds is shown offline."""

    def __init__(
        self,
        database: Database,
        *,
        offline_after: float = 5.0,
        retention: float = NODE_RETENTION_SECONDS,
    ) -> None:
        self.database = database
        self.offline_after = offline_after
        self.retention = retention
        self._purged_at: datetime | None = None

    def _effective_status(self, row: Any) -> str:
        if row.last_heartbeat is None:
            return "offline"
        age = utcnow() - as_utc(row.last_heartbeat)
        return "offline" if age > timedelta(seconds=self.offline_after) else row.status

    def _json(self, row: Any) -> dict[str, Any]:
        """A node as the API shows it (``row``: a ``NodeRow`` or a result row)."""
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
        """Record a heartbeat/report; fields not given keep their last value.

        One ``INSERT … ON CONFLICT DO UPDATE``: the first reports of a node, sent at once,
        never collide (no check-then-insert)."""
        values: dict[str, Any] = {
            "rank": rank,
            "type": node_type,
            "status": status,
            "last_heartbeat": utcnow(),
        }
        optional = {"prompts_done": prompts_done, "spike_rate": spike_rate, "host": host}
        values.update({name: value for name, value in optional.items() if value is not None})
        statement = insert(NodeRow, self.database.dialect).values(
            id=node_id, **{"prompts_done": 0, **values}
        )
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=values)
        with self.database.session() as db:
            row = db.execute(statement.returning(*NodeRow.__table__.c)).one()
            return self._json(row)

    def list(self) -> list[dict[str, Any]]:
        """Every node heard from within ``retention``, by rank."""
        with self.database.session() as db:
            rows = db.scalars(select(NodeRow).order_by(NodeRow.rank, NodeRow.id))
            return [self._json(row) for row in rows]

    def live_ids(self) -> set[str]:
        """Ids of the nodes not offline (forgetting long-silent ones at most once a minute)."""
        now = utcnow()
        if self._purged_at is None or now - self._purged_at > timedelta(
            seconds=PURGE_EVERY_SECONDS
        ):
            self._purged_at = now
            self.purge_silent()
        return {node["id"] for node in self.list() if node["status"] != "offline"}

    def purge_silent(self) -> int:
        """Delete the nodes without a heartbeat for ``retention`` seconds; how many."""
        cutoff = utcnow() - timedelta(seconds=self.retention)
        with self.database.session() as db:
            result = db.execute(
                delete(NodeRow).where(
                    (NodeRow.last_heartbeat < cutoff) | NodeRow.last_heartbeat.is_(None)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
