"""Every SDK method against the real server (``evospikenet serve``) over loopback."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from evospikenet.sdk import (
    Artifact,
    AuthenticationError,
    EvoSpikeNetAPIClient,
    FailedGeneration,
    GenerateResult,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRICKY = b"head\r\n--+++\r\nmiddle\r\n--+++--\r\n" + bytes(range(256))


@pytest.fixture
def client(server: Any, monkeypatch: pytest.MonkeyPatch) -> EvoSpikeNetAPIClient:
    monkeypatch.setenv("EVOSPIKENET_API_URL", server.base_url)
    monkeypatch.setenv("EVOSPIKENET_API_KEY", server.api_key)
    with EvoSpikeNetAPIClient(progress=False) as sdk:
        yield sdk


@pytest.fixture
def session_id(client: EvoSpikeNetAPIClient) -> str:
    return client.create_log_session("sdk live test")["session_id"]


def test_environment_configures_the_client(client: EvoSpikeNetAPIClient, server: Any) -> None:
    assert client.base_url == server.base_url
    explicit = EvoSpikeNetAPIClient(base_url="http://127.0.0.1:1")
    assert explicit.base_url == "http://127.0.0.1:1"  # an explicit argument wins


def test_health_info_and_wait(client: EvoSpikeNetAPIClient) -> None:
    assert client.is_server_healthy() is True
    assert client.wait_for_server(timeout=5) is True
    health = client.get_health()
    assert health.status in ("healthy", "degraded")
    assert set(health.components) >= {"database", "blob_store", "model", "simulation"}
    info = client.get_server_info()
    assert info.limits.max_wait_seconds and info.limits.max_wait_seconds > 0
    assert info["api_version"] == info.api_version


def test_wrong_or_missing_key_is_an_http_error(server: Any) -> None:
    for key in ("wrong-key", None):
        sdk = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=key, max_retries=0)
        if key is None:
            sdk = sdk.with_options(api_key=None)
        with pytest.raises(requests.exceptions.HTTPError) as info:
            sdk.get_server_info()
        assert isinstance(info.value, AuthenticationError)
        assert info.value.code in ("AUTH_001", "AUTH_002")
        assert info.value.request_id
    assert EvoSpikeNetAPIClient(base_url=server.base_url, api_key="wrong").is_server_healthy()


def test_sessions(client: EvoSpikeNetAPIClient) -> None:
    created = [client.create_log_session(f"session {n}") for n in range(3)]
    assert created[0]["session_id"] != created[1]["session_id"]
    fetched = client.get_session(created[1].session_id)
    assert fetched.description == "session 1" and fetched.artifact_count == 0
    newest = client.get_all_sessions(limit=3)
    assert [s.session_id for s in newest] == [s.session_id for s in reversed(created)]
    paged = list(client.iter_sessions(page_size=1))
    assert {s.session_id for s in created} <= {s.session_id for s in paged}
    with pytest.raises(NotFoundError) as info:
        client.get_session("ses_doesnotexist")
    assert info.value.code == "SES_001"


def test_upload_forms_round_trip(
    client: EvoSpikeNetAPIClient, session_id: str, tmp_path: Path
) -> None:
    buffer = io.BytesIO(TRICKY)
    buffer.name = "weights.pth"
    from_buffer = client.upload_artifact(
        session_id, "model", "weights.pth", buffer, llm_type="SpikingEvoTextLM"
    )
    assert from_buffer["sha256"] == hashlib.sha256(TRICKY).hexdigest()
    assert from_buffer.size == len(TRICKY) and from_buffer.llm_type == "SpikingEvoTextLM"

    from_bytes = client.upload_artifact(session_id, "log", "raw.bin", TRICKY)
    path = tmp_path / "data.bin"
    path.write_bytes(TRICKY * 3)
    from_path = client.upload_artifact(session_id, "dataset", "data.bin", path)
    with path.open("rb") as handle:
        handle.read(10)  # a file object is read from its current position
        from_handle = client.upload_artifact(session_id, "dataset", "tail.bin", handle)

    assert client.get_artifact(from_bytes.artifact_id) == TRICKY
    assert client.get_artifact(from_path.artifact_id) == TRICKY * 3
    assert client.get_artifact(from_handle.artifact_id) == (TRICKY * 3)[10:]
    target = client.download_artifact(from_buffer["artifact_id"], tmp_path / "out.pth")
    assert target.read_bytes() == TRICKY
    metadata = client.get_artifact_metadata(from_buffer.artifact_id)
    assert metadata["name"] == "weights.pth"


def test_folder_upload_is_zipped_and_extracts_back(
    client: EvoSpikeNetAPIClient, session_id: str, tmp_path: Path
) -> None:
    folder = tmp_path / "tokenizer_temp"
    (folder / "nested").mkdir(parents=True)
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {"a": 0}}}))
    (folder / "tokenizer_config.json").write_text("{}")
    (folder / "nested" / "extra.txt").write_text("x")
    artifact = client.upload_artifact(
        session_id, "tokenizer", "spiking_lm_tokenizer.zip", folder, llm_type="SpikingEvoTextLM"
    )
    with zipfile.ZipFile(io.BytesIO(client.get_artifact(artifact.artifact_id))) as archive:
        assert sorted(archive.namelist()) == [
            "nested/extra.txt",
            "tokenizer.json",
            "tokenizer_config.json",
        ]
    again = client.upload_artifact(session_id, "tokenizer", "again.zip", folder)
    assert again.sha256 == artifact.sha256  # zipping is deterministic
    out = client.download_artifact(artifact.artifact_id, tmp_path / "restored", extract=True)
    assert (out / "nested" / "extra.txt").read_text() == "x"
    assert (out / "tokenizer.json").read_text() == (folder / "tokenizer.json").read_text()


def test_list_artifacts_newest_first_with_filters_and_pages(
    client: EvoSpikeNetAPIClient, session_id: str
) -> None:
    uploaded = [
        client.upload_artifact(session_id, "checkpoint", f"ckpt-{n}.pth", f"step {n}".encode())
        for n in range(5)
    ]
    listed = client.list_artifacts("checkpoint", session_id=session_id)
    assert [a["artifact_id"] for a in listed] == [a.artifact_id for a in reversed(uploaded)]
    assert isinstance(listed[0], Artifact) and listed[0].name == "ckpt-4.pth"
    assert [a.name for a in client.list_artifacts(session_id=session_id, limit=2)] == [
        "ckpt-4.pth",
        "ckpt-3.pth",
    ]
    paged = list(client.iter_artifacts(session_id=session_id, page_size=2))
    assert [a.artifact_id for a in paged] == [a["artifact_id"] for a in listed]
    assert client.list_artifacts(name="ckpt-2.pth", session_id=session_id)[0].artifact_id == (
        uploaded[2].artifact_id
    )
    by_session = client.get_session_artifacts(session_id)
    assert [a.artifact_id for a in by_session] == [a.artifact_id for a in listed]
    assert client.get_session(session_id).artifact_count == 5
    models = client.list_artifacts(artifact_type="model")
    assert all(a.artifact_type == "model" for a in models)


def test_bad_arguments_raise_value_error_and_send_nothing(
    client: EvoSpikeNetAPIClient, session_id: str, tmp_path: Path
) -> None:
    client.reset_stats()
    bad_calls = [
        lambda: client.upload_artifact(session_id, "Model!", "x", b"x"),
        lambda: client.upload_artifact(session_id, "model", "", b"x"),
        lambda: client.upload_artifact(session_id, "model", "x", tmp_path / "missing.bin"),
        lambda: client.upload_artifact(session_id, "model", "x", io.StringIO("text")),
        lambda: client.upload_artifact("../x", "model", "x", b"x"),
        lambda: client.submit_prompt(),
        lambda: client.submit_prompt(image_path=tmp_path / "missing.png"),
        lambda: client.generate("", max_length=5),
        lambda: client.generate("hi", max_length=0),
        lambda: client.list_artifacts(limit=0),
        lambda: client.poll_for_result("prm_x", timeout=-1),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError):
            call()
    assert client.get_stats()["requests"] == 0


def test_server_side_validation_is_a_value_error_too(client: EvoSpikeNetAPIClient) -> None:
    with pytest.raises(ValueError) as info:
        client.generate("hello", max_length=100_000)
    assert isinstance(info.value, requests.exceptions.HTTPError)
    assert info.value.code == "VAL_001"  # type: ignore[attr-defined]


def test_generate_and_batch_generate(client: EvoSpikeNetAPIClient) -> None:
    fast = client.with_options(max_retries=0)  # no waiting on Retry-After of MODEL_002
    results = fast.batch_generate(["", "AIとは?"], max_length=5)
    assert len(results) == 2
    assert isinstance(results[0], FailedGeneration) and "generated_text" not in results[0]
    assert results[0].get("generated_text", "エラー") == "エラー" and "prompt" in results[0].error
    second = results[1]
    if client.get_server_info().model is None:
        assert isinstance(second, FailedGeneration) and second.code == "MODEL_002"
        with pytest.raises(ServiceUnavailableError):
            fast.generate("AIとは?")
    else:
        assert isinstance(second, GenerateResult)
        assert second["generated_text"] == second.generated_text
        assert second.generated_tokens is not None and second.generated_tokens <= 5


def test_with_error_handling(client: EvoSpikeNetAPIClient) -> None:
    slept: list[float] = []
    client._sleep = slept.append
    calls: list[int] = []

    def failing_then_ok(value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            client.with_options(base_url="http://127.0.0.1:1", max_retries=0).get_health()
        return value * 2

    assert client.with_error_handling(failing_then_ok, 3, 21) == 42
    assert slept == [1.0, 2.0]
    slept.clear()
    calls.clear()

    def always_down() -> None:
        client.with_options(base_url="http://127.0.0.1:1", max_retries=0).get_health()

    assert client.with_error_handling(always_down, retries=4) is None
    assert slept == [1.0, 2.0, 4.0]
    assert client.with_error_handling(client.get_session, 3, "ses_missing") is None  # 404: final
    assert slept == [1.0, 2.0, 4.0]  # no waits added: a 404 ends the attempts at once


def test_submit_prompt_status_and_poll_timeout(client: EvoSpikeNetAPIClient) -> None:
    accepted = client.submit_prompt(
        prompt="この画像に写っているものは何ですか？",
        image_path=str(EXAMPLES / "dummy_image.png"),
        audio_path=EXAMPLES / "dummy_audio.wav",
        priority=7,
    )
    prompt_id = accepted.get("prompt_id")
    assert prompt_id and accepted.state == "queued"
    result = client.get_simulation_result(prompt_id)
    assert result.state in ("queued", "running") and result.response is None
    status = client.get_simulation_status()
    assert status.active_nodes == 0 and status["last_prompt_id"] == prompt_id
    assert client.poll_for_result(prompt_id=prompt_id, timeout=1) is None
    with pytest.raises(NotFoundError) as info:
        client.poll_for_result("prm_unknown", timeout=1)
    assert info.value.code == "PROMPT_001"


def test_remote_log_to_an_unconfigured_host_is_refused(client: EvoSpikeNetAPIClient) -> None:
    with pytest.raises(PermissionDeniedError) as info:
        client.get_remote_log(
            user="ubuntu",
            ip="192.168.1.101",
            key_path="~/.ssh/id_rsa",
            log_file_path="/tmp/sim_rank_1.log",
        )
    assert info.value.code == "SSH_001"
    assert isinstance(info.value, requests.exceptions.HTTPError)


def test_stats_count_requests_and_latency(client: EvoSpikeNetAPIClient) -> None:
    client.reset_stats()
    for _ in range(5):
        client.get_health()
    stats = client.get_stats()
    assert stats.requests == 5 and stats.errors == 0 and stats.retries == 0
    latency = stats.latency_ms
    assert latency["count"] == 5 and 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert stats["status_codes"] == {"200": 5}
