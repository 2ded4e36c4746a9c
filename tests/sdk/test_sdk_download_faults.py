"""Downloads land whole and verified at the destination, or not at all (real faulty server)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import requests
from faulty_server import Action, FaultyServer, Request, problem

from evospikenet.sdk import (
    APIConnectionError,
    APITimeoutError,
    ArtifactIntegrityError,
    EvoSpikeNetAPIClient,
    NotFoundError,
    Timeout,
)

PAYLOAD = hashlib.sha256(b"seed").digest() * 40_000  # 1.28 MB, not a repeating single byte
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def whole(body: bytes = PAYLOAD, etag: str = SHA, **kwargs: object) -> Action:
    return Action(
        200,
        body,
        {"Content-Type": "application/octet-stream", "ETag": f'"{etag}"', "Accept-Ranges": "bytes"},
        **kwargs,  # type: ignore[arg-type]
    )


def ranged(request: Request, body: bytes = PAYLOAD) -> Action:
    start = int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
    return Action(
        206,
        body[start:],
        {"ETag": f'"{SHA}"', "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"},
    )


def client_for(server: FaultyServer, **kwargs: object) -> EvoSpikeNetAPIClient:
    client = EvoSpikeNetAPIClient(base_url=server.base_url, progress=False, **kwargs)  # type: ignore[arg-type]
    client._engine.sleep = lambda seconds: None
    return client


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_download_verifies_and_renames_into_place(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(whole())
        target = client_for(server).download_artifact("art_1", tmp_path / "model.pth")
    assert target == tmp_path / "model.pth"
    assert target.read_bytes() == PAYLOAD
    assert leftovers(tmp_path) == ["model.pth"]
    assert server.requests[0].path == "/api/artifacts/art_1/download"


def test_truncated_body_resumes_with_a_range_request(tmp_path: Path) -> None:
    with FaultyServer(handler=ranged) as server:
        server.script(whole(cut_after=300_000))
        client_for(server).download_artifact("art_1", tmp_path / "m.bin")
    assert (tmp_path / "m.bin").read_bytes() == PAYLOAD
    assert server.requests[1].headers["range"] == "bytes=300000-"
    assert leftovers(tmp_path) == ["m.bin"]


def test_a_resume_answered_with_the_whole_file_starts_over(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(whole(cut_after=1000), whole())
        client_for(server).download_artifact("art_1", tmp_path / "m.bin")
    assert (tmp_path / "m.bin").read_bytes() == PAYLOAD


def test_wrong_sha256_leaves_nothing_at_the_destination(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(whole(etag="0" * 64))
        with pytest.raises(ArtifactIntegrityError, match="sha256"):
            client_for(server).download_artifact("art_1", tmp_path / "m.bin")
    assert leftovers(tmp_path) == []


def test_corrupt_bytes_keep_the_older_file_untouched(tmp_path: Path) -> None:
    (tmp_path / "m.bin").write_bytes(b"previous version")
    corrupt = bytearray(PAYLOAD)
    corrupt[5000] ^= 1
    with FaultyServer() as server:
        server.script(whole(body=bytes(corrupt)))
        with pytest.raises(ArtifactIntegrityError):
            client_for(server).download_artifact("art_1", tmp_path / "m.bin")
    assert (tmp_path / "m.bin").read_bytes() == b"previous version"
    assert leftovers(tmp_path) == ["m.bin"]


def test_connection_cut_every_time_raises_and_leaves_nothing(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(*[whole(cut_after=1000) for _ in range(3)])
        with pytest.raises(requests.exceptions.ConnectionError) as info:
            client_for(server, max_retries=2).download_artifact("art_1", tmp_path / "m.bin")
    assert isinstance(info.value, APIConnectionError)
    assert len(server.requests) == 3
    assert leftovers(tmp_path) == []


def test_stall_mid_body_times_out_and_leaves_nothing(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(whole(stall_after=100_000, stall_for=5))
        client = client_for(
            server, max_retries=0, transfer_timeout=Timeout(connect=1, read=0.4, write=1, pool=1)
        )
        with pytest.raises(requests.exceptions.Timeout) as info:
            client.download_artifact("art_1", tmp_path / "m.bin")
    assert isinstance(info.value, APITimeoutError)
    assert leftovers(tmp_path) == []


def test_missing_artifact_is_not_found_and_leaves_nothing(tmp_path: Path) -> None:
    with FaultyServer() as server:
        server.script(problem(404, "ART_001", "no such artifact"))
        with pytest.raises(NotFoundError):
            client_for(server).download_artifact("art_404", tmp_path / "m.bin")
    assert leftovers(tmp_path) == []


def test_get_artifact_returns_verified_bytes() -> None:
    with FaultyServer(handler=ranged) as server:
        server.script(whole(cut_after=70_000))
        assert client_for(server).get_artifact("art_1") == PAYLOAD


def test_extract_unpacks_a_zip_into_a_folder(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tokenizer.json", '{"v": 1}')
        archive.writestr("sub/vocab.txt", "a\nb\n")
    data = buffer.getvalue()
    with FaultyServer() as server:
        server.script(whole(body=data, etag=hashlib.sha256(data).hexdigest()))
        folder = client_for(server).download_artifact("art_1", tmp_path / "tok", extract=True)
    assert (folder / "tokenizer.json").read_text() == '{"v": 1}'
    assert (folder / "sub" / "vocab.txt").read_text() == "a\nb\n"
    assert leftovers(tmp_path) == ["tok"]


def test_extract_refuses_path_traversal(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.txt", "x")
    data = buffer.getvalue()
    (tmp_path / "dest").mkdir()
    with FaultyServer() as server:
        server.script(whole(body=data, etag=hashlib.sha256(data).hexdigest()))
        with pytest.raises(ValueError, match="unsafe"):
            client_for(server).download_artifact("art_1", tmp_path / "dest" / "tok", extract=True)
    assert leftovers(tmp_path / "dest") == []
    assert not (tmp_path / "evil.txt").exists()


def test_bad_destination_is_a_value_error(tmp_path: Path) -> None:
    client = EvoSpikeNetAPIClient(base_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="destination_path"):
        client.download_artifact("art_1", tmp_path / "missing" / "x.bin")
    with pytest.raises(ValueError, match="artifact_id"):
        client.download_artifact("../etc/passwd", tmp_path / "x.bin")
    assert leftovers(tmp_path) == []
