"""Zenoh key expressions of the distributed brain.

The API side (the bridge) and the coordinator use the original's topics: prompts on
``evospikenet/api/prompt``, results on ``evospikenet/api/result``, heartbeats on
``heartbeat/{node_id}``. Ours add acknowledgement topics (of prompts and of results) and the
coordinator's per-node task and reply topics.
"""

from __future__ import annotations

import re

PROMPT = "evospikenet/api/prompt"
"""Bridge → coordinator: a claimed prompt with its media."""
RESULT = "evospikenet/api/result"
"""Coordinator → bridge: ``{prompt_id, response}``, ``{prompt_id, error}`` or a ``retry``."""
ACK = "evospikenet/api/ack"
"""Coordinator → bridge: the prompt arrived (the bridge re-sends unacknowledged prompts)."""
RESULT_ACK = "evospikenet/api/result_ack"
"""Bridge → coordinator: a result is recorded (or refused for good); the coordinator keeps a
result and re-sends it until then."""
HEARTBEAT_ALL = "heartbeat/*"
REPLY = "evospikenet/node/reply"
"""Role node → coordinator: what a node measured for one task, or its error."""

ROLES = ("coordinator", "language", "vision", "auditory")
WORKER_ROLES = ("language", "vision", "auditory")
NODE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def heartbeat(node_id: str) -> str:
    """Where ``node_id`` publishes its heartbeat."""
    return f"heartbeat/{check_node_id(node_id)}"


def task(role: str, node_id: str) -> str:
    """Where the coordinator sends ``node_id`` (of ``role``) its tasks."""
    if role not in WORKER_ROLES:
        raise ValueError(f"unknown worker role {role!r}; use one of {', '.join(WORKER_ROLES)}")
    return f"evospikenet/node/{role}/{check_node_id(node_id)}/task"


def check_node_id(node_id: str) -> str:
    """``node_id`` if it is 1-64 letters, digits, ``_`` or ``-`` (safe in a key expression)."""
    if not NODE_ID_PATTERN.match(node_id):
        raise ValueError(
            f"node id {node_id!r} must be 1-64 characters of letters, digits, '_' or '-'"
        )
    return node_id
