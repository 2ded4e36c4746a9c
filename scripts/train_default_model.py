"""Train the bundled default SpikingEvoTextLM and write it to evospikenet/models/default/.

The text ships with Python (pydoc's topic help and the standard library's docstrings, read with
``ast``), so nothing is downloaded. About 1 in 20 documents is held out for bits per byte.
Run once, in the background, on an otherwise quiet machine:

    nohup .venv/bin/python scripts/train_default_model.py --minutes 9.5 > train_default.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "evospikenet" / "models" / "default"
SAMPLE_PROMPTS = ("The for statement", "Return the number of", "こんにちは")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=9.5, help="training wall time")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import torch

    from evospikenet.models.corpus import python_corpus
    from evospikenet.models.recipe import train_and_save
    from evospikenet.models.serving import load_model_from_files

    started = time.perf_counter()
    corpus = python_corpus()
    print(
        f"corpus: {len(corpus.train)} train docs ({corpus.train_bytes} bytes), "
        f"{len(corpus.heldout)} held out ({corpus.heldout_bytes} bytes)",
        flush=True,
    )
    artifacts = train_and_save(
        corpus.train,
        corpus.heldout,
        args.out,
        seconds=args.minutes * 60,
        seed=args.seed,
        progress=True,
    )
    loaded = load_model_from_files(
        artifacts.config_path, artifacts.weights_path, artifacts.tokenizer_path
    )
    samples = {
        prompt: out.text
        for prompt, out in zip(
            SAMPLE_PROMPTS,
            loaded.generate(list(SAMPLE_PROMPTS), max_new_tokens=30, temperature=0.8, seed=0),
            strict=True,
        )
    }
    metadata = {
        **artifacts.metadata,
        "corpus": "pydoc_data.topics + stdlib docstrings of Python "
        + ".".join(map(str, sys.version_info[:3])),
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


if __name__ == "__main__":
    sys.exit(main())
