"""``evospikenet train``: train a SpikingEvoTextLM on a text file on the CPU, optionally upload it.

Writes ``config.json``, ``spiking_lm.pth`` and ``spiking_lm_tokenizer.zip`` (plus
``training.json``) to ``--out``; with ``--upload`` sends the first three under one new session
with ``llm_type="SpikingEvoTextLM"``, which a server then loads for ``/api/generate``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELDOUT_FRACTION = 0.05
MIN_CHARS_FOR_HELDOUT = 10_000


def register(subparsers: Any) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a spiking language model on a text file",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--text", type=Path, required=True, help="UTF-8 text file to train on")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="wall-clock training budget (default 5)")
    budget.add_argument("--steps", type=int, help="number of optimizer steps")
    parser.add_argument("--out", type=Path, default=Path("spiking_lm_out"), help="output folder")
    parser.add_argument("--upload", action="store_true", help="upload the artifacts via the SDK")
    parser.add_argument("--base-url", help="server URL for --upload (default: EVOSPIKENET_API_URL)")
    parser.add_argument("--description", help="session description for --upload")
    parser.add_argument("--vocab-size", type=int, default=2048, help="BPE vocabulary size")
    parser.add_argument(
        "--tokenizer",
        choices=("bytes", "chars"),
        default="bytes",
        help="byte-level BPE, or character BPE with byte fallback (whole characters only)",
    )
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=4, help="num_transformer_blocks")
    parser.add_argument("--time-steps", type=int, default=4)
    parser.add_argument("--neuron-type", default="LIF", help="LIF or ALIF")
    parser.add_argument("--context-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=handle_train)


def split_heldout(text: str) -> tuple[str, str]:
    """Keep the last ~5% of a long text (cut at a line break) for measuring bits per byte."""
    if len(text) < MIN_CHARS_FOR_HELDOUT:
        return text, ""
    cut = text.rfind("\n", 0, int(len(text) * (1 - HELDOUT_FRACTION)))
    if cut <= 0:
        cut = int(len(text) * (1 - HELDOUT_FRACTION))
    return text[:cut], text[cut:].strip("\n")


def upload_artifacts(
    artifacts: Any, *, base_url: str | None = None, description: str | None = None
) -> str:
    """Upload config, tokenizer and weights under one new session; returns the session id.

    The model goes last: a server that picks the newest session with a model then finds its
    config and tokenizer already there. The client is closed when done.
    """
    from evospikenet.sdk import EvoSpikeNetAPIClient

    summary = description or (
        "evospikenet train: SpikingEvoTextLM, "
        f"{artifacts.metadata.get('heldout_bits_per_byte', '?')} bits/byte held out"
    )
    uploads = (
        ("config", artifacts.config_path),
        ("tokenizer", artifacts.tokenizer_path),
        ("model", artifacts.weights_path),
    )
    with EvoSpikeNetAPIClient(base_url=base_url) as client:
        session_id = str(client.create_log_session(summary)["session_id"])
        for artifact_type, path in uploads:
            with path.open("rb") as handle:
                client.upload_artifact(
                    session_id, artifact_type, path.name, handle, llm_type="SpikingEvoTextLM"
                )
    return session_id


def _fail(message: str) -> int:
    print(f"evospikenet train: error: {message}", file=sys.stderr)
    return 2


def handle_train(args: argparse.Namespace) -> int:
    """Run the ``train`` command; returns the process exit code."""
    if args.minutes is not None and not args.minutes > 0:
        return _fail(f"--minutes must be positive, got {args.minutes}")
    if args.steps is not None and args.steps < 1:
        return _fail(f"--steps must be positive, got {args.steps}")
    try:
        text = args.text.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return _fail(f"--text {args.text}: not UTF-8 text")
    except OSError as exc:
        return _fail(f"--text {args.text}: {exc.strerror or exc}")
    if not text.strip():
        return _fail(f"--text {args.text}: the file is empty")
    try:
        from evospikenet.models.recipe import train_and_save
    except ImportError as exc:
        return _fail(f"the model extra is missing ({exc}); pip install 'evospikenet[models]'")

    train_text, heldout_text = split_heldout(text)
    minutes = args.minutes if args.minutes is not None or args.steps is not None else 5.0
    architecture = {
        "d_model": args.d_model,
        "n_heads": args.n_heads,
        "num_transformer_blocks": args.blocks,
        "time_steps": args.time_steps,
        "neuron_type": args.neuron_type,
        "context_length": args.context_length,
    }
    try:
        artifacts = train_and_save(
            [train_text],
            [heldout_text] if heldout_text else [],
            args.out,
            seconds=minutes * 60 if minutes is not None else None,
            steps=args.steps,
            vocab_size=args.vocab_size,
            tokenizer_kind=args.tokenizer,
            architecture=architecture,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            progress=not args.no_progress,
        )
    except ValueError as exc:
        return _fail(str(exc))
    meta = artifacts.metadata
    bpb = meta.get("heldout_bits_per_byte")
    print(
        f"trained {meta['training_steps']} steps in {meta['training_seconds']} s "
        f"({meta['training_tokens_per_second']} tokens/s)"
        + (f"; held-out {bpb} bits/byte" if bpb is not None else "")
    )
    print(f"wrote {artifacts.config_path}, {artifacts.weights_path}, {artifacts.tokenizer_path}")
    if not args.upload:
        return 0
    try:
        session_id = upload_artifacts(
            artifacts, base_url=args.base_url, description=args.description
        )
    except Exception as exc:  # the SDK's errors; the files stay on disk for a retry
        print(f"evospikenet train: upload failed: {exc}", file=sys.stderr)
        return 1
    print(f"uploaded under session {session_id}")
    return 0
