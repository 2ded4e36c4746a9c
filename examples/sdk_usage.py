"""Every example of the EvoSpikeNet SDK document, run against a live server.

    evospikenet serve --host 127.0.0.1 --port 8000 --data-dir ./.evospikenet &
    python examples/sdk_usage.py            # or: make demo

The server comes from ``EVOSPIKENET_API_URL`` (default http://localhost:8000) and the key from
``EVOSPIKENET_API_KEY``. Run it from the repository root: the document's paths
(``./examples/dummy_image.png``, ``./tokenizer_temp``, ``tokenizer.zip``,
``./latest_model.pth``) are relative to it.

The document's code is kept as written, section by section. The one change: it downloads
``bert-base-uncased`` with ``transformers``; with no network here, :func:`local_tokenizer`
trains a small byte-level BPE tokenizer with the ``tokenizers`` package instead, whose
``save_pretrained`` writes the same kind of folder (``tokenizer.json``,
``tokenizer_config.json``, ``special_tokens_map.json``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import requests

from evospikenet.sdk import EvoSpikeNetAPIClient

try:  # the models extra: torch and the spiking model (sections 6.2 and 7)
    import torch

    from evospikenet.models import SpikingEvoTextLM
except ImportError:  # pragma: no cover - reported by main()
    torch = None  # type: ignore[assignment]
    SpikingEvoTextLM = None  # type: ignore[assignment,misc]

CORPUS = [
    "人工知能とは、人間の知的な振る舞いを計算機で実現しようとする研究分野です。",
    "機械学習の応用例には、画像認識、音声認識、機械翻訳、推薦システムがあります。",
    "スパイキングニューラルネットワークは、ニューロンの発火のタイミングで情報を伝えます。",
    "AI is the study of machines that perceive, learn and act.",
    "A spiking neuron integrates its input and fires when its membrane crosses a threshold.",
    "Distributed brains split perception, language and motor control across many nodes.",
] * 20


class LocalTokenizer:
    """A stand-in for ``AutoTokenizer.from_pretrained('bert-base-uncased')`` without network."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=1000,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tokenizer.train_from_iterator(CORPUS, trainer=trainer)
        self.tokenizer = tokenizer

    def save_pretrained(self, folder: str) -> None:
        """Write a ``save_pretrained``-style folder, as transformers does."""
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        (path / "tokenizer.json").write_text(self.tokenizer.to_str(), encoding="utf-8")
        special = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 256, **special}
        (path / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
        (path / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def local_tokenizer() -> LocalTokenizer:
    """What the document gets from ``AutoTokenizer.from_pretrained('bert-base-uncased')``."""
    return LocalTokenizer()


def heading(title: str) -> None:
    print(f"\n=== {title}")


# --- 3. EvoSpikeNetAPIClient ----------------------------------------------------------------


def section_3_initialization_and_health() -> bool:
    heading("3.1 初期化 / 3.2 ヘルスチェック")
    # 3.1: the default URL (or $EVOSPIKENET_API_URL), and the Docker form (not contacted here).
    client = EvoSpikeNetAPIClient()
    docker_client = EvoSpikeNetAPIClient(base_url="http://api:8000")
    print(f"client → {client.base_url}; docker form → {docker_client.base_url}")

    # 3.2, as in the document
    client = EvoSpikeNetAPIClient()

    print("サーバーを待機中...")
    if client.wait_for_server(timeout=60):
        print("✅ APIサーバーは正常に稼働しています")
    else:
        print("❌ APIサーバーに接続できませんでした")
        return False
    print(f"is_server_healthy() → {client.is_server_healthy()}")
    return True


# --- 7. The complete workflow (run first: it uploads the model that sections 4 and 6 use) --


def complete_ml_workflow() -> str | None:
    """Section 7.1 of the document, unchanged but for the local tokenizer."""
    client = EvoSpikeNetAPIClient()
    if not client.wait_for_server():
        return None

    # 1. セッション作成
    session = client.create_log_session("Complete training workflow example")
    session_id = session["session_id"]
    print(f"セッションID: {session_id}")

    # 2. モデル訓練（ダミー）
    config = {
        "vocab_size": 30522,
        "d_model": 128,
        "n_heads": 4,
        "num_transformer_blocks": 2,
        "time_steps": 10,
        "neuron_type": "LIF",
    }
    model = SpikingEvoTextLM(**config)
    tokenizer = (
        local_tokenizer()
    )  # the document: AutoTokenizer.from_pretrained('bert-base-uncased')
    print("モデルとトークナイザーを初期化")

    # 3. アーティファクトのアップロード
    # モデル
    model_buffer = io.BytesIO()
    torch.save(model.state_dict(), model_buffer)
    model_buffer.seek(0)
    model_buffer.name = "spiking_lm.pth"
    client.upload_artifact(
        session_id, "model", model_buffer.name, model_buffer, llm_type="SpikingEvoTextLM"
    )
    print("モデルをアップロード")

    # 設定
    config_buffer = io.BytesIO(json.dumps(config).encode("utf-8"))
    config_buffer.name = "config.json"
    client.upload_artifact(
        session_id, "config", config_buffer.name, config_buffer, llm_type="SpikingEvoTextLM"
    )
    print("設定をアップロード")

    # トークナイザー
    tokenizer.save_pretrained("./tokenizer_temp")
    shutil.make_archive("tokenizer", "zip", "./tokenizer_temp")
    with open("tokenizer.zip", "rb") as f:
        zip_buffer = io.BytesIO(f.read())
        zip_buffer.name = "spiking_lm_tokenizer.zip"
        client.upload_artifact(
            session_id, "tokenizer", zip_buffer.name, zip_buffer, llm_type="SpikingEvoTextLM"
        )
    print("トークナイザーをアップロード")

    # 4. アーティファクトの確認
    artifacts = client.list_artifacts(artifact_type="model")
    print(f"最新のモデルアーティファクト: {artifacts[0]['name']}")
    return session_id


def wait_for_model(session_id: str, timeout: float = 120) -> bool:
    """Wait until the server serves the model just uploaded (it loads uploads in the background)."""
    client = EvoSpikeNetAPIClient()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.get_server_info()
        model = info.get("model") or {}
        if model.get("session_id") == session_id:
            print(f"サーバーがモデルを読み込みました (session {session_id})")
            return True
        if info.get("model_error"):
            print(f"model_error: {info['model_error']}")
        time.sleep(0.5)
    print("❌ モデルが読み込まれませんでした")
    return False


# --- 4. Text generation --------------------------------------------------------------------


def section_4_generation() -> bool:
    client = EvoSpikeNetAPIClient()
    heading("4.1 基本的なテキスト生成")
    result = client.generate("人工知能とは", max_length=100)
    print(f"生成テキスト: {result.get('generated_text', '')}")

    heading("4.2 バッチ処理")
    prompts = ["AIとは?", "機械学習の応用例"]
    results = client.batch_generate(prompts)
    for res in results:
        print(res.get("generated_text", "エラー"))

    heading("4.3 エラーハンドリング付き実行")
    result = client.with_error_handling(
        client.generate, retries=3, prompt="テストプロンプト", max_length=50
    )
    if result:
        print(f"成功: {result['generated_text']}")
    else:
        print("失敗: すべてのリトライが失敗しました")
    return bool(result) and all("generated_text" in r for r in results)


# --- 5. Distributed brain ------------------------------------------------------------------


def section_5_distributed_brain() -> bool:
    client = EvoSpikeNetAPIClient()
    heading("5.1 マルチモーダルプロンプトの送信")
    # テキストと画像を組み合わせて送信
    response = client.submit_prompt(
        prompt="この画像に写っているものは何ですか？", image_path="./examples/dummy_image.png"
    )
    prompt_id = response.get("prompt_id")
    print(f"プロンプト送信成功: {prompt_id}")
    audio = client.submit_prompt(
        prompt="この音は何ですか？", audio_path="./examples/dummy_audio.wav"
    )
    print(f"音声プロンプト送信成功: {audio['prompt_id']}")

    heading("5.3 状態監視 (get_simulation_status)")
    status = client.get_simulation_status()
    print(
        f"active_nodes={status['active_nodes']} queue_depth={status.get('queue_depth')} "
        f"last_prompt_status={status.get('last_prompt_status')}"
    )

    heading("5.2 結果のポーリング")
    if status["active_nodes"] == 0:
        print("(シミュレーションノードが0台: プロンプトはキューに残ります。待機を省略します)")
    else:
        # 上記で受け取ったprompt_idを使用
        result = client.poll_for_result(prompt_id=prompt_id, timeout=120)

        if result and result.get("response"):
            print(f"✅ 応答: {result['response']}")
        else:
            print("❌ タイムアウトまたはエラー")

    heading("5.3 リモートログ (get_remote_log)")
    try:
        log_data = client.get_remote_log(
            user="ubuntu",
            ip="192.168.1.101",
            key_path="~/.ssh/id_rsa",
            log_file_path="/tmp/sim_rank_1.log",
        )
        print(log_data.get("log_content"))
    except requests.exceptions.HTTPError as exc:
        # The server only reaches hosts its operator configured (EVOSPIKENET_NODES_FILE).
        print(f"リモートログは取得できません: {exc}")
    return bool(prompt_id)


# --- 6. Logging and artifacts --------------------------------------------------------------


def section_6_artifacts() -> bool:
    client = EvoSpikeNetAPIClient()
    heading("6.1 セッションの作成")
    session = client.create_log_session(description="テキストモデルのファインチューニング")
    session_id = session["session_id"]
    print(f"session_id: {session_id}")

    heading("6.2 アーティファクトのアップロード")
    # --- モデルと設定の準備 ---
    config = {
        "vocab_size": 1000,
        "d_model": 128,
        "n_heads": 4,
        "num_transformer_blocks": 2,
        "time_steps": 10,
        "neuron_type": "LIF",
    }
    model = SpikingEvoTextLM(**config)
    # ... 訓練 ...

    # --- アーティファクトのアップロード ---
    # 1. モデルの重み
    model_buffer = io.BytesIO()
    torch.save(model.state_dict(), model_buffer)
    model_buffer.seek(0)
    model_buffer.name = "spiking_lm.pth"
    client.upload_artifact(
        session_id, "model", "spiking_lm.pth", model_buffer, llm_type="SpikingEvoTextLM"
    )

    # 2. 設定ファイル
    config_buffer = io.BytesIO(json.dumps(config).encode("utf-8"))
    config_buffer.name = "config.json"
    client.upload_artifact(
        session_id, "config", "config.json", config_buffer, llm_type="SpikingEvoTextLM"
    )

    # 3. トークナイザー
    tokenizer = (
        local_tokenizer()
    )  # the document: AutoTokenizer.from_pretrained('bert-base-uncased')
    tokenizer.save_pretrained("./tokenizer_temp")
    shutil.make_archive("tokenizer", "zip", "./tokenizer_temp")

    with open("tokenizer.zip", "rb") as f:
        zip_buffer = io.BytesIO(f.read())
        zip_buffer.name = "spiking_lm_tokenizer.zip"
        client.upload_artifact(
            session_id,
            "tokenizer",
            "spiking_lm_tokenizer.zip",
            zip_buffer,
            llm_type="SpikingEvoTextLM",
        )
    print("モデル・設定・トークナイザーをアップロードしました")

    heading("6.3 アーティファクトのリスト化とダウンロード")
    models = client.list_artifacts(artifact_type="model")
    if models:
        latest_model_artifact = models[0]
        client.download_artifact(
            artifact_id=latest_model_artifact["artifact_id"],
            destination_path="./latest_model.pth",
        )
        print("✅ 最新モデルをダウンロードしました")
    state: dict[str, Any] = torch.load("./latest_model.pth", weights_only=True)
    print(f"latest_model.pth: {len(state)} tensors, sha256 {models[0]['sha256'][:16]}…")
    return len(state) > 0


# --- 8. Error handling ---------------------------------------------------------------------


def section_8_error_handling() -> bool:
    heading("8.1 指数バックオフリトライ")
    client = EvoSpikeNetAPIClient()

    # サーバー起動を待機
    if not client.wait_for_server(timeout=60):
        print("サーバーに接続できません")
        exit(1)

    # リトライ付きAPI呼び出し
    result = client.with_error_handling(
        client.generate, retries=5, prompt="テストプロンプト", max_length=100
    )

    if result:
        print(result["generated_text"])
    else:
        print("生成に失敗しました")

    heading("8.2 主な例外")
    stopped = EvoSpikeNetAPIClient(base_url="http://127.0.0.1:9", max_retries=0)
    try:
        stopped.generate("テスト")
    except requests.exceptions.ConnectionError as exc:
        print(f"ConnectionError (APIサーバーが停止): {type(exc).__name__}")
    try:
        client.get_session("ses_does_not_exist")
    except requests.exceptions.HTTPError as exc:
        print(f"HTTPError (HTTP 4xx/5xx): {exc.response.status_code if exc.response else ''}")
    try:
        client.submit_prompt()
    except ValueError as exc:
        print(f"ValueError (不正な引数): {exc}")
    return bool(result)


def main() -> int:
    if torch is None or SpikingEvoTextLM is None:
        print("This example needs the models extra: pip install -e '.[models]'", file=sys.stderr)
        return 2
    print(f"EvoSpikeNet API: {os.environ.get('EVOSPIKENET_API_URL', 'http://localhost:8000')}")
    if not section_3_initialization_and_health():
        return 1
    # Document order: sections 4-6 run on the server's current model (on a fresh server, the
    # bundled default that was trained here); section 7 then uploads the document's config
    # with its untrained ("ダミー") weights, and section 8 generates with that new upload.
    info = EvoSpikeNetAPIClient().get_server_info()
    served = info.get("model") or {}
    print(
        f"served model: session {served.get('session_id')} "
        f"(bundled default: {served.get('bundled_default')})"
    )
    checks = {
        "4 generation": section_4_generation(),
        "5 distributed brain": section_5_distributed_brain(),
        "6 artifacts": section_6_artifacts(),
    }
    heading("7.1 モデル訓練とアーティファクト管理の完全なワークフロー")
    session_id = complete_ml_workflow()
    checks["7 complete workflow"] = session_id is not None and wait_for_model(session_id)
    checks["8 error handling"] = section_8_error_handling()
    heading("まとめ")
    for name, ok in checks.items():
        print(f"{'✅' if ok else '❌'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
