"""Training loop, bits per byte, and the ``evospikenet train`` command (with a real upload)."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import httpx
import pytest
import torch
from model_helpers import SAMPLE_TEXT, tiny_model

from evospikenet.cli import main
from evospikenet.models.serving import load_model_from_files
from evospikenet.models.training import bits_per_byte, mean_nll, train_lm

SMALL_ARCH = [
    "--d-model", "32", "--n-heads", "2", "--blocks", "1", "--time-steps", "2",
    "--context-length", "32", "--vocab-size", "300", "--batch-size", "4", "--no-progress",
]  # fmt: skip


def test_training_learns_a_repeating_sequence() -> None:
    model = tiny_model(vocab_size=16, context_length=16)
    ids = torch.arange(16).repeat(40)
    before, count = mean_nll(model, ids, context_length=16)
    report = train_lm(model, ids, steps=60, batch_size=8, progress=False)
    after, _ = mean_nll(model, ids, context_length=16)
    assert report.steps == 60 and report.tokens == 60 * 8 * 16
    assert before / count > 2.0  # about ln 16 = 2.77 untrained
    assert after / count < 0.5 * before / count
    assert not model.training


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    ids = torch.arange(16).repeat(40)
    torch.manual_seed(0)
    straight = tiny_model(vocab_size=16, context_length=16)
    train_lm(straight, ids, steps=8, batch_size=4, progress=False)

    checkpoint = tmp_path / "work" / "checkpoint.pt"

    def killed_after_five(step: int, elapsed: float, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    torch.manual_seed(0)  # the same initial weights as the straight run
    with pytest.raises(KeyboardInterrupt):
        train_lm(
            tiny_model(vocab_size=16, context_length=16),
            ids,
            steps=8,
            batch_size=4,
            progress=False,
            checkpoint=checkpoint,
            checkpoint_every=0,
            on_step=killed_after_five,
        )
    assert checkpoint.exists() and not checkpoint.with_name("checkpoint.pt.tmp").exists()
    fresh = tiny_model(vocab_size=16, context_length=16)  # a new process: new weights
    second = train_lm(fresh, ids, steps=8, batch_size=4, progress=False, checkpoint=checkpoint)
    assert second.steps == 8
    for name, value in straight.state_dict().items():
        assert torch.allclose(value.float(), fresh.state_dict()[name].float(), atol=1e-5), name


def test_a_resumed_time_budget_counts_the_time_already_spent(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint.pt"
    ids = torch.randint(0, 64, (200,))
    first = train_lm(
        tiny_model(context_length=8), ids, seconds=0.4, progress=False, checkpoint=checkpoint
    )
    report = train_lm(
        tiny_model(context_length=8), ids, seconds=0.8, progress=False, checkpoint=checkpoint
    )
    # It starts at the first run's elapsed time and step, and stops once 0.8 s are spent in
    # all (one step may overrun on a busy machine, so there is no upper bound).
    assert report.seconds >= 0.8 and report.steps > first.steps


def test_time_budget_stops_the_run() -> None:
    model = tiny_model(context_length=8)
    report = train_lm(model, torch.randint(0, 64, (200,)), seconds=0.5, progress=False)
    assert 0.5 <= report.seconds < 5.0
    assert report.steps >= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "budget"), ({"seconds": -1}, "seconds"), ({"steps": 0}, "steps")],
)
def test_bad_budgets_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train_lm(tiny_model(), torch.randint(0, 64, (200,)), progress=False, **kwargs)


def test_too_short_text_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 33 tokens"):
        train_lm(tiny_model(), torch.randint(0, 64, (20,)), steps=1, progress=False)


def test_bits_per_byte_counts_every_token_once() -> None:
    model = tiny_model()
    ids = torch.randint(0, 64, (101,))
    total, count = mean_nll(model, ids, context_length=32)
    assert count == 100
    assert bits_per_byte(model, ids, 400, context_length=32) == pytest.approx(
        total / math.log(2) / 400
    )


@pytest.mark.parametrize("tokenizer", ["bytes", "chars"])
def test_train_command_writes_loadable_artifacts(tmp_path: Path, tokenizer: str) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text(SAMPLE_TEXT * 5, encoding="utf-8")
    out = tmp_path / "out"
    args = ["train", "--text", str(text), "--steps", "3", "--out", str(out), *SMALL_ARCH]
    code = main([*args, "--tokenizer", tokenizer])
    assert code == 0
    meta = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert meta["training_steps"] == 3 and meta["heldout_bits_per_byte"] > 0
    assert meta["tokenizer"].startswith({"bytes": "byte-level", "chars": "character"}[tokenizer])
    loaded = load_model_from_files(
        out / "config.json", out / "spiking_lm.pth", out / "spiking_lm_tokenizer.zip"
    )
    assert loaded.config["d_model"] == 32
    assert loaded.generate(["スパイク"], max_new_tokens=2, seed=0)[0].generated_tokens <= 2


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (None, [], "No such file"),
        ("", [], "empty"),
        (b"\xff\xfe\xfa", [], "not UTF-8"),
        ("tiny text", [], "too short"),
        (SAMPLE_TEXT, ["--minutes", "0"], "--minutes must be positive"),
        (SAMPLE_TEXT, ["--steps", "0"], "--steps must be positive"),
        (SAMPLE_TEXT, ["--d-model", "33"], "d_model"),
    ],
    ids=["missing", "empty", "binary", "too-short", "zero-minutes", "zero-steps", "bad-width"],
)
def test_train_command_reports_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes | None,
    extra: list[str],
    message: str,
) -> None:
    text = tmp_path / "corpus.txt"
    if isinstance(content, bytes):
        text.write_bytes(content)
    elif content is not None:
        text.write_text(content, encoding="utf-8")
    budget = [] if {"--minutes", "--steps"} & set(extra) else ["--steps", "1"]
    args = ["train", "--text", str(text), *budget, "--out", str(tmp_path / "o")]
    code = main([*args, *SMALL_ARCH, *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "spiking_lm.pth").exists()


def test_train_command_uploads_one_session_to_a_live_server(
    tmp_path: Path, make_server, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    live = make_server()
    monkeypatch.setenv("EVOSPIKENET_API_KEY", live.api_key)
    text = tmp_path / "corpus.txt"
    text.write_text(SAMPLE_TEXT * 5, encoding="utf-8")
    args = ["train", "--text", str(text), "--steps", "2", "--out", str(tmp_path / "out")]
    code = main([*args, *SMALL_ARCH, "--upload", "--base-url", live.base_url])
    assert code == 0
    listed = httpx.get(f"{live.base_url}/api/artifacts", headers=live.headers, timeout=10).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    newest_session = items[0]["session_id"]
    ours = {a["artifact_type"]: a for a in items if a["session_id"] == newest_session}
    assert set(ours) == {"config", "model", "tokenizer"}
    assert ours["model"]["name"] == "spiking_lm.pth"
    assert ours["tokenizer"]["name"] == "spiking_lm_tokenizer.zip"
    assert all(a.get("llm_type") == "SpikingEvoTextLM" for a in ours.values())


def test_upload_failure_keeps_the_files_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOSPIKENET_API_KEY", "k")
    text = tmp_path / "corpus.txt"
    text.write_text(SAMPLE_TEXT * 5, encoding="utf-8")
    out = tmp_path / "out"
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    args = ["train", "--text", str(text), "--steps", "1", "--out", str(out), *SMALL_ARCH]
    code = main([*args, "--upload", "--base-url", url])
    assert code == 1
    assert "upload failed" in capsys.readouterr().err
    assert (out / "spiking_lm.pth").is_file()
