"""How long a silent node is kept is a setting, ``EVOSPIKENET_NODE_RETENTION_SECONDS``, checked
at start and used by the registry's purge (issue 15)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from evospikenet.server.blobstore import BlobStore
from evospikenet.server.brain.service import BrainService
from evospikenet.server.db import Database
from evospikenet.server.settings import Settings, SettingsError


def test_the_retention_is_read_and_validated() -> None:
    assert Settings.from_env({}).node_retention_seconds == 3600.0
    env = {"EVOSPIKENET_NODE_RETENTION_SECONDS": "90.5"}
    assert Settings.from_env(env).node_retention_seconds == 90.5
    for bad, reason in [("-1", "must not be negative"), ("soon", "must be a number"),
                        ("0", "more than EVOSPIKENET_NODE_OFFLINE_SECONDS"),
                        ("5", "more than EVOSPIKENET_NODE_OFFLINE_SECONDS")]:  # fmt: skip
        with pytest.raises(SettingsError, match=reason):
            Settings.from_env({"EVOSPIKENET_NODE_RETENTION_SECONDS": bad})
    longer_offline = {"EVOSPIKENET_NODE_OFFLINE_SECONDS": "120", **env}
    with pytest.raises(SettingsError, match=r"OFFLINE_SECONDS \(120\), got 90.5"):
        Settings.from_env(longer_offline)


def test_the_registry_forgets_nodes_silent_for_the_configured_time(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"EVOSPIKENET_NODE_OFFLINE_SECONDS": "0.2", "EVOSPIKENET_NODE_RETENTION_SECONDS": "1.5"},
        data_dir=tmp_path,
    )
    database = Database(settings.resolved_database_url)
    database.migrate()
    blobs = BlobStore(tmp_path)
    blobs.open()
    nodes = BrainService(settings, database, blobs).nodes
    try:
        assert nodes.retention == 1.5
        nodes.report(node_id="gone", rank=1, node_type="vision", status="idle")
        time.sleep(0.5)  # offline by now, but not yet past the retention
        assert nodes.purge_silent() == 0
        assert [n["status"] for n in nodes.list()] == ["offline"]
        time.sleep(1.2)
        nodes.report(node_id="live", rank=2, node_type="vision", status="idle")
        assert nodes.purge_silent() == 1
        assert [n["id"] for n in nodes.list()] == ["live"]
    finally:
        database.dispose()
