"""Several server processes on one database: SQLite refuses a second one; on PostgreSQL a
change made by one process wakes the long-polls of every other, and the rate limit holds per
key across them (run with ``scripts/with_postgres.sh`` for the PostgreSQL tests)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from live_server import REPO, TEST_KEY, LiveServer, free_port

ON_POSTGRES = bool(os.environ.get("EVOSPIKENET_TEST_DATABASE_URL"))
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs EVOSPIKENET_TEST_DATABASE_URL")
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite behaviour")
QUIET = {"EVOSPIKENET_LOAD_MODELS": "false", "EVOSPIKENET_ACCESS_LOG": "false"}


@sqlite_only
def test_second_process_on_one_sqlite_file_is_refused(make_server):
    first = make_server(**QUIET)
    second = LiveServer(first.data_dir, api_key=TEST_KEY, env=dict(QUIET))
    second.log_path = first.data_dir.parent / "second-server.log"
    try:
        with pytest.raises(RuntimeError, match="exited with 2"):
            second.start()
        log = second.read_log()
        assert "Traceback" not in log
        line = next(x for x in log.splitlines() if x.startswith("evospikenet serve:"))
        assert f"pid {first.process.pid}" in line and "DATABASE_URL" in line  # type: ignore[union-attr]
        assert httpx.get(f"{first.base_url}/api/health", timeout=5).status_code == 200
    finally:
        second.close()


@sqlite_only
def test_workers_on_sqlite_are_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "evospikenet", "serve", "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data"), "--workers", "2", "--no-nodes"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "PostgreSQL" in done.stderr and "--workers" in done.stderr
