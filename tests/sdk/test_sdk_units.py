"""The SDK's parts on their own: configuration, retry policy, result types, upload sources,
zipping, progress and logging."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evospikenet.sdk import (
    Artifact,
    EvoSpikeNetAPIClient,
    GenerateResult,
    PromptResult,
    Session,
    Timeout,
)
from evospikenet.sdk._artifacts import UploadBody, UploadStream, prepare_upload, zip_directory
from evospikenet.sdk._config import ClientConfig
from evospikenet.sdk._retry import RetryPolicy, parse_retry_after


def resolve(environ: dict[str, str], **kwargs: object) -> ClientConfig:
    args: dict[str, object] = {
        "base_url": None,
        "api_key": None,
        "timeout": None,
        "transfer_timeout": None,
        "max_retries": 2,
        "default_headers": None,
        "progress": None,
        "verify": True,
    }
    args.update(kwargs)
    return ClientConfig.resolve(environ=environ, **args)  # type: ignore[arg-type]


def test_configuration_from_environment_and_arguments() -> None:
    assert resolve({}).base_url == "http://localhost:8000"
    env = {"EVOSPIKENET_API_URL": "http://api:8000/", "EVOSPIKENET_API_KEY": "k-env"}
    config = resolve(env)
    assert (config.base_url, config.api_key) == ("http://api:8000", "k-env")
    explicit = resolve(env, base_url="http://127.0.0.1:9000", api_key="k-arg")
    assert (explicit.base_url, explicit.api_key) == ("http://127.0.0.1:9000", "k-arg")
    assert "k-env" not in repr(config) and "k-arg" not in repr(explicit)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "localhost:8000"}, "base_url"),
        ({"base_url": "http://user:pw@host"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"api_key": "bad\nkey"}, "api_key"),
        ({"default_headers": {"X-API-Key": "k"}}, "default_headers"),
    ],
)
def test_bad_configuration_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        resolve({}, **kwargs)


def test_timeouts() -> None:
    assert Timeout.of(30) == Timeout(connect=5.0, read=30.0, write=30.0, pool=30.0)
    assert Timeout.of(2).connect == 2.0
    assert Timeout.of(None).read is None
    config = resolve({})
    assert config.timeout.connect == 5.0 and config.transfer_timeout.read == 300.0


def test_backoff_is_jittered_capped_and_yields_to_retry_after() -> None:
    policy = RetryPolicy(max_retries=10, backoff_initial=0.5, backoff_max=8.0, rng=random.Random(1))
    for index in range(10):
        ceiling = min(8.0, 0.5 * 2**index)
        delays = [policy.delay(index) for _ in range(200)]
        assert all(d is not None and 0 <= d <= ceiling for d in delays)
        assert max(d for d in delays if d is not None) > ceiling * 0.8  # spread, not fixed
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=61.0) is None  # beyond retry_after_max: give up


def test_which_requests_and_answers_are_retried() -> None:
    policy = RetryPolicy()
    assert policy.may_retry("GET", False) and policy.may_retry("POST", True)
    assert not policy.may_retry("POST", False)
    for status in (408, 429, 500, 502, 503, 504):
        assert policy.should_retry_status(status, {})
    for status in (400, 401, 403, 404, 409, 413, 422, 501):
        assert not policy.should_retry_status(status, {})
    assert not policy.should_retry_status(503, {"X-Should-Retry": "false"})


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert (
        parse_retry_after(
            {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=lambda: 1445412470.0
        )
        == 10.0
    )
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


def test_results_are_read_only_mappings_with_typed_attributes_and_pickle() -> None:
    data = {
        "generated_text": "こんにちは",
        "prompt": "p",
        "llm_type": "SpikingEvoTextLM",
        "model_session_id": "ses_1",
        "prompt_tokens": 1,
        "generated_tokens": 3,
        "prompt_truncated": False,
        "from_a_newer_server": [1, 2],
    }
    result = GenerateResult.from_dict(data)
    assert result["generated_text"] == result.generated_text == "こんにちは"
    assert result.get("missing", "x") == "x" and result.generated_tokens == 3
    assert "prompt" in result and "missing" not in result and set(result) == set(data)
    assert result == data and dict(result) == data  # a newer server's field is kept
    assert json.loads(json.dumps(dict(result))) == data
    session = Session.from_dict(
        {
            "session_id": "ses_1",
            "description": "d",
            "created_at": "2026-11-28T02:33:34.609615Z",
            "artifact_count": 0,
        }
    )
    assert session.created_at.year == 2026 and session["created_at"].startswith("2026-11-28T")
    session.request_id = "req-1"
    clone = pickle.loads(pickle.dumps(session))
    assert clone == session and type(clone) is Session and clone.request_id == "req-1"
    pending = {
        "prompt_id": "prm_1",
        "state": "running",
        "response": None,
        "timestamp": None,
        "error": None,
        "created_at": "2026-11-28T00:00:00Z",
        "started_at": None,
        "attempts": 1,
    }
    assert not PromptResult.from_dict(pending).is_terminal
    assert PromptResult.from_dict({**pending, "state": "failed", "error": "x"}).is_terminal
    with pytest.raises(KeyError, match="artifact_id"):
        Artifact.from_dict({"name": "x"})


def test_upload_sources(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    digest = hashlib.sha256(data).hexdigest()
    buffer = io.BytesIO(b"skip" + data)
    buffer.seek(4)
    source = prepare_upload(buffer, "fallback.bin")
    assert (source.size, source.filename) == (len(data), "fallback.bin")
    body = UploadBody(source)
    assert body.read() == data and body.seek(0) == 0 and body.read(10) == data[:10]
    assert not buffer.closed  # the caller's file stays open

    class Pipe(io.RawIOBase):  # a non-seekable stream
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self.inner.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    piped = prepare_upload(Pipe(), "pipe.bin")
    assert piped.size == len(data) and UploadBody(piped).read() == data
    piped.close()

    path = tmp_path / "named.bin"
    path.write_bytes(data)
    from_path = prepare_upload(path, "ignored")
    assert (from_path.filename, from_path.size) == ("named.bin", len(data))
    stream = UploadStream(
        [
            ("file", ("n.bin", None, "application/octet-stream")),
            ("sha256", (None, None, "text/plain")),
        ],
        from_path,
        None,
        "b0",
    )
    sent = b"".join(stream)
    assert sent == b"".join(stream)  # a retry sends identical bytes
    assert len(sent) == stream.length and sent.endswith(f"\r\n{digest}\r\n--b0--\r\n".encode())
    assert sent.index(data) < sent.index(b'name="sha256"')  # the digest follows the file
    from_path.close()
    with pytest.raises(ValueError, match="binary"):
        prepare_upload(io.StringIO("text"), "x")
    with path.open("r") as text_handle, pytest.raises(ValueError, match="binary"):
        prepare_upload(text_handle, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="file"):
        prepare_upload(12345, "x")  # type: ignore[arg-type]


def test_zipping_a_folder_is_deterministic_and_complete(tmp_path: Path) -> None:
    folder = tmp_path / "tok"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "tokenizer.json").write_text("{}")
    (folder / "a" / "b" / "deep.txt").write_text("deep")
    (folder / "link").symlink_to(folder / "tokenizer.json")
    outputs = []
    for _ in range(2):
        out = io.BytesIO()
        zip_directory(folder, out)
        outputs.append(out.getvalue())
        os.utime(folder / "tokenizer.json", (1, 1))  # mtimes do not matter
    assert outputs[0] == outputs[1]
    with zipfile.ZipFile(io.BytesIO(outputs[0])) as archive:
        assert archive.namelist() == ["tokenizer.json", "a/b/deep.txt"]
        assert archive.read("a/b/deep.txt") == b"deep"


def test_progress_bar_is_shown_when_asked(tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    from evospikenet.sdk._progress import open_progress

    stream = io.StringIO()
    with open_progress(True, 100, "upload x") as bar:
        bar.fp = stream  # type: ignore[attr-defined]
        bar.update(100)
    assert type(bar).__name__ == "tqdm" or "tqdm" in type(bar).__module__
    with open_progress(None, 100, "quiet") as quiet:  # no TTY under pytest: no bar
        assert type(quiet).__name__ == "_NoProgress"


def test_debug_logging_from_the_environment_redacts_the_key() -> None:
    code = (
        "from evospikenet.sdk import EvoSpikeNetAPIClient\n"
        "c = EvoSpikeNetAPIClient(base_url='http://127.0.0.1:1', api_key='sk-secret-zz', "
        "max_retries=0)\n"
        "print(c.is_server_healthy())\n"
    )
    env = {**os.environ, "EVOSPIKENET_LOG": "debug"}  # the editable install suffices
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False"
    assert "DEBUG evospikenet.sdk: GET /api/health failed" in done.stderr
    assert "sk-secret-zz" not in done.stderr


def test_client_repr_and_logger_name() -> None:
    client = EvoSpikeNetAPIClient(base_url="http://127.0.0.1:1", api_key="sk-hidden")
    assert "sk-hidden" not in repr(client) and "api_key=set" in repr(client)
    assert logging.getLogger("evospikenet.sdk").parent is logging.getLogger("evospikenet")


def test_poll_plan_long_polls_until_the_deadline_and_pauses_only_for_early_answers() -> None:
    from evospikenet.sdk._polling import PollPlan

    now = [100.0]
    plan = PollPlan(timeout=70, interval=5, max_wait=30, clock=lambda: now[0])
    assert plan.next_wait() == 30  # bounded by the server's limit
    started = now[0]
    now[0] += 30  # the server held the request the whole wait
    assert plan.pause_after(started, 30) == 0.0
    now[0] += 30
    assert plan.next_wait() == 10  # bounded by the deadline
    started = now[0]
    now[0] += 0.01  # answered at once: a server that cannot long-poll
    assert plan.pause_after(started, 10) == 5
    now[0] = 170.5
    assert plan.next_wait() is None and plan.pause_after(now[0] - 0.01, 10) is None
    eager = PollPlan(timeout=1, interval=0, max_wait=0, clock=lambda: 0.0)
    assert eager.next_wait() == 0 and eager.pause_after(0.0, 0) == 0.05  # never a busy loop


def test_a_key_sent_in_clear_beyond_this_machine_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="evospikenet")
    EvoSpikeNetAPIClient(base_url="http://127.0.0.1:8000", api_key="k")
    EvoSpikeNetAPIClient(base_url="https://api.example:8000", api_key="k")
    EvoSpikeNetAPIClient(base_url="http://api:8000")  # no key: nothing to leak
    assert "unencrypted" not in caplog.text
    EvoSpikeNetAPIClient(base_url="http://api:8000", api_key="sk-clear")
    assert "unencrypted to api" in caplog.text and "sk-clear" not in caplog.text
