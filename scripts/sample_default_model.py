"""Samples of a model for the SDK document's prompts, as the server makes them: the table of
``docs/models.md`` and, over more seeds, how many continuations are Japanese and how many
repeat a word three times in a row.

    .venv/bin/python scripts/sample_default_model.py                      # the bundled default
    .venv/bin/python scripts/sample_default_model.py --penalties 1.0,1.2  # compare penalties

Prints a Markdown table per penalty (seeds ``--table-seeds``) and one line of counts per
penalty over ``--seeds`` seeds × the prompts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    from evospikenet.models.sample_checks import DOCUMENT_PROMPTS, is_japanese, stutters
    from evospikenet.models.serving import bundled_default_files, load_model_from_files

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None, help="default: the bundle")
    parser.add_argument("--penalties", default="", help="comma-separated; default: the model's")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--table-seeds", default="1,2")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0..N-1 for the counts")
    args = parser.parse_args(argv)
    if args.model_dir is None:
        files = bundled_default_files()
    else:
        names = ("config.json", "spiking_lm.pth", "spiking_lm_tokenizer.zip")
        files = tuple(args.model_dir / name for name in names)  # type: ignore[assignment]
    loaded = load_model_from_files(*files)
    penalties = [float(p) for p in args.penalties.split(",") if p] or [None]
    table_seeds = [int(s) for s in args.table_seeds.split(",") if s]
    for penalty in penalties:

        def sample(seed: int, penalty: float | None = penalty) -> list[str]:
            outputs = loaded.generate(
                list(DOCUMENT_PROMPTS),
                max_new_tokens=args.max_new_tokens,
                temperature=args.temperature,
                seed=seed,
                repetition_penalty=penalty,
            )
            return [output.text for output in outputs]

        shown = penalty if penalty is not None else loaded.generation_defaults
        print(f"\n### repetition_penalty {shown}, temperature {args.temperature}\n")
        print("| prompt | " + " | ".join(f"seed {s}" for s in table_seeds) + " |")
        print("|---|" + "---|" * len(table_seeds))
        columns = [sample(seed) for seed in table_seeds]
        for row, prompt in enumerate(DOCUMENT_PROMPTS):
            cells = [column[row].replace("\n", " ").replace("|", "\\|") for column in columns]
            print(f"| {prompt} | " + " | ".join(cells) + " |")
        texts = [text for seed in range(args.seeds) for text in sample(seed)]
        japanese = sum(map(is_japanese, texts))
        stuttering = sum(map(stutters, texts))
        print(
            f"\ncounts over {len(texts)} continuations: {japanese} Japanese, "
            f"{stuttering} with a piece repeated three times in a row"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
