"""Build and run one node from its settings (what ``evospikenet node`` does)."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from evospikenet.simulation.coordinator import Coordinator
from evospikenet.simulation.media import DEFAULT_MAX_MEDIA_BYTES
from evospikenet.simulation.messages import Codec
from evospikenet.simulation.node_base import NodeBase, NodeIdentity
from evospikenet.simulation.transport import DEFAULT_ENDPOINT, check_config, check_endpoint

SIM_KEY_ENV = "EVOSPIKENET_SIM_KEY"
API_KEY_ENV = "EVOSPIKENET_API_KEY"


@dataclass(frozen=True)
class NodeSettings:
    """Everything a node is started with."""

    role: str
    rank: int
    endpoint: str = DEFAULT_ENDPOINT
    node_id: str | None = None
    api_url: str | None = None
    api_key: str | None = None
    sim_key: bytes | None = None
    zenoh_config: Path | None = None
    log_dir: Path = Path(".evospikenet/logs")
    cache_dir: Path = Path(".evospikenet/node-cache")
    model_dir: Path | None = None
    model_refresh_seconds: float = 60.0
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    max_new_tokens: int = 32
    temperature: float = 0.8
    top_k: int | None = 40
    seed: int | None = None
    capacity: int = 16
    role_wait_seconds: float = 30.0
    echo: bool = True


def sim_key_from_env() -> bytes | None:
    """The shared message key from ``EVOSPIKENET_SIM_KEY`` (None when unset)."""
    raw = os.environ.get(SIM_KEY_ENV, "").strip()
    return raw.encode("utf-8") if raw else None


def build_node(settings: NodeSettings) -> NodeBase:
    """The node object for ``settings.role``."""
    identity = NodeIdentity.make(settings.role, settings.rank, settings.node_id)
    check_config(check_endpoint(settings.endpoint), settings.zenoh_config, listen=False)
    codec = Codec(settings.sim_key)
    if settings.role == "coordinator":
        return Coordinator(
            identity,
            settings.endpoint,
            codec,
            capacity=settings.capacity,
            role_wait_seconds=settings.role_wait_seconds,
            zenoh_config=settings.zenoh_config,
        )
    from evospikenet.simulation.role_node import RoleNode, RoleWorker

    worker: RoleWorker
    if settings.role == "language":
        from evospikenet.simulation.language import LanguageWorker

        worker = LanguageWorker(
            settings.api_url,
            settings.api_key,
            settings.cache_dir,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_k=settings.top_k,
            seed=settings.seed,
            model_dir=settings.model_dir,
            refresh_seconds=settings.model_refresh_seconds,
        )
    elif settings.role == "vision":
        from evospikenet.simulation.sensory import VisionWorker

        worker = VisionWorker(settings.max_media_bytes)
    else:
        from evospikenet.simulation.sensory import AuditoryWorker

        worker = AuditoryWorker(settings.max_media_bytes)
    return RoleNode(identity, settings.endpoint, codec, worker, zenoh_config=settings.zenoh_config)


def run_node(settings: NodeSettings) -> int:
    """Set up logging, run the node until SIGTERM/SIGINT, return the exit code."""
    from evospikenet.simulation.logs import setup_node_logging

    node = build_node(settings)
    path = setup_node_logging(settings.log_dir, settings.rank, echo=settings.echo)
    node.log.info("logging to %s", path)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        node.log.info("received signal %d, stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return node.run(stop)
