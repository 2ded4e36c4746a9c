"""The bounded, deterministic schemathesis CLI run (``st run``) against a real uvicorn server:
an API key configured, ``MAX_EXAMPLES`` per operation on ``WORKERS`` workers, at least
``MIN_CASES`` generated cases and none failing (about 1.5 minutes on 2 busy cores)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from model_fixtures import upload_model, write_tiny_model

HERE = Path(__file__).resolve().parent
ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = int(os.environ.get("EVOSPIKENET_ST_MAX_EXAMPLES", "100"))
WORKERS = 2
MIN_CASES = 2000


def test_st_run_finds_no_failures(make_server, tmp_path):
    live = make_server(
        EVOSPIKENET_MAX_WAIT_SECONDS="0.2", EVOSPIKENET_MAX_UPLOAD_BYTES=str(1024 * 1024)
    )
    with httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as c:
        model_session = upload_model(c, write_tiny_model(tmp_path / "model"))
        session_id = c.post("/api/sessions", json={"description": "seed"}).json()["session_id"]
        artifact_id = c.post(
            "/api/artifacts",
            data={"session_id": session_id, "artifact_type": "dataset", "name": "seed.bin"},
            files={"file": ("seed.bin", bytes(range(256)) * 8)},
        ).json()["artifact_id"]
        for _ in range(600):
            if (c.get("/api/info").json()["model"] or {}).get("session_id") == model_session:
                break
            time.sleep(0.1)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        (HERE / "schemathesis.toml").read_text()
        + f'\n[parameters]\n"path.session_id" = "{session_id}"\n'
        + f'"path.artifact_id" = "{artifact_id}"\n'
        + '\n[auth.openapi.ApiKeyAuth]\napi_key = "${EVOSPIKENET_ST_API_KEY}"\n'
    )
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "st_hooks",
        "EVOSPIKENET_ST_API_KEY": live.api_key,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            str(ST),
            "--config-file",
            str(config),
            "run",
            f"{live.base_url}/openapi.json",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--workers",
            str(WORKERS),
            "--generation-deterministic",
            "--no-color",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    (tmp_path / "st-output.txt").write_text(done.stdout)
    summary = done.stdout[-6000:]
    print(summary)
    assert done.returncode == 0, summary + done.stderr[-2000:]
    generated = re.search(r"(\d+) generated", done.stdout)
    assert generated and int(generated.group(1)) >= MIN_CASES, summary
