"""The one ``evospikenet`` command line: ``serve``, ``node``, ``train`` and the client commands.

Each command group lives in its own module exposing ``register(subparsers)``; it adds its
sub-commands with ``parser.set_defaults(func=handler)`` where ``handler(args) -> int``. Heavy
imports (torch, FastAPI, Zenoh) happen inside the handlers, so ``evospikenet --help`` stays fast
and works with only the SDK's core dependencies installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from evospikenet import __version__

COMMAND_MODULES = ("serve", "node", "train", "client")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="evospikenet",
        description="EvoSpikeNet: serve the API, run simulation nodes, train models, use the API.",
    )
    parser.add_argument("--version", action="version", version=f"evospikenet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"evospikenet.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``evospikenet`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
