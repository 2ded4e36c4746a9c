"""Simulation nodes: their last reports, and who counts as online (a heartbeat within 5 s).

Nodes silent for ``retention`` seconds (default an hour) are forgotten: the janitor's pass asks
for the live ids every second, and at most once a minute that also deletes them, so rows of
nodes long gone (or made up) never pile up in the health and status answers.

Heartbeats are stamped, and ages measured, by the database's clock (``Database.now``): every
process sharing the database sees the same nodes online, whatever its own clock says (the
janitor requeues the prompts of nodes it sees offline).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import ColumnElement, select

from evospikenet.server.db import Database, delete_in_pages, insert, isoformat
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
        self._purged_at: float | None = None

    def _fresh(self) -> ColumnElement[bool]:
        """True for a node heard within ``offline_after`` seconds, by the database's clock."""
        return NodeRow.last_heartbeat >= self.database.now(-self.offline_after)

    @staticmethod
    def _json(row: Any, fresh: bool) -> dict[str, Any]:
        """A node as the API shows it (``row``: a ``NodeRow`` or a result row)."""
        return {
            "id": row.id,
            "rank": row.rank,
            "type": row.type,
            "status": row.status if fresh else "offline",
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
            "last_heartbeat": self.database.now(),
        }
        optional = {"prompts_done": prompts_done, "spike_rate": spike_rate, "host": host}
        values.update({name: value for name, value in optional.items() if value is not None})
        statement = insert(NodeRow, self.database.dialect).values(
            id=node_id, **{"prompts_done": 0, **values}
        )
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=values)
        with self.database.session() as db:
            row = db.execute(statement.returning(*NodeRow.__table__.c)).one()
            return self._json(row, fresh=True)

    def list(self) -> list[dict[str, Any]]:
        """Every node heard from within ``retention``, by rank."""
        with self.database.session() as db:
            rows = db.execute(
                select(NodeRow, self._fresh().label("fresh")).order_by(NodeRow.rank, NodeRow.id)
            )
            return [self._json(row, bool(fresh)) for row, fresh in rows]

    def live_ids(self) -> set[str]:
        """Ids of the nodes not offline (forgetting long-silent ones at most once a minute)."""
        now = time.monotonic()
        if self._purged_at is None or now - self._purged_at > PURGE_EVERY_SECONDS:
            self._purged_at = now
            self.purge_silent()
        with self.database.session() as db:
            rows = db.scalars(select(NodeRow.id).where(self._fresh(), NodeRow.status != "offline"))
            return set(rows)

    def purge_silent(self) -> int:
        """Delete the nodes without a heartbeat for ``retention`` seconds (by the database's
        clock); how many."""
        cutoff = self.database.now(-self.retention)
        return delete_in_pages(
            self.database,
            [NodeRow.id],
            (NodeRow.last_heartbeat <= cutoff) | NodeRow.last_heartbeat.is_(None),
        )
