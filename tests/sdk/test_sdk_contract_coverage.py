"""Every client-facing operation of the OpenAPI contract has an SDK method, on both clients;
a new operation in the spec fails this test until the SDK covers it (or it is listed as
node-side)."""

from __future__ import annotations

from pathlib import Path

import yaml

from evospikenet.sdk import AsyncEvoSpikeNetAPIClient, EvoSpikeNetAPIClient

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "evospikenet.yaml"

SDK_METHODS = {
    "getHealth": ["get_health", "is_server_healthy", "wait_for_server"],
    "getServerInfo": ["get_server_info"],
    "generateText": ["generate", "batch_generate"],
    "submitPrompt": ["submit_prompt"],
    "getPromptResult": ["get_simulation_result", "poll_for_result"],
    "getSimulationStatus": ["get_simulation_status"],
    "getRemoteLog": ["get_remote_log"],
    "createSession": ["create_log_session"],
    "listSessions": ["get_all_sessions", "iter_sessions"],
    "getSession": ["get_session"],
    "listSessionArtifacts": ["get_session_artifacts"],
    "uploadArtifact": ["upload_artifact"],
    "listArtifacts": ["list_artifacts", "iter_artifacts"],
    "getArtifact": ["get_artifact_metadata"],
    "downloadArtifact": ["download_artifact", "get_artifact"],
}
NODE_SIDE = {"reportNodeStatus"}  # sent by simulation nodes, not by SDK users


def operation_ids() -> set[str]:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return {
        operation["operationId"]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def test_every_operation_is_covered_on_both_clients() -> None:
    ids = operation_ids()
    assert ids - NODE_SIDE == set(SDK_METHODS), "update SDK_METHODS and the SDK for spec changes"
    for methods in SDK_METHODS.values():
        for name in methods:
            assert callable(getattr(EvoSpikeNetAPIClient, name)), name
            assert callable(getattr(AsyncEvoSpikeNetAPIClient, name)), name
