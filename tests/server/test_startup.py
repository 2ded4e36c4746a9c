"""Start-up: the script and the CLI, migrations, clean-up of what a crash left, bad config."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from live_server import free_port

REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVOSPIKENET_")}
    env["EVOSPIKENET_LOAD_MODELS"] = "false"
    env["EVOSPIKENET_SIM_ENDPOINT"] = f"tcp/127.0.0.1:{free_port()}"
    env["PYTHON"] = sys.executable
    env.update(extra)
    return env


def test_run_api_server_script_serves_and_stops(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        ["bash", "scripts/run_api_server.sh", "--port", str(port), "--no-nodes"],
        cwd=REPO,
        env=_env(EVOSPIKENET_DATA_DIR=str(tmp_path / "data"), EVOSPIKENET_API_KEYS="k"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["components"]["database"]["status"] == "healthy"
        assert (tmp_path / "data" / "evospikenet.db").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from evospikenet.server.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return str(ScriptDirectory.from_config(config).get_current_head())


HEAD = _head_revision()


def test_migrations_are_applied_at_start(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    if "DATABASE_URL" in live.env:
        return  # the PostgreSQL run checks the same through the API tests
    with sqlite3.connect(live.data_dir / "evospikenet.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_restart_removes_orphan_blobs_and_temp_files(make_server):
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    live.stop()
    orphan = live.data_dir / "blobs" / "ab" / "cd" / ("abcd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a crash between rename and commit")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    leftover = live.data_dir / "tmp" / "upload-leftover"  # no owner: abandoned once old
    leftover.write_bytes(b"partial")
    os.utime(leftover, (old, old))
    live.start()
    deadline = time.monotonic() + 10  # the janitor's first pass, right after start
    while (orphan.exists() or leftover.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not orphan.exists() and not leftover.exists()


def test_broken_nodes_file_stops_start_up(tmp_path):
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("hosts: [{host: 127.0.0.1}]\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "evospikenet",
            "serve",
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
            "--no-nodes",
        ],
        cwd=REPO,
        env=_env(EVOSPIKENET_NODES_FILE=str(nodes)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "nodes file" in done.stderr


def test_an_older_database_is_upgraded_in_place_keeping_its_rows(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from evospikenet.server.db import MIGRATIONS_DIR, make_engine, run_migrations

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO nodes (id, rank, type, status, prompts_done)"
                " VALUES ('lang-1', 1, 'language', 'idle', 7)"
            )
        )
    run_migrations(engine)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            (HEAD,)
        ]
        connection.execute(text("UPDATE nodes SET prompts_done = :n"), {"n": 2**53 - 1})
        assert connection.execute(text("SELECT id, prompts_done FROM nodes")).all() == [
            ("lang-1", 2**53 - 1)
        ]
    engine.dispose()
