"""What else a client controls, bounded with a clear 4xx (docs/server.md, "Hostile input"):
multipart part headers and part counts, unknown form fields, a Range with many parts, many
query parameters, many headers, compressed bodies, a stalled body, a slow request head, and
many concurrent long-polls. Every case runs against a real server over loopback."""

from __future__ import annotations

import concurrent.futures
import socket
import time
import uuid

import httpx
import pytest

from evospikenet.server.limits import MAX_HEADERS, MAX_QUERY_PARAMS
from evospikenet.server.uploads import MAX_PART_HEADER_LINE_BYTES, MAX_PART_HEADERS, MAX_PARTS


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    from live_server import TEST_KEY, LiveServer

    server = LiveServer(
        tmp_path_factory.mktemp("limits") / "data",
        api_key=TEST_KEY,
        env={
            "EVOSPIKENET_LOAD_MODELS": "false",
            "EVOSPIKENET_BODY_IDLE_TIMEOUT_SECONDS": "1",
            "EVOSPIKENET_HEAD_TIMEOUT_SECONDS": "1",
            "EVOSPIKENET_MAX_LONG_POLLS": "3",
            "EVOSPIKENET_MAX_WAIT_SECONDS": "6",
        },
    )
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(live):
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def session_id(client) -> str:
    return client.post("/api/sessions", json={"description": "limits"}).json()["session_id"]


def _temp_files(live) -> list:
    return [p for p in (live.data_dir / "tmp").glob("upload-*")]


def _multipart(parts: list[tuple[list[str], bytes]]) -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\n".encode()
            + "".join(h + "\r\n" for h in headers).encode()
            + b"\r\n"
            + data
            + b"\r\n"
            for headers, data in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def _field(name: str, value: bytes, *extra: str) -> tuple[list[str], bytes]:
    return [f'Content-Disposition: form-data; name="{name}"', *extra], value


def _upload_parts(session_id: str) -> list[tuple[list[str], bytes]]:
    return [
        _field("session_id", session_id.encode()),
        _field("artifact_type", b"dataset"),
        _field("name", b"x.bin"),
    ]


def _file() -> tuple[list[str], bytes]:
    return _field("file", b"bytes " * 1000, "Content-Type: application/octet-stream")


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == code, problem
    return problem


def test_multipart_part_with_too_many_headers_is_400(live, client, session_id):
    headers = [f"X-Filler-{i}: {i}" for i in range(MAX_PART_HEADERS)]
    parts = [*_upload_parts(session_id), _field("file", b"data", *headers)]
    body, content_type = _multipart(parts)
    problem = _problem(
        client.post("/api/artifacts", content=body, headers=content_type), 400, "VAL_002"
    )
    assert "header count" in problem["detail"]
    assert _temp_files(live) == []


def test_multipart_part_headers_over_the_byte_limit_are_400(live, client, session_id):
    huge = "X-Filler: " + "a" * (MAX_PART_HEADER_LINE_BYTES + 1)
    body, content_type = _multipart([_field("session_id", session_id.encode(), huge), _file()])
    problem = _problem(
        client.post("/api/artifacts", content=body, headers=content_type), 400, "VAL_002"
    )
    assert "header size" in problem["detail"]


def test_multipart_with_many_parts_is_refused(live, client, session_id):
    # the contract knows six fields, each allowed once: a repeated one is 422 long before the
    # part count limit (MAX_PARTS) would be reached
    parts = [_field("name", b"x") for _ in range(MAX_PARTS + 1)]
    body, content_type = _multipart(parts)
    problem = _problem(
        client.post("/api/artifacts", content=body, headers=content_type), 422, "VAL_001"
    )
    assert [e["field"] for e in problem["errors"]] == ["body.name"]
    assert _temp_files(live) == []


def test_unknown_form_field_is_422_naming_it_before_the_file_is_written(live, client, session_id):
    parts = [*_upload_parts(session_id), _field("surprise", b"1"), _file()]
    body, content_type = _multipart(parts)
    problem = _problem(
        client.post("/api/artifacts", content=body, headers=content_type), 422, "VAL_001"
    )
    assert [e["field"] for e in problem["errors"]] == ["body.surprise"]
    assert _temp_files(live) == []
    listed = client.get(f"/api/sessions/{session_id}/artifacts").json()
    assert listed == []


def test_range_with_many_parts_is_422(client, session_id):
    data = {"session_id": session_id, "artifact_type": "dataset", "name": "r.bin"}
    artifact = client.post("/api/artifacts", data=data, files={"file": ("r.bin", b"0123456789")})
    artifact_id = artifact.json()["artifact_id"]
    # many parts that still fit the 16 KiB request head (a longer head is a 400 before the app)
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(1000))
    response = client.get(f"/api/artifacts/{artifact_id}/download", headers={"Range": many})
    problem = _problem(response, 422, "VAL_001")
    assert "header.Range" in [e["field"] for e in problem["errors"]]
    two = client.get(f"/api/artifacts/{artifact_id}/download", headers={"Range": "bytes=0-1,3-4"})
    assert two.status_code == 422
    one = client.get(f"/api/artifacts/{artifact_id}/download", headers={"Range": "bytes=2-4"})
    assert one.status_code == 206 and one.content == b"234"


def test_many_query_parameters(live, client):
    params = [("limit", "1")] * (MAX_QUERY_PARAMS + 1)
    problem = _problem(client.get("/api/sessions", params=params), 422, "VAL_001")
    assert [e["field"] for e in problem["errors"]] == ["query"]
    # tens of thousands do not even fit the 16 KiB request head: the HTTP parser refuses them
    huge = "&".join(f"p{i}=1" for i in range(20000))
    sock = _raw(live, f"GET /api/sessions?{huge} HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        assert sock.recv(65536).startswith(b"HTTP/1.1 4")
    finally:
        sock.close()


def test_many_headers_is_431(client):
    headers = {f"X-Filler-{i}": "1" for i in range(MAX_HEADERS + 1)}
    _problem(client.get("/api/health", headers=headers), 431, "HTTP_431")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies_are_refused_not_inflated(live, client, session_id, encoding):
    headers = {"Content-Encoding": encoding, "Content-Type": "application/json"}
    response = client.post("/api/sessions", content=b"\x1f\x8b" + b"\0" * 64, headers=headers)
    assert "Content-Encoding" in _problem(response, 400, "VAL_002")["detail"]
    body, content_type = _multipart([*_upload_parts(session_id), _file()])
    response = client.post(
        "/api/artifacts", content=body, headers={**content_type, "Content-Encoding": encoding}
    )
    _problem(response, 400, "VAL_002")
    assert _temp_files(live) == []


def _raw(live, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    sock.sendall(head.encode())
    return sock


def test_a_stalled_body_is_408_and_leaves_no_temp_file(live, session_id):
    body, content_type = _multipart([*_upload_parts(session_id), _file()])
    head = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: x\r\nX-API-Key: {live.api_key}\r\n"
        f"Content-Type: {content_type['Content-Type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    sock = _raw(live, head)
    try:
        sock.sendall(body[: len(body) - 100])  # then nothing more
        started = time.monotonic()
        answer = b""
        while b"HTTP_408" not in answer:
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
        assert answer.startswith(b"HTTP/1.1 408") and b"HTTP_408" in answer, answer
        assert time.monotonic() - started < 8
    finally:
        sock.close()
    assert _temp_files(live) == []


def test_a_slow_request_head_is_cut_off(live):
    sock = _raw(live, "GET /api/health HTTP/1.1\r\nHost: x\r\n")
    sock.settimeout(0.3)
    started = time.monotonic()
    closed = False
    try:
        for _ in range(30):  # a header line every 0.3 s: never a complete head in time
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
            if closed:
                break
    finally:
        sock.close()
    assert closed and time.monotonic() - started < 5


def test_long_polls_past_the_cap_answer_at_once(live, client):
    prompt_id = client.post("/api/distributed_brain/prompt", json={"prompt": "wait"}).json()[
        "prompt_id"
    ]

    wait = 6.0

    def poll(_: int) -> float:
        started = time.monotonic()
        r = httpx.get(
            f"{live.base_url}/api/distributed_brain/result",
            params={"prompt_id": prompt_id, "wait": wait},
            headers=live.headers,
            timeout=30,
        )
        assert r.status_code == 200 and r.json()["state"] == "queued"
        return time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        durations = sorted(pool.map(poll, range(20)))
    # three waited the whole time; the others were answered without waiting (on a busy
    # machine "at once" can still take a couple of seconds for 20 parallel requests)
    assert [d >= wait - 0.5 for d in durations].count(True) == 3, durations
    assert durations[16] < wait - 1.5, durations


def test_bodies_with_and_without_a_declared_length_read_the_same(client):
    body = b'{"description": "' + b"x" * 100_000 + b'"}'  # over the inline size, under the cap

    def chunked():
        for start in range(0, len(body), 7_000):
            yield body[start : start + 7_000]

    headers = {"Content-Type": "application/json"}
    problem = _problem(
        client.post("/api/sessions", content=chunked(), headers=headers), 422, "VAL_001"
    )
    declared = client.post("/api/sessions", content=body, headers=headers)
    assert declared.json()["errors"] == problem["errors"]  # description too long, in both
    small = b'{"description": "chunked"}'
    created = client.post("/api/sessions", content=iter([small[:5], small[5:]]), headers=headers)
    assert created.status_code == 201 and created.json()["description"] == "chunked"
