"""examples/sdk_usage.py (every example of the SDK document) runs against a real server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_sdk_usage_runs_every_section(make_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    live = make_server(api_key="example-key")
    (tmp_path / "examples").mkdir()
    for name in ("dummy_image.png", "dummy_audio.wav"):
        shutil.copy(REPO / "examples" / name, tmp_path / "examples" / name)
    env = {
        **os.environ,
        "EVOSPIKENET_API_URL": live.base_url,
        "EVOSPIKENET_API_KEY": "example-key",
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "sdk_usage.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for marker in (
        "✅ APIサーバーは正常に稼働しています",
        "最新のモデルアーティファクト: spiking_lm.pth",
        "生成テキスト: ",
        "プロンプト送信成功: prm_",
        "✅ 最新モデルをダウンロードしました",
        "ValueError (不正な引数)",
        "served model: session ses_",
        "(bundled default: True)",
        "✅ 7 complete workflow",
    ):
        assert marker in out
    assert (tmp_path / "latest_model.pth").stat().st_size > 0
    assert (tmp_path / "tokenizer_temp" / "tokenizer.json").exists()
