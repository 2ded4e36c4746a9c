"""The language node's model comes through the SDK from a real server: the model the server
serves (``/api/info`` ``model.artifact_ids``), in a content-addressed cache."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import TEST_KEY, LiveServer, free_port
from sim_cluster import wait_until
from sim_model import make_tiny_model

from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet.simulation.language import LanguageWorker
from evospikenet.simulation.model_source import (
    KINDS,
    ApiModelSource,
    ContentCache,
    ModelSourceError,
)

pytest.importorskip("torch")

FILES = {
    "config": "config.json",
    "model": "spiking_lm.pth",
    "tokenizer": "spiking_lm_tokenizer.zip",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("model-source") / "data", api_key=TEST_KEY, env={})
    server.start()
    try:
        served_ids(server)  # the bundled default is loaded
        yield server
    finally:
        server.close()


def _client(live: LiveServer) -> EvoSpikeNetAPIClient:
    return EvoSpikeNetAPIClient(live.base_url, api_key=TEST_KEY, progress=False)


def _info(live: LiveServer) -> dict[str, Any]:
    with _client(live) as client:
        info = client.get_server_info()
        model = info.get("model")
        ids = None if model is None else tuple(model["artifact_ids"][kind] for kind in KINDS)
        return {"ids": ids, "error": info.get("model_error"), "model": model}


def served_ids(live: LiveServer, changed_from: Any = None) -> tuple[str, str, str]:
    """The served artifact ids, once the server serves something other than ``changed_from``."""

    def ready() -> tuple[str, str, str] | None:
        ids = _info(live)["ids"]
        return ids if ids is not None and ids != changed_from else None

    return wait_until(ready, 90, 0.2)


def upload(live: LiveServer, folder: Path, **replace: bytes) -> str:
    """Upload ``folder``'s three model files as one session (``replace`` swaps a file's bytes)."""
    with _client(live) as client:
        session = str(client.create_log_session("model source test")["session_id"])
        for kind, name in FILES.items():
            path = folder / name
            if kind in replace:
                path = folder / f"replaced-{name}"
                path.write_bytes(replace[kind])
            client.upload_artifact(session, kind, name, path, llm_type="SpikingEvoTextLM")
    return session


def test_fetch_follows_the_server_and_caches_by_sha256(live: LiveServer, tmp_path: Path) -> None:
    ids = served_ids(live)
    with ApiModelSource(live.base_url, TEST_KEY, tmp_path / "cache") as source:
        files = source.fetch()
        assert files is not None and files.artifact_ids == ids
        assert source.downloaded == list(ids)
        assert source.fetch(unless=ids) is None  # unchanged: nothing to load
    paths = (files.config, files.weights, files.tokenizer)
    for path, artifact_id in zip(paths, ids, strict=True):
        assert path.parent == tmp_path / "cache"
        assert path.name == hashlib.sha256(path.read_bytes()).hexdigest()
        with _client(live) as client:
            assert client.get_artifact_metadata(artifact_id)["sha256"] == path.name
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(p.name for p in paths)
    # a new source (a restarted node) downloads nothing for an unchanged model
    with ApiModelSource(live.base_url, TEST_KEY, tmp_path / "cache") as again:
        assert again.fetch() == files and again.downloaded == []
    # a damaged cache file is noticed and fetched again, and nothing else
    files.weights.write_bytes(b"bit rot")
    with ApiModelSource(live.base_url, TEST_KEY, tmp_path / "cache") as repair:
        repaired = repair.fetch()
        assert repaired == files and repair.downloaded == [ids[1]]
    assert hashlib.sha256(files.weights.read_bytes()).hexdigest() == files.weights.name


def test_a_refused_key_is_a_permanent_error(live: LiveServer, tmp_path: Path) -> None:
    source = ApiModelSource(live.base_url, "not-the-key", tmp_path)
    with source, pytest.raises(ModelSourceError) as caught:
        source.fetch()
    assert caught.value.permanent
    assert "cannot ask the server which model it serves: 401" in str(caught.value)
    assert "AUTH_002" in str(caught.value)


def test_an_unreachable_server_is_worth_a_retry(tmp_path: Path) -> None:
    source = ApiModelSource(f"http://127.0.0.1:{free_port()}", TEST_KEY, tmp_path, max_retries=0)
    with source, pytest.raises(ModelSourceError) as caught:
        source.fetch()
    assert not caught.value.permanent


def test_worker_swaps_to_a_new_model_and_stays_on_the_served_one_when_an_upload_is_corrupt(
    live: LiveServer, tmp_path: Path
) -> None:
    worker = LanguageWorker(
        live.base_url, TEST_KEY, tmp_path / "cache", max_new_tokens=4, refresh_seconds=0.5
    )
    stop = threading.Event()
    try:
        worker.prepare(stop)
        first = served_ids(live)
        assert worker.load_error is None and worker.model_artifact_ids == first
        # a good upload: the server loads it, and the node follows
        good = upload(live, make_tiny_model(tmp_path / "good", seed=3))
        second = served_ids(live, changed_from=first)
        assert _info(live)["model"]["session_id"] == good
        wait_until(lambda: worker.model_artifact_ids == second, 60, 0.2)
        assert worker.model_origin == f"API session {good} (model {second[1]})"
        # a corrupt newer upload: the server refuses it and keeps serving the good model ...
        bad = upload(live, tmp_path / "good", model=b"not a torch state dict")
        wait_until(lambda: bad in (_info(live)["error"] or ""), 90, 0.2)
        assert _info(live)["ids"] == second
        # ... and so does the node, which never downloads the corrupt weights
        stop.wait(2.0)  # several refresh periods
        assert worker.model_artifact_ids == second and worker.load_error is None
        assert worker.model_origin == f"API session {good} (model {second[1]})"
        corrupt = hashlib.sha256(b"not a torch state dict").hexdigest()
        assert not (tmp_path / "cache" / corrupt).exists()
        outcome = worker.process([{"text": "still answering"}])[0]
        assert "error" not in outcome and f"model: API session {good}" in outcome["summary"]
        # a node started now loads the served model too, not the newest (corrupt) upload
        fresh = LanguageWorker(live.base_url, TEST_KEY, tmp_path / "cache2", refresh_seconds=0)
        fresh.prepare(stop)
        assert fresh.load_error is None and fresh.model_artifact_ids == second
    finally:
        stop.set()


def test_a_server_without_a_model_leaves_the_node_on_the_bundled_default(
    make_server: Any, tmp_path: Path
) -> None:
    bare = make_server(EVOSPIKENET_LOAD_MODELS="false")
    with ApiModelSource(bare.base_url, TEST_KEY, tmp_path) as source:
        served = source.served()
        assert served.artifact_ids is None and "disabled" in (served.error or "")
        assert source.fetch() is None
    worker = LanguageWorker(bare.base_url, TEST_KEY, tmp_path, refresh_seconds=0)
    worker.prepare(threading.Event())
    assert worker.load_error is None and worker.model_artifact_ids is None
    assert worker.model_origin.startswith("bundled default (the server serves no model: ")


def test_cache_stores_only_verified_bytes_and_sweeps_killed_downloads(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    data = b"weights"
    digest = hashlib.sha256(data).hexdigest()
    old, fresh = tmp_path / ".part-1-old", tmp_path / ".part-2-fresh"
    old.write_bytes(b"torn")
    fresh.write_bytes(b"in progress")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    with pytest.raises(ModelSourceError, match="sha256"):
        cache.put(digest, lambda temp: temp.write_bytes(b"something else"))
    assert cache.get(digest) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name]  # no torn file left
    path = cache.put(digest, lambda temp: temp.write_bytes(data))
    assert path == tmp_path / digest and cache.get(digest) == path
