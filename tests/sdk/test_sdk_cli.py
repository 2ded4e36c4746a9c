"""The client commands of ``evospikenet`` against the real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from faulty_server import FaultyServer, json_reply

from evospikenet.cli import main


@pytest.fixture(autouse=True)
def _point_at_server(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOSPIKENET_API_URL", server.base_url)
    monkeypatch.setenv("EVOSPIKENET_API_KEY", server.api_key)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.strip(), err.strip()


def test_health_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "health")
    assert code == 0 and "database:" in out
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["active_nodes"] == 0


def test_session_upload_list_download(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, session_id, _ = run(capsys, "sessions", "create", "cli session")
    assert code == 0 and session_id.startswith("ses_")
    folder = tmp_path / "tok"
    folder.mkdir()
    (folder / "tokenizer.json").write_text("{}")
    code, out, _ = run(
        capsys, "artifacts", "upload", session_id, "tokenizer", str(folder), "--json"
    )
    artifact = json.loads(out)
    assert code == 0 and artifact["name"] == "tok.zip"
    code, out, _ = run(capsys, "artifacts", "list", "--session", session_id, "--json")
    assert [a["artifact_id"] for a in json.loads(out)] == [artifact["artifact_id"]]
    code, out, _ = run(
        capsys, "artifacts", "download", artifact["artifact_id"], str(tmp_path / "out"), "--extract"
    )
    assert code == 0 and (tmp_path / "out" / "tokenizer.json").read_text() == "{}"
    code, out, _ = run(capsys, "sessions", "list", "--limit", "1")
    assert code == 0 and out.startswith(session_id)


def test_prompt_submit_and_wait(capsys: pytest.CaptureFixture[str]) -> None:
    image = Path(__file__).resolve().parents[2] / "examples" / "dummy_image.png"
    code, prompt_id, _ = run(capsys, "prompt", "submit", "what is this?", "--image", str(image))
    assert code == 0 and prompt_id.startswith("prm_")
    code, _, err = run(capsys, "prompt", "wait", prompt_id, "--timeout", "0.5")
    assert code == 1 and "no result" in err


def test_errors_have_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "artifacts", "download", "art_missing", str(tmp_path / "x"))
    assert code == 3 and "ART_001" in err and not (tmp_path / "x").exists()
    code, _, err = run(capsys, "artifacts", "upload", "ses_x", "Bad Type", str(tmp_path))
    assert code == 2 and "artifact_type" in err
    code, _, err = run(capsys, "health", "--url", "http://127.0.0.1:1")
    assert code == 4 and "Could not connect" in err


def test_sessions_list_survives_a_server_without_artifact_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = {"session_id": "ses_1", "description": "d", "created_at": "2026-11-28T00:00:00Z"}
    with FaultyServer() as other:
        other.script(
            json_reply(200, [{**session, "artifact_count": None}]), json_reply(200, [session])
        )
        code, out, err = run(capsys, "sessions", "list", "--url", other.base_url)
        assert code == 0 and out.startswith("ses_1") and "  -  d" in out, err
        # Left out (the original server's answer): only session_id identifies a session.
        code, out, err = run(capsys, "sessions", "list", "--url", other.base_url)
        assert code == 0 and out.startswith("ses_1") and "  -  d" in out, err


def test_health_of_a_lean_server_that_sends_only_its_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FaultyServer() as other:
        other.script(json_reply(200, {"status": "healthy"}))
        code, out, err = run(capsys, "health", "--url", other.base_url)
    assert code == 0 and out.endswith("healthy (version ?)"), err


def test_status_lists_each_node(capsys: pytest.CaptureFixture[str]) -> None:
    node = {
        "id": "lang-0",
        "rank": 2,
        "type": "language",
        "status": "idle",
        "last_heartbeat": "2026-12-03T07:00:00Z",
        "prompts_done": 4,
        "spike_rate": 0.1,
        "host": "127.0.0.1",
    }
    status = {
        "nodes": [node],
        "active_nodes": 1,
        "queue_depth": 0,
        "running": 0,
        "last_prompt_status": None,
        "last_prompt_id": None,
    }
    with FaultyServer() as other:
        other.script(json_reply(200, status))
        code, out, err = run(capsys, "status", "--url", other.base_url)
    assert code == 0 and "rank 2 language lang-0: idle" in out, err
