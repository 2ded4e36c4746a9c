"""Sessions and artifacts over a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx
import pytest


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as c:
        yield c


def new_session(client: httpx.Client, description: str = "test") -> str:
    r = client.post("/api/sessions", json={"description": description})
    assert r.status_code == 201, r.text
    return r.json()["session_id"]


def upload(client, session_id, data: bytes, name="file.bin", artifact_type="dataset", **fields):
    return client.post(
        "/api/artifacts",
        data={"session_id": session_id, "artifact_type": artifact_type, "name": name, **fields},
        files={"file": (name, data, "application/octet-stream")},
    )


def test_create_and_read_session(client):
    r = client.post("/api/sessions", json={"description": "テキストモデルのファインチューニング"})
    assert r.status_code == 201
    body = r.json()
    assert body["session_id"].startswith("ses_") and len(body["session_id"]) == 36
    assert body["description"] == "テキストモデルのファインチューニング"
    assert body["artifact_count"] == 0
    assert r.headers["Location"] == f"/api/sessions/{body['session_id']}"
    again = client.get(r.headers["Location"])
    assert again.status_code == 200 and again.json() == body


def test_session_description_validation(client):
    r = client.post("/api/sessions", json={"description": None})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "body.description"
    r = client.post("/api/sessions", json={})
    assert r.json()["errors"][0] == {
        "field": "body.description",
        "message": "is required",
        "type": "missing",
    }
    r = client.post("/api/sessions", json={"description": "x" * 4001})
    assert r.status_code == 422
    r = client.post("/api/sessions", json={"description": "x", "extra": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.extra"


def test_unparsable_bodies_are_400(client):
    r = client.post(
        "/api/sessions", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "VAL_002"
    r = client.post("/api/sessions", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "VAL_002"
    r = client.post(
        "/api/sessions", content=b"description=x", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 400


def test_upload_roundtrip_with_boundary_like_bytes(client):
    session_id = new_session(client)
    data = b"head\r\n--+++\r\nmiddle\r\n--+++--\r\ntail" * 100
    r = upload(
        client, session_id, data, name="weights.bin", sha256=hashlib.sha256(data).hexdigest()
    )
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["size"] == len(data)
    assert art["sha256"] == hashlib.sha256(data).hexdigest()
    assert art["llm_type"] is None
    assert r.headers["Location"] == f"/api/artifacts/{art['artifact_id']}"
    assert client.get(r.headers["Location"]).json() == art
    dl = client.get(f"/api/artifacts/{art['artifact_id']}/download")
    assert dl.status_code == 200 and dl.content == data
    assert dl.headers["ETag"] == f'"{art["sha256"]}"'
    assert dl.headers["Content-Length"] == str(len(data))
    assert dl.headers["Accept-Ranges"] == "bytes"
    assert dl.headers["Content-Disposition"] == 'attachment; filename="weights.bin"'
    assert client.get(f"/api/sessions/{session_id}").json()["artifact_count"] == 1


def test_identical_bytes_are_stored_once(client, server):
    session_id = new_session(client)
    data = b"same bytes, stored once " * 50
    a = upload(client, session_id, data, name="a").json()
    b = upload(client, session_id, data, name="b").json()
    assert a["artifact_id"] != b["artifact_id"] and a["sha256"] == b["sha256"]
    blob_files = list((server.data_dir / "blobs").glob(f"*/*/{a['sha256']}"))
    assert len(blob_files) == 1


def test_range_requests(client):
    session_id = new_session(client)
    data = bytes(range(256)) * 4
    art = upload(client, session_id, data).json()
    url = f"/api/artifacts/{art['artifact_id']}/download"
    r = client.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    r = client.get(url, headers={"Range": "bytes=1000-"})
    assert r.status_code == 206 and r.content == data[1000:]
    r = client.get(url, headers={"Range": "bytes=-4"})
    assert r.status_code == 206 and r.content == data[-4:]
    r = client.get(url, headers={"Range": "bytes=5000-"})
    assert r.status_code == 416 and r.json()["code"] == "RANGE_001"
    assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    r = client.get(url, headers={"If-None-Match": f'"{art["sha256"]}"'})
    assert r.status_code == 304 and r.content == b""


def test_non_ascii_name_gets_filename_star(client):
    session_id = new_session(client)
    art = upload(client, session_id, b"x", name="モデル 1.pth").json()
    assert art["name"] == "モデル 1.pth"
    r = client.get(f"/api/artifacts/{art['artifact_id']}/download")
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=\"___ 1.pth\"; filename*=UTF-8''" + quote("モデル 1.pth", safe="")
    )


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "a/../../b"]
)
def test_path_traversal_names_are_metadata_only(client, server, name):
    session_id = new_session(client)
    data = f"traversal {name}".encode()
    r = upload(client, session_id, data, name=name)
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["name"] == name
    stored = list(server.data_dir.rglob("*"))
    assert all(p.resolve().is_relative_to(server.data_dir.resolve()) for p in stored)
    assert (
        server.data_dir / "blobs" / art["sha256"][:2] / art["sha256"][2:4] / art["sha256"]
    ).is_file()
    assert not any(p.name in {"passwd", "boot.ini", "b"} for p in stored)
    assert client.get(f"/api/artifacts/{art['artifact_id']}/download").content == data


def test_control_characters_in_name_are_rejected(client):
    session_id = new_session(client)
    r = upload(client, session_id, b"x", name="bad\nname")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.name"


def test_wrong_sha256_stores_nothing(client, server):
    session_id = new_session(client)
    data = b"the real bytes of a wrong-sha upload"
    r = upload(client, session_id, data, sha256="0" * 64)
    assert r.status_code == 422 and r.json()["code"] == "ART_002"
    assert client.get(f"/api/sessions/{session_id}").json()["artifact_count"] == 0
    digest = hashlib.sha256(data).hexdigest()
    assert not list((server.data_dir / "blobs").glob(f"*/*/{digest}"))
    assert list((server.data_dir / "tmp").glob("upload-*")) == []


def upload_in_order(client, session_id, data: bytes, sha256: str, *, digest_first: bool):
    """An upload whose ``sha256`` part comes before the file (old clients) or after it (one
    pass: the SDK hashes while it sends)."""
    text = [("session_id", session_id), ("artifact_type", "dataset"), ("name", "f.bin")]
    digest = [("sha256", (None, sha256))]
    parts = [(name, (None, value)) for name, value in text]
    file = [("file", ("f.bin", data, "application/octet-stream"))]
    parts += digest + file if digest_first else file + digest
    request = client.build_request("POST", "/api/artifacts", files=parts)
    body = request.read()
    assert (body.index(b'name="sha256"') < body.index(b'name="file"')) == digest_first
    return client.send(request)


@pytest.mark.parametrize("digest_first", [True, False], ids=["digest-before", "digest-after"])
def test_the_digest_is_verified_before_or_after_the_file(client, digest_first):
    session_id = new_session(client)
    data = b"one pass: " + bytes(range(256)) * 10
    digest = hashlib.sha256(data).hexdigest()
    r = upload_in_order(client, session_id, data, digest, digest_first=digest_first)
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == digest and r.json()["size"] == len(data)


def test_a_wrong_digest_after_the_file_stores_nothing(client, server):
    session_id = new_session(client)
    data = b"the real bytes, followed by a wrong digest"
    r = upload_in_order(client, session_id, data, "0" * 64, digest_first=False)
    assert r.status_code == 422 and r.json()["code"] == "ART_002"
    assert client.get(f"/api/sessions/{session_id}").json()["artifact_count"] == 0
    digest = hashlib.sha256(data).hexdigest()
    assert not list((server.data_dir / "blobs").glob(f"*/*/{digest}"))
    assert list((server.data_dir / "tmp").glob("upload-*")) == []


def test_upload_validates_fields_before_session_lookup(client):
    r = upload(client, "ses_doesnotexist", b"x", artifact_type="Not-Valid")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.artifact_type"]
    r = upload(client, "ses_doesnotexist", b"x")
    assert r.status_code == 404 and r.json()["code"] == "SES_001"
    r = client.post(
        "/api/artifacts", data={"session_id": "ses_x", "artifact_type": "model", "name": "n"}
    )
    assert r.status_code in (400, 422)


def test_listing_filters_and_pages_newest_first(client):
    session_id = new_session(client)
    ids = [
        upload(
            client,
            session_id,
            f"file {i}".encode(),
            name=f"f{i}",
            artifact_type="log",
            llm_type="PageTest",
        ).json()["artifact_id"]
        for i in range(5)
    ]
    r = client.get("/api/artifacts", params={"session_id": session_id, "limit": 2})
    assert [a["artifact_id"] for a in r.json()] == ids[::-1][:2]
    cursor = r.headers["X-Next-Cursor"]
    assert r.headers["Link"].endswith('; rel="next"') and f"cursor={cursor}" in r.headers["Link"]
    seen = [a["artifact_id"] for a in r.json()]
    while "X-Next-Cursor" in r.headers:
        r = client.get(
            "/api/artifacts",
            params={"session_id": session_id, "limit": 2, "cursor": r.headers["X-Next-Cursor"]},
        )
        seen += [a["artifact_id"] for a in r.json()]
    assert seen == ids[::-1]
    assert [
        a["name"]
        for a in client.get(
            "/api/artifacts", params={"name": "f3", "session_id": session_id}
        ).json()
    ] == ["f3"]
    assert (
        len(
            client.get(
                "/api/artifacts", params={"llm_type": "PageTest", "artifact_type": "log"}
            ).json()
        )
        >= 5
    )
    assert client.get("/api/artifacts", params={"artifact_type": "nosuchtype"}).json() == []
    r = client.get(f"/api/sessions/{session_id}/artifacts", params={"limit": 500})
    assert [a["artifact_id"] for a in r.json()] == ids[::-1]
    assert client.get("/api/artifacts", params={"limit": 0}).status_code == 422
    assert client.get("/api/artifacts", params={"limit": 501}).status_code == 422
    assert (
        client.get("/api/artifacts", params={"limit": "2.0", "session_id": session_id}).status_code
        == 200
    )
    # a cursor names the last item seen; one that names nothing gives an empty page
    assert client.get("/api/artifacts", params={"cursor": "zzz"}).json() == []


def test_sessions_list_newest_first(client):
    a = new_session(client, "first")
    b = new_session(client, "second")
    listed = [s["session_id"] for s in client.get("/api/sessions", params={"limit": 500}).json()]
    assert listed.index(b) < listed.index(a)


def test_unknown_ids_are_404(client):
    assert client.get("/api/sessions/ses_nope").json()["code"] == "SES_001"
    assert client.get("/api/sessions/ses_nope/artifacts").json()["code"] == "SES_001"
    assert client.get("/api/artifacts/art_nope").json()["code"] == "ART_001"
    assert client.get("/api/artifacts/art_nope/download").status_code == 404
    assert client.get("/api/artifacts/bad%20id").status_code == 422
