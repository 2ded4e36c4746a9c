"""SIGTERM answers a stalled upload with problem+json, not a plain-text 500 (issue 15)."""

from __future__ import annotations

import json
import time

import httpx
from slow_upload import slow_upload


def test_sigterm_answers_a_stalled_upload_with_problem_json(make_server) -> None:  # type: ignore[no-untyped-def]
    live = make_server(EVOSPIKENET_LOAD_MODELS="false")
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=30) as c:
        session_id = c.post("/api/sessions", json={"description": "stall"}).json()["session_id"]
    sock, _rest = slow_upload(live, session_id, size=2 * 1024 * 1024, held_back=1024 * 1024)
    try:
        time.sleep(0.5)  # the server is waiting for the rest of the body
        started = time.monotonic()
        assert live.process is not None
        live.process.terminate()  # SIGTERM
        sock.settimeout(20)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        waited = time.monotonic() - started
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["code"] == "SYS_002" and "shutting down" in problem["detail"]
    assert waited < 5  # answered at once, not after the 10 s graceful period
    assert live.process.wait(20) in (0, -15)  # uvicorn re-raises the SIGTERM it handled
