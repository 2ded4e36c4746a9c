"""An upload into S3: spooled, then sent (before) against streamed while it arrives (now).

Both stores write the same bytes, 1 MiB at a time, into a bucket of moto's S3-protocol server on
loopback, optionally paced to a client's rate (``--rate-mib-s``, 0: as fast as the disk takes
them). The figures are the time spent receiving (``write`` calls) and the time from the last
byte to ``commit`` returning, which is what a client waits for after sending. "before" is
``s3store.py`` as of commit ``cf76cc3`` (the whole file put into the bucket at commit, by
boto3's multipart transfer); "now" is the module in the work tree (parts sent while receiving;
at commit the upload is completed and named by its digest, no byte copied).

    .venv/bin/python benchmarks/bench_s3_upload.py --mib 256 --rate-mib-s 50
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from s3_server import moto_s3, s3_client  # noqa: E402

from evospikenet.server import s3store  # noqa: E402

BUCKET = "evospikenet-bench"
BEFORE = "cf76cc3"
MIB = 1024 * 1024


def _before_module() -> Any:
    """``s3store`` as of ``BEFORE``, loaded from git under another name."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:evospikenet/server/s3store.py"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp(prefix="s3store-before-")) / "s3store_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("s3store_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _upload(store: Any, data: bytes, rate: float) -> dict[str, float]:
    writer = store.writer()
    started = time.perf_counter()
    for offset in range(0, len(data), MIB):
        writer.write(data[offset : offset + MIB])
        if rate:  # the client's pace: this many MiB/s
            lag = started + (offset + MIB) / (rate * MIB) - time.perf_counter()
            time.sleep(max(0.0, lag))
    received = time.perf_counter()
    digest = writer.commit()
    done = time.perf_counter()
    store.release(digest)
    store.client.delete_object(Bucket=store.bucket, Key=store.key(digest))  # moto's memory
    return {
        "receive_s": round(received - started, 2),
        "last_byte_to_commit_s": round(done - received, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rate-mib-s", type=float, default=50.0, help="0: unpaced")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    stores = {"before": _before_module().S3BlobStore, "now": s3store.S3BlobStore}
    figures: dict[str, Any] = {"mib": args.mib, "rate_mib_s": args.rate_mib_s}
    with (
        tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp,
        moto_s3(BUCKET, Path(tmp) / "moto.log") as env,
    ):
        client = s3_client(env)
        for repeat in range(args.repeats):
            for name, store_class in stores.items():
                data = os.urandom(args.mib * MIB)  # new bytes: never already in the bucket
                store = store_class(Path(tmp) / f"{name}-{repeat}", f"s3://{BUCKET}/{name}", client)
                store.open()
                try:
                    figures.setdefault(name, []).append(_upload(store, data, args.rate_mib_s))
                finally:
                    store.close()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
