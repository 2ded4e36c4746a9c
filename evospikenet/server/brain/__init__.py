"""Server side of the distributed brain: the durable prompt queue, node registry, notifier.

The simulation (``evospikenet.simulation``) drives ``PromptQueue`` in-process: it claims prompts,
completes or fails them, and reports node state; see docs/server.md.
"""

from evospikenet.server.brain.nodes import NodeRegistry
from evospikenet.server.brain.notifier import PromptNotifier
from evospikenet.server.brain.queue import ClaimedPrompt, PromptQueue

__all__ = ["ClaimedPrompt", "NodeRegistry", "PromptNotifier", "PromptQueue"]
