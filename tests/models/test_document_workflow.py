"""The SDK document's section 7 workflow against a live server: build the document's config,
upload state_dict + config + tokenizer zip through the SDK, and generate from that model."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
import torch
from model_helpers import DOC_CONFIG, write_vocab_txt_zip

from evospikenet.models import SpikingEvoTextLM
from evospikenet.sdk import EvoSpikeNetAPIClient


def test_document_workflow_uploads_and_serves_the_documents_config(
    tmp_path: Path, make_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    live = make_server()
    monkeypatch.setenv("EVOSPIKENET_API_KEY", live.api_key)
    client = EvoSpikeNetAPIClient(base_url=live.base_url)
    assert client.wait_for_server(timeout=30)
    session_id = client.create_log_session("Complete training workflow example")["session_id"]

    model = SpikingEvoTextLM(**DOC_CONFIG)
    model_buffer = io.BytesIO()
    torch.save(model.state_dict(), model_buffer)
    model_buffer.seek(0)
    model_buffer.name = "spiking_lm.pth"
    client.upload_artifact(
        session_id, "model", model_buffer.name, model_buffer, llm_type="SpikingEvoTextLM"
    )
    config_buffer = io.BytesIO(json.dumps(DOC_CONFIG).encode("utf-8"))
    config_buffer.name = "config.json"
    client.upload_artifact(
        session_id, "config", config_buffer.name, config_buffer, llm_type="SpikingEvoTextLM"
    )
    # bert-base-uncased's save_pretrained layout (vocab.txt, 30522 entries), made here
    zip_path = write_vocab_txt_zip(tmp_path / "tokenizer.zip", 30522, subfolder="tokenizer_temp")
    with zip_path.open("rb") as handle:
        zip_buffer = io.BytesIO(handle.read())
    zip_buffer.name = "spiking_lm_tokenizer.zip"
    client.upload_artifact(
        session_id, "tokenizer", zip_buffer.name, zip_buffer, llm_type="SpikingEvoTextLM"
    )
    assert client.list_artifacts(artifact_type="model")[0]["name"] == "spiking_lm.pth"

    deadline = time.monotonic() + 60
    while True:  # the server loads new uploads in the background
        result = client.generate("hello world", max_length=5, seed=3)
        if result["model_session_id"] == session_id or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert result["model_session_id"] == session_id
    assert result["llm_type"] == "SpikingEvoTextLM"
    assert result["prompt"] == "hello world"
    assert 0 < result["generated_tokens"] <= 5
    assert isinstance(result["generated_text"], str)
    again = client.generate("hello world", max_length=5, seed=3)
    assert again["generated_text"] == result["generated_text"]
