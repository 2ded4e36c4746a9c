"""``evospikenet node``: run one simulation node (coordinator, language, vision or auditory)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

ROLES = ("coordinator", "language", "vision", "auditory")


def register(subparsers: Any) -> None:
    """Add the ``node`` command."""
    parser = subparsers.add_parser(
        "node",
        help="run one distributed-brain node",
        description=(
            "Run one node of the distributed brain. It connects to the API server's simulation "
            "endpoint over Zenoh and heartbeats every 2 s. The API key comes from "
            "EVOSPIKENET_API_KEY and the optional message key from EVOSPIKENET_SIM_KEY "
            "(never from the command line, which other users can read)."
        ),
    )
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--rank", required=True, type=int, help="0..1023; the coordinator is 0")
    parser.add_argument(
        "--connect",
        default=os.environ.get("EVOSPIKENET_SIM_ENDPOINT", "tcp/127.0.0.1:7447"),
        metavar="ENDPOINT",
        help="the API server's Zenoh endpoint, tcp/HOST:PORT or tls/HOST:PORT "
        "(default $EVOSPIKENET_SIM_ENDPOINT or tcp/127.0.0.1:7447)",
    )
    parser.add_argument(
        "--zenoh-config",
        type=Path,
        default=Path(os.environ["EVOSPIKENET_ZENOH_CONFIG"])
        if os.environ.get("EVOSPIKENET_ZENOH_CONFIG", "").strip()
        else None,
        metavar="FILE",
        help="a Zenoh JSON5 config (TLS certificates, CA, mutual TLS; default "
        "$EVOSPIKENET_ZENOH_CONFIG); mode and endpoints stay the node's",
    )
    parser.add_argument("--node-id", default=None, help="default node-<role>-<rank>")
    parser.add_argument(
        "--api-url",
        default=os.environ.get("EVOSPIKENET_API_URL") or None,
        help="the API server, for the language node's model (default $EVOSPIKENET_API_URL)",
    )
    parser.add_argument("--log-dir", type=Path, default=Path(".evospikenet/logs"))
    parser.add_argument("--cache-dir", type=Path, default=Path(".evospikenet/node-cache"))
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="language: load config.json, spiking_lm.pth and spiking_lm_tokenizer.zip from "
        "this folder instead of the model the API serves (/api/info model.artifact_ids)",
    )
    parser.add_argument(
        "--model-refresh-seconds",
        type=float,
        default=60.0,
        help="language: how often to ask the API which model it serves, and switch to it "
        "(0 = never)",
    )
    parser.add_argument("--max-media-bytes", type=int, default=16 * 1024 * 1024)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--capacity", type=int, default=16, help="coordinator: prompts at once")
    parser.add_argument(
        "--role-wait-seconds",
        type=float,
        default=30.0,
        help="coordinator: how long a prompt waits for a node of a needed role",
    )
    parser.add_argument("--quiet", action="store_true", help="log to the file only")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the node until SIGTERM or Ctrl-C."""
    from evospikenet.simulation.runner import API_KEY_ENV, NodeSettings, run_node, sim_key_from_env
    from evospikenet.simulation.transport import TransportError

    if args.max_new_tokens < 1 or args.capacity < 1 or args.max_media_bytes < 1:
        raise SystemExit("--max-new-tokens, --capacity and --max-media-bytes must be positive")
    settings = NodeSettings(
        role=args.role,
        rank=args.rank,
        endpoint=args.connect,
        node_id=args.node_id,
        api_url=args.api_url,
        api_key=os.environ.get(API_KEY_ENV) or None,
        sim_key=sim_key_from_env(),
        zenoh_config=args.zenoh_config,
        log_dir=args.log_dir,
        cache_dir=args.cache_dir,
        model_dir=args.model_dir,
        model_refresh_seconds=args.model_refresh_seconds,
        max_media_bytes=args.max_media_bytes,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k if args.top_k and args.top_k > 0 else None,
        seed=args.seed,
        capacity=args.capacity,
        role_wait_seconds=args.role_wait_seconds,
        echo=not args.quiet,
    )
    try:
        return run_node(settings)
    except (ValueError, TransportError) as exc:
        raise SystemExit(f"evospikenet node: {exc}") from None
