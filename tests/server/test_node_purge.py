"""Node rows do not pile up: nodes silent past the retention are forgotten (issue 15)."""

from __future__ import annotations

from pathlib import Path

from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.db import Database


def registry(tmp_path: Path, retention: float) -> NodeRegistry:
    database = Database(f"sqlite:///{tmp_path / 'nodes.db'}")
    database.migrate()
    return NodeRegistry(database, offline_after=5.0, retention=retention)


def test_silent_nodes_are_purged_and_live_ones_kept(tmp_path: Path) -> None:
    nodes = registry(tmp_path, retention=0.0)
    for i in range(300):
        nodes.report(node_id=f"fake-{i}", rank=i, node_type="coordinator", status="idle")
    assert len(nodes.list()) == 300
    assert nodes.purge_silent() == 300
    assert nodes.list() == []
    nodes.retention = 3600.0
    nodes.report(node_id="real", rank=0, node_type="language", status="idle")
    assert nodes.purge_silent() == 0
    assert [n["id"] for n in nodes.list()] == ["real"]


def test_the_janitors_live_ids_call_purges_at_most_once_a_minute(tmp_path: Path) -> None:
    nodes = registry(tmp_path, retention=0.0)
    nodes.report(node_id="gone", rank=0, node_type="vision", status="idle")
    assert nodes.live_ids() == set() and nodes.list() == []  # first call purges
    nodes.report(node_id="again", rank=0, node_type="vision", status="idle")
    assert nodes.live_ids() == {"again"}  # within the minute: not purged again
    assert [n["id"] for n in nodes.list()] == ["again"]
