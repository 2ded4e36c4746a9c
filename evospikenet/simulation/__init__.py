"""The distributed brain: nodes that answer multimodal prompts over Zenoh (see docs/simulation.md).

Public surface:

- ``SimulationBridge`` / ``BridgeError``: the API server's side (queue ↔ Zenoh).
- ``server_plugin`` / ``bridge_plugin``: plugins for ``evospikenet.server.app.create_app``.
- ``launch_local_nodes`` / ``LocalNodes``: one node of each role as child processes.
- ``NodeSettings`` / ``run_node``: what ``evospikenet node`` runs.
- ``VisionEncoder``, ``AuditoryEncoder``, ``MediaError``: the spiking encoders.
"""

from __future__ import annotations

from evospikenet.simulation.auditory import AuditoryEncoder
from evospikenet.simulation.bridge import BridgeError, SimulationBridge
from evospikenet.simulation.launcher import LocalNodes, launch_local_nodes
from evospikenet.simulation.media import MediaError
from evospikenet.simulation.runner import NodeSettings, run_node
from evospikenet.simulation.server_plugin import bridge_plugin, server_plugin
from evospikenet.simulation.vision import VisionEncoder

__all__ = [
    "AuditoryEncoder",
    "BridgeError",
    "LocalNodes",
    "MediaError",
    "NodeSettings",
    "SimulationBridge",
    "VisionEncoder",
    "bridge_plugin",
    "launch_local_nodes",
    "run_node",
    "server_plugin",
]
