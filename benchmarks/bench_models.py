"""SpikingEvoTextLM against a same-size non-spiking transformer, in one run, on the CPU.

Measures, on Python's own text (pydoc topics + stdlib docstrings, 1 in 20 documents held out):

- held-out bits per byte after the same CPU-time training budget for each model (process CPU
  seconds, so a machine shared with other jobs does not favour either model);
- training tokens per CPU second; spike rate per neuron layer;
- generation tokens per wall and per CPU second, with and without cached state (one prompt;
  8 prompts batched);
- count baselines on the same split: unigram, bigram, gzip -9.

    .venv/bin/python benchmarks/bench_models.py --seconds 75 \
        --json benchmarks/results_models.json

``--decode-only`` skips training and times cached decoding of both models (random weights, or
``--spiking-model DIR``), alternating them for ``--rounds``: a before/after figure in a minute.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
GENERATION_THREADS = 1
"""Decoding runs tiny ops: on a busy 2-core machine two intra-op threads wait on each other
(measured 17 tok/s with 2 threads against 888 with 1 for the baseline), so 1 thread."""


def count_baselines(train_ids: Any, heldout_ids: Any, vocab: int, n_bytes: int) -> dict[str, float]:
    """Unigram and bigram (add-0.1 smoothed) bits per byte on the held-out ids."""
    import torch

    uni = torch.bincount(train_ids, minlength=vocab).double() + 0.1
    uni_logp = (uni / uni.sum()).log()
    unigram = -uni_logp[heldout_ids].sum().item()
    pairs = train_ids[:-1] * vocab + train_ids[1:]
    bi = torch.bincount(pairs, minlength=vocab * vocab).double().view(vocab, vocab) + 0.1
    bi_logp = (bi / bi.sum(1, keepdim=True)).log()
    bigram = -bi_logp[heldout_ids[:-1], heldout_ids[1:]].sum().item() - uni_logp[heldout_ids[0]]
    to_bpb = 1 / math.log(2) / n_bytes
    return {"unigram": unigram * to_bpb, "bigram": float(bigram) * to_bpb}


def generation_speed(
    model: Any, prompt: list[int], new: int, *, use_cache: bool, batch: int = 1
) -> dict[str, float]:
    """New tokens per wall second and per CPU second (summed over the batch)."""
    prompts = [prompt] * batch
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(GENERATION_THREADS)
    model.generate(prompts, 4, seed=0, use_cache=use_cache)  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    out = model.generate(prompts, new, seed=0, use_cache=use_cache)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = sum(len(o) for o in out)
    torch.set_num_threads(threads)
    return {"wall": round(tokens / wall, 1), "cpu": round(tokens / cpu, 1)}


def neuron_speed() -> dict[str, Any]:
    """LIF forward+backward, ms of CPU per call on a (4, 2048, 512) input: the fused autograd
    node against the same dynamics composed of per-step torch ops; and a full training step."""
    import torch

    from evospikenet.models.neurons import LIF, _SpikeFn
    from evospikenet.models.spiking_lm import SpikingEvoTextLM

    def per_step(x: Any) -> Any:
        v = torch.zeros_like(x[0])
        out = []
        for t in range(x.shape[0]):
            v = v + (x[t] - v) / 2.0
            s = _SpikeFn.apply(v - 0.5, 2.0)
            v = v * (1 - s.detach())
            out.append(s)
        return torch.stack(out)

    def timed(fn: Any, repeats: int = 5) -> float:
        x = torch.randn(4, 2048, 512, requires_grad=True)
        grad = torch.randn(4, 2048, 512)
        fn(x).backward(grad)
        started = time.process_time()
        for _ in range(repeats):
            fn(x).backward(grad)
        return round((time.process_time() - started) / repeats * 1000, 1)

    model = SpikingEvoTextLM(2048, 128, 4, 4, 4, context_length=128)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    batch = torch.randint(0, 2048, (16, 129))

    def train_step() -> None:
        logits = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 2048), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_step()
    started = time.process_time()
    for _ in range(5):
        train_step()
    return {
        "lif_fwd_bwd_ms_fused": timed(LIF(tau=2.0, threshold=0.5)),
        "lif_fwd_bwd_ms_per_step_ops": timed(per_step),
        "train_tokens_per_cpu_s": round(5 * 16 * 128 / (time.process_time() - started)),
    }


def decode_threads(rounds: int = 3) -> dict[str, list[float]]:
    """Bundled default, one prompt, 50 new tokens: tokens/s with 1 and 2 intra-op threads,
    alternating, ``rounds`` times (the serving layer's ``LoadedModel.threads`` choice)."""
    from evospikenet.models.serving import bundled_default_files, load_model_from_files

    loaded = load_model_from_files(*bundled_default_files())
    results: dict[str, list[float]] = {"threads=1": [], "threads=2": []}
    for round_index in range(rounds):
        for threads in (1, 2):
            loaded.threads = threads
            started = time.perf_counter()
            (out,) = loaded.generate(["The for statement"], max_new_tokens=50, seed=round_index)
            rate = out.generated_tokens / (time.perf_counter() - started)
            results[f"threads={threads}"].append(round(rate, 1))
    return results


def decode_only(rounds: int, spiking_dir: Path | None) -> dict[str, Any]:
    """Cached decoding tokens/s of the spiking model and the same-size baseline, no training.

    Random weights (seed 0) for both, or the spiking model's ``config.json`` + ``spiking_lm.pth``
    from ``spiking_dir``; a fixed 13-token prompt; one prompt (64 new tokens) and 8 batched
    prompts (32 new tokens each). The models alternate for ``rounds`` rounds so that both see the
    same machine state; each figure is the median over the rounds.
    """
    import statistics

    import torch

    from evospikenet.models.baseline import BaselineTextLM
    from evospikenet.models.checkpoint import parse_config
    from evospikenet.models.recipe import DEFAULT_ARCHITECTURE
    from evospikenet.models.spiking_lm import SpikingEvoTextLM

    torch.manual_seed(0)
    if spiking_dir is None:
        spiking = SpikingEvoTextLM(vocab_size=2048, **DEFAULT_ARCHITECTURE)
    else:
        config, _ = parse_config((spiking_dir / "config.json").read_bytes())  # model keys only
        spiking = SpikingEvoTextLM(**config)
        state = torch.load(spiking_dir / "spiking_lm.pth", weights_only=True, map_location="cpu")
        spiking.load_state_dict(state)
    cfg = spiking.config
    baseline = BaselineTextLM(
        cfg["vocab_size"],
        cfg["d_model"],
        cfg["n_heads"],
        cfg["num_transformer_blocks"],
        context_length=cfg["context_length"],
    )
    models = {"spiking": spiking.eval(), "baseline": baseline.eval()}
    prompt = torch.randint(0, cfg["vocab_size"], (13,), generator=torch.Generator().manual_seed(1))
    kinds = [f"{case}_{clock}" for case in ("cached", "cached_batch8") for clock in ("wall", "cpu")]
    runs: dict[str, dict[str, list[float]]] = {name: {k: [] for k in kinds} for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            for case, speed in (
                ("cached", generation_speed(model, prompt.tolist(), 64, use_cache=True)),
                (
                    "cached_batch8",
                    generation_speed(model, prompt.tolist(), 32, use_cache=True, batch=8),
                ),
            ):
                for clock, value in speed.items():
                    runs[name][f"{case}_{clock}"].append(value)
    medians = {
        name: {key: statistics.median(values) for key, values in entry.items()}
        for name, entry in runs.items()
    }
    return {
        "weights": "random (seed 0)" if spiking_dir is None else str(spiking_dir),
        "rounds": rounds,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "tok_s_median": medians,
        "spiking_over_baseline": {
            key: round(medians["spiking"][key] / medians["baseline"][key], 3) for key in kinds
        },
        "tok_s_per_round": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=75.0, help="training budget per model, in CPU seconds"
    )
    parser.add_argument("--time-steps", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=1, help="training threads (1: CPU time is all real work)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--neurons-only", action="store_true", help="only time the LIF layer and a training step"
    )
    parser.add_argument(
        "--decode-threads", action="store_true", help="only compare 1 and 2 decoding threads"
    )
    parser.add_argument(
        "--decode-only",
        action="store_true",
        help="only cached decoding tok/s, spiking vs baseline, untrained (no training run)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds, --decode-only")
    parser.add_argument(
        "--spiking-model",
        type=Path,
        help="--decode-only: a folder with config.json and spiking_lm.pth (else random weights)",
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import torch

    from evospikenet.models.baseline import BaselineTextLM
    from evospikenet.models.corpus import python_corpus
    from evospikenet.models.recipe import DEFAULT_ARCHITECTURE, encode_documents
    from evospikenet.models.spiking_lm import SpikingEvoTextLM
    from evospikenet.models.tokenizer import train_bpe_tokenizer
    from evospikenet.models.training import bits_per_byte, train_lm

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if args.neurons_only:
        print(json.dumps(neuron_speed(), indent=2))
        return 0
    if args.decode_threads:
        print(json.dumps(decode_threads(), indent=2))
        return 0
    if args.decode_only:
        print(json.dumps(decode_only(args.rounds, args.spiking_model), indent=2))
        return 0
    corpus = python_corpus()
    tokenizer = train_bpe_tokenizer(corpus.train, vocab_size=2048)
    vocab = tokenizer.get_vocab_size()
    train_ids = encode_documents(tokenizer, corpus.train)
    heldout_text = "\n\n".join(corpus.heldout)
    heldout_ids = torch.tensor(tokenizer.encode(heldout_text).ids, dtype=torch.long)
    n_bytes = len(heldout_text.encode("utf-8"))
    arch = {**DEFAULT_ARCHITECTURE, "time_steps": args.time_steps}
    context = arch["context_length"]
    results: dict[str, Any] = {
        "setup": {
            "train_bytes": corpus.train_bytes,
            "heldout_bytes": n_bytes,
            "vocab": vocab,
            "architecture": arch,
            "seconds_per_model": args.seconds,
            "training_threads": torch.get_num_threads(),
            "generation_threads": GENERATION_THREADS,
            "torch": torch.__version__,
        },
        "counts_bits_per_byte": {
            **count_baselines(train_ids, heldout_ids, vocab, n_bytes),
            "gzip-9": len(gzip.compress(heldout_text.encode("utf-8"), 9)) * 8 / n_bytes,
        },
    }
    prompt = tokenizer.encode("The for statement is used to iterate over the elements of").ids
    contenders = {
        "spiking": (lambda: SpikingEvoTextLM(vocab_size=vocab, **arch), 1e-2),
        "baseline": (
            lambda: BaselineTextLM(
                vocab,
                arch["d_model"],
                arch["n_heads"],
                arch["num_transformer_blocks"],
                context_length=context,
            ),
            3e-3,
        ),
    }
    for name, (build, learning_rate) in contenders.items():
        torch.manual_seed(0)
        model = build()
        wall = time.perf_counter()
        report = train_lm(
            model,
            train_ids,
            seconds=args.seconds,
            learning_rate=learning_rate,
            progress=False,
            clock=time.process_time,
        )
        wall = time.perf_counter() - wall
        started = time.perf_counter()
        bpb = bits_per_byte(model, heldout_ids, n_bytes, context_length=context)
        entry: dict[str, Any] = {
            "parameters": sum(p.numel() for p in model.parameters()),
            "learning_rate": learning_rate,
            "train_steps": report.steps,
            "train_cpu_seconds": round(report.seconds, 1),
            "train_wall_seconds": round(wall, 1),
            "train_tokens_per_cpu_s": round(report.tokens_per_second),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "heldout_bits_per_byte": round(bpb, 4),
            "eval_seconds": round(time.perf_counter() - started, 1),
            "gen_tok_s_no_cache": generation_speed(model, prompt, 32, use_cache=False),
            "gen_tok_s_cached": generation_speed(model, prompt, 64, use_cache=True),
            "gen_tok_s_cached_batch8": generation_speed(model, prompt, 32, use_cache=True, batch=8),
        }
        if isinstance(model, SpikingEvoTextLM):
            model.track_spike_rates()
            with torch.no_grad():
                model(heldout_ids[: 4 * context].view(4, context))
            entry["spike_rate_per_layer"] = {k: round(v, 4) for k, v in model.spike_rates().items()}
            rates = list(entry["spike_rate_per_layer"].values())
            entry["spike_rate_mean"] = round(sum(rates) / len(rates), 4)
            model.track_spike_rates(False)
        results[name] = entry
        print(json.dumps({name: entry}, indent=2), flush=True)

    torch.manual_seed(0)
    document_model = SpikingEvoTextLM(
        vocab_size=30522, d_model=128, n_heads=4, num_transformer_blocks=2, time_steps=10
    ).eval()
    results["document_config_T10_untrained"] = {
        "gen_tok_s_cached": generation_speed(document_model, prompt, 64, use_cache=True),
        "gen_tok_s_no_cache": generation_speed(document_model, prompt, 32, use_cache=False),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
