"""Facts of the API contract (``openapi/evospikenet.yaml``) the SDK checks before it sends.

Each value is copied once, here, from the spec; ``tests/contract/test_sdk_contract_facts.py``
fails when one differs from the spec's value at the JSON pointer named beside it.
"""

from __future__ import annotations

import re

__all__ = [
    "ARTIFACT_NAME_MAX",
    "ARTIFACT_NAME_PATTERN",
    "ARTIFACT_TYPE_PATTERN",
    "CURSOR_PATTERN",
    "ID_PATTERN",
    "LLM_TYPE_PATTERN",
    "MAX_PAGE_SIZE",
    "MAX_PROMPT_CHARS",
    "PRIORITY_MAX",
    "PRIORITY_MIN",
    "REPETITION_PENALTY_MAX",
    "REPETITION_PENALTY_MIN",
    "SEED_MAX",
]

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""/components/schemas/ResourceId/pattern"""
CURSOR_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
"""/components/parameters/Cursor/schema/pattern"""
ARTIFACT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
"""/components/schemas/ArtifactType/pattern"""
LLM_TYPE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
"""/components/schemas/LlmType/pattern"""
ARTIFACT_NAME_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]+$")
"""/components/schemas/ArtifactName/pattern"""
ARTIFACT_NAME_MAX = 255
"""/components/schemas/ArtifactName/maxLength"""
SEED_MAX = 4_294_967_295
"""/components/schemas/GenerateRequest/properties/seed/maximum"""
REPETITION_PENALTY_MIN = 1
"""/components/schemas/GenerateRequest/properties/repetition_penalty/minimum"""
REPETITION_PENALTY_MAX = 2
"""/components/schemas/GenerateRequest/properties/repetition_penalty/maximum"""
PRIORITY_MIN = 0
"""/components/schemas/PromptRequest/properties/priority/minimum"""
PRIORITY_MAX = 9
"""/components/schemas/PromptRequest/properties/priority/maximum"""
MAX_PROMPT_CHARS = 20_000
"""/components/schemas/GenerateRequest/properties/prompt/maxLength (used until the server's
own ``limits.max_prompt_chars`` is known)"""
MAX_PAGE_SIZE = 500
"""/components/parameters/Limit/schema/maximum"""
