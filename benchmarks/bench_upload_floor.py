"""Uploads against one server in one process: curl, the SDK, and two hand-written Python
floors that do what the SDK must do (hash every byte with sha256 while sending it) with nothing
else: 1 MiB reads with ``sendall``, or an ``mmap`` hashed in a thread with ``os.sendfile``.

    .venv/bin/python benchmarks/bench_upload_floor.py --size-mib 1024 --rounds 4

One live server on 127.0.0.1 (sharing the CPUs with the clients). The kinds run in turns
(ABBA...); each upload's MiB/s, the server's CPU seconds and the client's (this process and
its children, so curl's too) are printed per kind. The floors send the SDK's multipart body
(file part, then the sha256 part) over a raw socket and check for a 201.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import queue
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bench_sdk_common import API_KEY, serve
from bench_sdk_transfer import cpu_seconds, interleaved, make_file

PIECE = 1024 * 1024


def multipart(session_id: str, size: int) -> tuple[str, bytes, bytes, int]:
    """The boundary, the bytes before the file, the sha256 part's head, the body length."""
    b = uuid.uuid4().hex
    fields = {"session_id": session_id, "artifact_type": "dataset", "name": "big.bin"}
    head = "".join(
        f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    head += (
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    digest_head = f'\r\n--{b}\r\nContent-Disposition: form-data; name="sha256"\r\n\r\n'.encode()
    length = len(head) + size + len(digest_head) + 64 + len(f"\r\n--{b}--\r\n")
    return b, head.encode(), digest_head, length


def raw_upload(base_url: str, session_id: str, path: Path, mode: str) -> None:
    """One upload over a raw socket: ``sendall`` of 1 MiB reads or ``sendfile``."""
    host, port = base_url.removeprefix("http://").split(":")
    size = path.stat().st_size
    boundary, head, digest_head, length = multipart(session_id, size)
    request = (
        f"POST /api/artifacts HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {API_KEY}\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    digest = hashlib.sha256()
    with socket.create_connection((host, int(port))) as sock, path.open("rb") as f:
        sock.sendall(request + head)
        if mode == "sendfile":
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)

                def hash_all() -> None:
                    for start in range(0, size, PIECE):
                        digest.update(view[start : start + PIECE])

                hasher = threading.Thread(target=hash_all)
                hasher.start()
                offset = 0
                while offset < size:
                    offset += os.sendfile(sock.fileno(), f.fileno(), offset, size - offset)
                hasher.join()
                view.release()
        else:
            pieces: queue.Queue[bytes | None] = queue.Queue(8)

            def hash_pieces() -> None:
                while (piece := pieces.get()) is not None:
                    digest.update(piece)

            hasher = threading.Thread(target=hash_pieces)
            hasher.start()
            while piece := f.read(PIECE):
                pieces.put(piece)
                sock.sendall(piece)
            pieces.put(None)
            hasher.join()
        sock.sendall(digest_head + digest.hexdigest().encode() + f"\r\n--{boundary}--\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer and (data := sock.recv(65536)):
            answer += data
    if not answer.startswith(b"HTTP/1.1 201"):
        raise RuntimeError(f"{mode} upload failed: {answer[:300]!r}")


def curl_upload(base_url: str, session_id: str, path: Path) -> None:
    subprocess.run(
        ["curl", "-sS", "-f", "-o", "/dev/null", "-H", f"X-API-Key: {API_KEY}",
         "-H", f"Idempotency-Key: {uuid.uuid4()}", "-F", f"session_id={session_id}",
         "-F", "artifact_type=dataset", "-F", "name=big.bin",
         "-F", f"file=@{path};type=application/octet-stream", f"{base_url}/api/artifacts"],
        check=True,
    )  # fmt: skip


def client_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--kinds", default="curl,sdk,sendall,sendfile")
    args = parser.parse_args()
    size = args.size_mib * 1024 * 1024
    kinds = tuple(args.kinds.split(","))
    results: dict[str, dict[str, list[float]]] = {
        kind: {"mib_per_s": [], "server_cpu_s": [], "client_cpu_s": []} for kind in kinds
    }
    with tempfile.TemporaryDirectory(prefix="evospikenet-bench-floor-") as tmp:
        source = Path(tmp) / "big.bin"
        make_file(source, size)
        with serve(EVOSPIKENET_MAX_UPLOAD_BYTES=str(size + PIECE)) as server:
            from evospikenet.sdk import EvoSpikeNetAPIClient

            sdk = EvoSpikeNetAPIClient(
                base_url=server.base_url, api_key=API_KEY, progress=False, max_retries=0
            )
            session_id = sdk.create_log_session("upload floor")["session_id"]
            for kind in interleaved(kinds, args.rounds):
                server_before, client_before = cpu_seconds(server.process.pid), client_cpu()
                started = time.perf_counter()
                if kind == "curl":
                    curl_upload(server.base_url, session_id, source)
                elif kind == "sdk":
                    sdk.upload_artifact(session_id, "dataset", "big.bin", source)
                else:
                    raw_upload(server.base_url, session_id, source, kind)
                seconds = time.perf_counter() - started
                entry = results[kind]
                entry["mib_per_s"].append(round(args.size_mib / seconds, 1))
                entry["server_cpu_s"].append(
                    round((cpu_seconds(server.process.pid) or 0) - (server_before or 0), 2)
                )
                entry["client_cpu_s"].append(round(client_cpu() - client_before, 2))
            sdk.close()
    report: dict[str, Any] = {"size_mib": args.size_mib, "load": os.getloadavg()[0]}
    for kind, entry in results.items():
        report[kind] = {
            f"median_{name}": round(statistics.median(values), 2) for name, values in entry.items()
        } | {"runs_mib_per_s": entry["mib_per_s"]}
    curl = report.get("curl", {}).get("median_mib_per_s")
    if curl:
        report["vs_curl"] = {k: round(report[k]["median_mib_per_s"] / curl, 2) for k in kinds}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
