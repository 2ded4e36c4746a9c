"""Shared fixtures: real ``evospikenet serve`` processes on 127.0.0.1 loopback ports.

``server`` is one server for the whole test session; ``make_server(**env)`` starts servers of
your own (stopped at the end of the test). Set ``EVOSPIKENET_TEST_DATABASE_URL`` (a PostgreSQL
URL, e.g. ``postgresql+psycopg://user@127.0.0.1:5432/postgres``) to give every server a fresh
database on that PostgreSQL server instead of its SQLite file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator

import pytest
from live_server import TEST_KEY, LiveServer, MakeServer, _fresh_postgres_database


@pytest.fixture(autouse=True)
def _leave_denormals_as_found() -> Iterator[None]:
    """Loading a model in this process flushes denormal floats (processor state of the thread);
    put it back after each test, or hypothesis (schemathesis) refuses to generate floats in
    later tests with FloatingPointError."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_flush_denormal(False)


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeServer]:
    """Factory: ``make_server(api_key="test-key", nodes=False, **env)`` starts a server of your
    own; ``api_key=None`` runs it open (no keys; it listens on loopback only)."""
    started: list[LiveServer] = []

    def factory(api_key: str | None = TEST_KEY, nodes: bool = False, **env: str) -> LiveServer:
        data_dir = tmp_path_factory.mktemp("server") / "data"
        live = LiveServer(data_dir, api_key=api_key, env=env, nodes=nodes)
        started.append(live)
        return live.start()

    yield factory
    for live in started:
        live.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole session (key ``test-key``, models loaded, no local nodes)."""
    live = LiveServer(tmp_path_factory.mktemp("shared-server") / "data", api_key=TEST_KEY, env={})
    live.start()
    yield live
    live.close()


@pytest.fixture(scope="session")
def database_urls() -> Iterator[Callable[[], str | None]]:
    """Factory for in-process apps: ``None`` (SQLite in the data folder) or, when
    ``EVOSPIKENET_TEST_DATABASE_URL`` is set, the URL of a fresh PostgreSQL database (dropped
    at the end of the session)."""
    drops: list[Callable[[], None]] = []

    def factory() -> str | None:
        base = os.environ.get("EVOSPIKENET_TEST_DATABASE_URL")
        if not base:
            return None
        url, drop = _fresh_postgres_database(base)
        drops.append(drop)
        return url

    yield factory
    for drop in drops:
        drop()
