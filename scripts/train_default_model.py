"""Train the bundled default SpikingEvoTextLM and write it to evospikenet/models/default/.

The text needs no download: Python's own documentation (pydoc's topic help and the standard
library's docstrings, read with ``ast``) and the project's Japanese prose in ``data/corpus/ja/``
(written for the project, Apache-2.0 like the code; see its README). Every paragraph or
docstring is a document; about 1 in 20 is held out (CRC32 rule) for bits per byte. The Japanese
documents are repeated ``--ja-repeat`` times in the training stream, since every prompt of the
SDK document is Japanese.

The run is resumable: the tokenizer and a checkpoint (model, optimizer, step, elapsed time)
live in ``--work-dir`` and are written every ``--checkpoint-minutes``; running the same command
again after a kill continues where it stopped, and a larger ``--minutes`` extends a finished
run. Run it in the background on an otherwise quiet core:

    nohup .venv/bin/python scripts/train_default_model.py --minutes 100 > train_default.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "evospikenet" / "models" / "default"
DEFAULT_WORK = REPO / "data" / "train-default"
JAPANESE_TEXT = REPO / "data" / "corpus" / "ja"
BASELINE_BATCH = 16  # the spiking run's batch (train_and_save keeps train_lm's default)
SAMPLE_PROMPTS = (
    "人工知能とは",
    "AIとは?",
    "機械学習の応用例",
    "テストプロンプト",
    "The for statement",
)


def corpora() -> tuple[Any, Any]:
    """The English (Python docs) and Japanese (``data/corpus/ja``) splits, in that order."""
    sys.path.insert(0, str(REPO))
    from evospikenet.models.corpus import paragraphs_of_folder, python_corpus, split_documents

    return python_corpus(), split_documents(paragraphs_of_folder(JAPANESE_TEXT))


def write_generation_defaults(config_path: Path, repetition_penalty: float) -> None:
    """Add the bundle's sampling default to its config.json (``"generation"``), which the
    server applies to requests that leave ``repetition_penalty`` out."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["generation"] = {"repetition_penalty": repetition_penalty}
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=100, help="total training wall time")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="instead of --minutes: this many optimizer steps (the learning rate's cosine runs "
        "over them), so the budget does not depend on the machine's load",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="resumable state")
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument(
        "--tokenizer",
        choices=("chars", "bytes"),
        default="chars",
        help="character BPE with byte fallback (no token holds part of a character the text "
        "uses), or byte-level BPE",
    )
    parser.add_argument("--ja-repeat", type=int, default=2)
    parser.add_argument(
        "--repetition-penalty",
        type=float,
        default=1.2,
        help='the bundle\'s sampling default, written to config.json as "generation"',
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="instead, train the same-size non-spiking baseline on the same data and tokenizer "
        "for the same budget in CPU seconds, and write its bits/byte to WORK_DIR/baseline.json",
    )
    parser.add_argument(
        "--baseline-steps",
        type=int,
        default=None,
        help="with --baseline: stop after this many optimizer steps instead (the spiking run's "
        "token count); state and result go to baseline-steps-N.pt / .json",
    )
    parser.add_argument(
        "--baseline-resume-steps",
        type=int,
        default=None,
        help="with --baseline-steps N: when baseline-steps-N.pt does not exist yet, start from a "
        "copy of baseline-steps-M.pt (M: this value), as the spiking run resumed with a larger "
        "--steps does from its checkpoint",
    )
    parser.add_argument(
        "--evaluate-now",
        action="store_true",
        help="with --baseline: evaluate the run's checkpoint as it stands, without training",
    )
    args = parser.parse_args(argv)
    if args.baseline:
        return train_baseline(args)

    sys.path.insert(0, str(REPO))
    import torch

    from evospikenet.models.checkpoint import load_checkpoint
    from evospikenet.models.recipe import train_and_save
    from evospikenet.models.serving import load_model_from_files
    from evospikenet.models.tokenizer import load_tokenizer
    from evospikenet.models.training import bits_per_byte

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    english, japanese = corpora()
    train_docs = english.train + japanese.train * args.ja_repeat
    heldout_docs = english.heldout + japanese.heldout
    print(
        f"corpus: English {english.train_bytes} train / {english.heldout_bytes} held-out bytes, "
        f"Japanese {japanese.train_bytes} / {japanese.heldout_bytes} (x{args.ja_repeat})",
        flush=True,
    )
    artifacts = train_and_save(
        train_docs,
        heldout_docs,
        args.out,
        seconds=None if args.steps else args.minutes * 60,
        steps=args.steps,
        vocab_size=args.vocab_size,
        tokenizer_kind=args.tokenizer,
        seed=args.seed,
        progress=True,
        work_dir=args.work_dir,
        checkpoint_every=args.checkpoint_minutes * 60,
    )
    write_generation_defaults(artifacts.config_path, args.repetition_penalty)
    loaded = load_model_from_files(
        artifacts.config_path, artifacts.weights_path, artifacts.tokenizer_path
    )
    model, _ = load_checkpoint(artifacts.config_path, artifacts.weights_path)
    tokenizer = load_tokenizer(artifacts.tokenizer_path)
    per_language = {}
    for name, docs in (("english", english.heldout), ("japanese", japanese.heldout)):
        text = "\n\n".join(docs)
        ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
        n_bytes = len(text.encode("utf-8"))
        bpb = bits_per_byte(model, ids, n_bytes, context_length=model.context_length)
        per_language[name] = round(bpb, 4)
    samples = {
        prompt: out.text
        for prompt, out in zip(
            SAMPLE_PROMPTS,
            loaded.generate(list(SAMPLE_PROMPTS), max_new_tokens=40, temperature=0.8, seed=0),
            strict=True,
        )
    }
    metadata = {
        **artifacts.metadata,
        "heldout_bits_per_byte_by_language": per_language,
        "corpus": "pydoc_data.topics + stdlib docstrings of Python "
        + ".".join(map(str, sys.version_info[:3]))
        + f"; data/corpus/ja (x{args.ja_repeat} in training)",
        "heldout_rule": "crc32(document) % 20 == 0",
        "script": "scripts/train_default_model.py",
        "total_seconds": round(time.perf_counter() - started, 1),
        "samples_temperature_0.8_seed_0": samples,
        "bundled_default": True,
        "torch_threads": torch.get_num_threads(),
    }
    (args.out / "training.json").write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(metadata, indent=2, ensure_ascii=False), flush=True)
    return 0


def train_baseline(args: argparse.Namespace) -> int:
    """The yardstick: BaselineTextLM on the spiking run's corpus and tokenizer, same budget."""
    sys.path.insert(0, str(REPO))
    import torch
    from tokenizers import Tokenizer

    from evospikenet.models.baseline import BaselineTextLM
    from evospikenet.models.recipe import (
        DEFAULT_ARCHITECTURE,
        WORK_TOKENIZER_NAME,
        encode_documents,
    )
    from evospikenet.models.training import bits_per_byte, train_lm

    tokenizer_path = args.work_dir / WORK_TOKENIZER_NAME
    if not tokenizer_path.exists():
        print(f"{tokenizer_path} is missing: start the spiking run first", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    english, japanese = corpora()
    train_ids = encode_documents(tokenizer, english.train + japanese.train * args.ja_repeat)
    arch = DEFAULT_ARCHITECTURE
    model = BaselineTextLM(
        tokenizer.get_vocab_size(),
        arch["d_model"],
        arch["n_heads"],
        arch["num_transformer_blocks"],
        context_length=arch["context_length"],
    )
    steps = args.baseline_steps
    stem = "baseline" if steps is None else f"baseline-steps-{steps}"
    checkpoint = args.work_dir / ("baseline-checkpoint.pt" if steps is None else f"{stem}.pt")
    earlier = args.baseline_resume_steps
    if steps is not None and earlier is not None and not checkpoint.exists():
        shutil.copyfile(args.work_dir / f"baseline-steps-{earlier}.pt", checkpoint)
    if args.evaluate_now:
        # A look at a run still in progress (its learning rate not yet annealed).
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        model.eval()
        done_steps, cpu_seconds = int(state["step"]), float(state["elapsed"])
        stem += f"-at-{cpu_seconds / 60:.0f}-cpu-min"
    else:
        report = train_lm(
            model,
            train_ids,
            seconds=None if steps else args.minutes * 60,
            steps=steps,
            batch_size=BASELINE_BATCH,
            learning_rate=3e-3,
            seed=args.seed,
            clock=time.process_time,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_minutes * 60,
        )
        done_steps, cpu_seconds = report.steps, report.seconds
    budget = f"{steps} steps" if steps else f"{args.minutes} CPU minutes"
    if args.evaluate_now:
        budget = f"checkpoint of a run in progress towards {budget}"
    result: dict[str, object] = {
        "model": "BaselineTextLM",
        "parameters": sum(p.numel() for p in model.parameters()),
        "budget": f"{budget}, {args.threads} thread(s)",
        "cpu_seconds": round(cpu_seconds, 1),
        "training_steps": done_steps,
        "training_tokens_seen": done_steps * BASELINE_BATCH * arch["context_length"],
    }
    docs = {
        "all": english.heldout + japanese.heldout,
        "english": english.heldout,
        "japanese": japanese.heldout,
    }
    for name, group in docs.items():
        text = "\n\n".join(group)
        ids = torch.tensor(tokenizer.encode(text).ids, dtype=torch.long)
        bpb = bits_per_byte(
            model, ids, len(text.encode("utf-8")), context_length=arch["context_length"]
        )
        result[f"heldout_bits_per_byte_{name}"] = round(bpb, 4)
    (args.work_dir / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
