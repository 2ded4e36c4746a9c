"""Uploads and downloads stream: Python memory stays flat while 64 MiB go through."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path
from typing import Any

from evospikenet.sdk import EvoSpikeNetAPIClient

SIZE = 64 * 1024 * 1024
LIMIT = 12 * 1024 * 1024  # well under the file: nothing holds it whole


def test_upload_and_download_do_not_buffer_the_file(server: Any, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    with source.open("wb") as out:
        for n in range(SIZE // len(block)):
            piece = block[n:] + block[:n]
            out.write(piece)
            digest.update(piece)
    client = EvoSpikeNetAPIClient(base_url=server.base_url, api_key=server.api_key, progress=False)
    session_id = client.create_log_session("streaming").session_id

    tracemalloc.start()
    artifact = client.upload_artifact(session_id, "dataset", "big.bin", source)
    _, upload_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    target = client.download_artifact(artifact.artifact_id, tmp_path / "copy.bin")
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert artifact.sha256 == digest.hexdigest() and artifact.size == SIZE
    assert target.stat().st_size == SIZE
    assert upload_peak < LIMIT, f"upload peak {upload_peak / 2**20:.1f} MiB"
    assert download_peak < LIMIT, f"download peak {download_peak / 2**20:.1f} MiB"
