"""Downloads never destroy user data: extraction refuses a non-empty folder, stops zip bombs
with nothing partial left, and the leftovers of a SIGKILLed download are swept (real files)."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from faulty_server import Action, FaultyServer

from evospikenet.sdk import EvoSpikeNetAPIClient
from evospikenet.sdk._artifacts import STALE_GRACE_SECONDS, ExtractLimits, extract_zip


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def serve(data: bytes) -> Action:
    headers = {"ETag": f'"{hashlib.sha256(data).hexdigest()}"', "Accept-Ranges": "bytes"}
    return Action(200, data, {"Content-Type": "application/octet-stream", **headers})


def client_for(server: FaultyServer) -> EvoSpikeNetAPIClient:
    return EvoSpikeNetAPIClient(base_url=server.base_url, progress=False)


def test_extract_into_a_non_empty_folder_refuses_and_keeps_its_files(tmp_path: Path) -> None:
    dest = tmp_path / "work"
    dest.mkdir()
    (dest / "thesis.tex").write_text("three years of work")
    (dest / "tokenizer.json").write_text("mine")
    with FaultyServer() as server:
        server.script(serve(zipped({"tokenizer.json": b"theirs"})))
        with pytest.raises(ValueError, match="not empty"):
            client_for(server).download_artifact("art_1", dest, extract=True)
    assert (dest / "thesis.tex").read_text() == "three years of work"
    assert (dest / "tokenizer.json").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_extract_into_an_existing_empty_folder_works(tmp_path: Path) -> None:
    dest = tmp_path / "tok"
    dest.mkdir()
    with FaultyServer() as server:
        server.script(serve(zipped({"a.txt": b"A"})))
        client_for(server).download_artifact("art_1", dest, extract=True)
    assert (dest / "a.txt").read_bytes() == b"A"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]


def test_zip_bomb_is_refused_and_nothing_partial_is_left(tmp_path: Path) -> None:
    bomb = zipped({f"zeros{i}.bin": bytes(50 * 1024 * 1024) for i in range(4)})  # 200 MiB
    assert len(bomb) < 250 * 1024
    with FaultyServer() as server:
        server.script(serve(bomb))
        with pytest.raises(ValueError, match="zip bomb"):
            client_for(server).download_artifact("art_1", tmp_path / "out", extract=True)
    assert list(tmp_path.iterdir()) == []


def test_sizes_are_counted_on_written_bytes_not_on_headers(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(zipped({"a.bin": os.urandom(300_000), "b.bin": os.urandom(300_000)}))
    with pytest.raises(ValueError, match="more than 400000 bytes"):
        extract_zip(archive, tmp_path / "out", ExtractLimits(max_bytes=400_000))
    with pytest.raises(ValueError, match="members"):
        extract_zip(archive, tmp_path / "out", ExtractLimits(max_files=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOSPIKENET_EXTRACT_MAX_BYTES", "123")
    monkeypatch.setenv("EVOSPIKENET_EXTRACT_MAX_RATIO", "7.5")
    assert ExtractLimits.from_env() == ExtractLimits(max_bytes=123, max_ratio=7.5)


DOWNLOADER = """
import sys
from evospikenet.sdk import EvoSpikeNetAPIClient
EvoSpikeNetAPIClient(base_url=sys.argv[1], progress=False).download_artifact("art_1", sys.argv[2])
"""


def test_a_sigkilled_downloads_part_file_is_swept_by_the_next_download(tmp_path: Path) -> None:
    payload = os.urandom(3_000_000)
    target = tmp_path / "model.pth"
    with FaultyServer() as server:
        stalled = serve(payload)
        # past the first 1 MiB piece, which the SDK's writer thread stores whole
        stalled.stall_after, stalled.stall_for = 2_200_000, 30.0
        server.script(stalled, serve(payload))
        child = subprocess.Popen([sys.executable, "-c", DOWNLOADER, server.base_url, str(target)])
        try:
            deadline = time.monotonic() + 20
            while not [p for p in tmp_path.glob(".model.pth.*.part") if p.stat().st_size]:
                assert time.monotonic() < deadline, "the child never started writing"
                time.sleep(0.05)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        parts = list(tmp_path.glob(".model.pth.*.part"))
        assert len(parts) == 1
        time.sleep(STALE_GRACE_SECONDS + 0.2)
        client_for(server).download_artifact("art_1", target)
    assert target.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pth"]


def test_a_live_downloads_part_file_is_left_alone(tmp_path: Path) -> None:
    from evospikenet.sdk._artifacts import FileSink

    with FileSink(tmp_path / "m.bin") as first:
        first.write(b"x")
        old = time.time() - 60
        os.utime(first.temp_path, (old, old))
        with FileSink(tmp_path / "m.bin") as second:
            assert first.temp_path.exists()
            second.write(b"y")
            second.commit()
    assert (tmp_path / "m.bin").read_bytes() == b"y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin"]
