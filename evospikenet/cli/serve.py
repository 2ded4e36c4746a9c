"""``evospikenet serve``: run the reference API server."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path
from typing import Any

SIMULATION_PLUGIN = "evospikenet.simulation.server_plugin"


def register(subparsers: Any) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the EvoSpikeNet API server",
        description="Run the reference API server on embedded defaults (SQLite, local blobs). "
        "Environment: EVOSPIKENET_API_KEYS, DATABASE_URL, EVOSPIKENET_NODES_FILE, ... "
        "(see docs/server.md).",
    )
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 8000)")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where the database and blobs live"
    )
    parser.add_argument(
        "--no-nodes",
        action="store_true",
        help="start no local simulation nodes; nodes that run elsewhere connect to the bridge",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on one port (PostgreSQL only: set DATABASE_URL; the simulation "
        "runs in one of them)",
    )
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    parser.set_defaults(func=handle)


def simulation_plugins(no_nodes: bool) -> list[Any]:
    """The simulation's plugin: the bridge plus local nodes, or (``--no-nodes``) the bridge only,
    for nodes that run elsewhere. Without the simulation extra the server runs without it."""
    try:
        module = importlib.import_module(SIMULATION_PLUGIN)
    except ModuleNotFoundError as exc:
        if exc.name not in {SIMULATION_PLUGIN, "zenoh"}:
            raise
        logging.getLogger("evospikenet.server").warning(
            "simulation not available (%s is missing): prompts stay queued", exc.name
        )
        return []
    return [module.bridge_plugin if no_nodes else module.server_plugin]


def handle(args: argparse.Namespace) -> int:
    """Start the server; returns the exit code."""
    from evospikenet.server.logging_setup import configure_logging
    from evospikenet.server.replicas import USE_POSTGRES
    from evospikenet.server.runner import run, run_workers
    from evospikenet.server.settings import Settings, SettingsError
    from evospikenet.server.startup import StartupError

    configure_logging(args.log_level)
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    try:
        settings = Settings.from_env(**overrides)
        settings.check_startable()
        if args.workers < 1:
            raise SettingsError("--workers must be at least 1")
        if args.workers > 1:
            if not settings.resolved_database_url.startswith("postgresql"):
                raise SettingsError(f"--workers {args.workers} needs PostgreSQL. {USE_POSTGRES}")
            run_workers(settings, args.workers, no_nodes=args.no_nodes, log_level=args.log_level)
        else:
            run(settings, simulation_plugins(args.no_nodes))
    except (SettingsError, StartupError, ValueError) as exc:
        print(f"evospikenet serve: {exc}", file=sys.stderr)
        return 2
    return 0
