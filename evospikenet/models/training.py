"""CPU training loop for next-token prediction, with a time or step budget, and bits per byte.

The learning rate warms up linearly, then follows a cosine over the budget; with a time budget
the cosine runs on elapsed time, so a run of N minutes always ends at the low learning rate.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class TrainingReport:
    """What a training run did."""

    steps: int
    tokens: int
    seconds: float
    final_loss: float
    """Mean training loss (nats/token) over the last 20 steps."""
    history: list[tuple[float, int, float]] = field(default_factory=list)
    """``(elapsed seconds, step, loss)`` samples."""

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def _learning_rate(peak: float, step: int, warmup: int, progress: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(max(progress, 0.0), 1.0)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def random_windows(
    token_ids: Tensor, batch_size: int, length: int, generator: torch.Generator
) -> Tensor:
    """``(batch_size, length + 1)`` windows at random offsets of a 1-D id tensor."""
    starts = torch.randint(0, token_ids.numel() - length - 1, (batch_size,), generator=generator)
    return torch.stack([token_ids[s : s + length + 1] for s in starts.tolist()])


def train_lm(
    model: nn.Module,
    token_ids: Tensor,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    batch_size: int = 16,
    context_length: int | None = None,
    learning_rate: float = 1e-2,
    weight_decay: float = 0.01,
    warmup_steps: int = 30,
    seed: int = 0,
    progress: bool = True,
    on_step: Callable[[int, float, float], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    checkpoint: Path | None = None,
    checkpoint_every: float = 300.0,
) -> TrainingReport:
    """Train ``model`` (its ``forward(ids) -> logits``) on a 1-D tensor of token ids.

    Stops after ``seconds`` of wall time or ``steps`` optimizer steps, whichever comes first
    (at least one must be given). ``on_step(step, elapsed, loss)`` is called after each step.
    ``clock`` measures the budget: wall time by default; ``time.process_time`` gives every run
    the same CPU time on a machine shared with other work.

    With ``checkpoint``, the model, optimizer, step, elapsed budget and sampler state are saved
    there atomically every ``checkpoint_every`` seconds and at the end; a run that finds the file
    resumes from it, so a killed run loses at most ``checkpoint_every`` seconds of work and the
    budget counts the time already spent.
    """
    if seconds is None and steps is None:
        raise ValueError("give a budget: seconds or steps")
    if seconds is not None and seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    length = context_length or int(getattr(model, "context_length", 128))
    if token_ids.dim() != 1 or token_ids.numel() < length + 2:
        raise ValueError(f"need a 1-D token tensor longer than {length + 1} tokens")
    torch.set_flush_denormal(True)
    generator = torch.Generator().manual_seed(seed)
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        (decay if param.dim() >= 2 else no_decay).append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0}],
        lr=learning_rate,
        betas=(0.9, 0.98),
    )
    step, losses, history = 0, [], []
    elapsed = 0.0
    if checkpoint is not None and checkpoint.exists():
        state = load_training_state(checkpoint, model, optimizer, generator)
        step, elapsed = state["step"], state["elapsed"]
        losses, history = state["losses"], state["history"]
    bar = _progress_bar(progress, seconds, steps)
    if bar is not None and elapsed:
        bar.update(min(elapsed, bar.total) if seconds else step)
    model.train()
    started = clock() - elapsed
    saved_at = elapsed
    while True:
        fraction = max(elapsed / seconds if seconds else 0.0, step / steps if steps else 0.0)
        lr = _learning_rate(learning_rate, step, warmup_steps, fraction)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = random_windows(token_ids, batch_size, length, generator)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        value = loss.item()
        losses.append(value)
        now = clock() - started
        if bar is not None:
            bar.update(1 if steps and not seconds else min(now, bar.total) - bar.n)
            bar.set_postfix(
                loss=f"{value:.3f}", tok_s=f"{step * batch.shape[0] * length / now:.0f}"
            )
        elapsed = now
        history.append((elapsed, step, value))
        if on_step is not None:
            on_step(step, elapsed, value)
        done = (seconds is not None and elapsed >= seconds) or (steps is not None and step >= steps)
        if checkpoint is not None and (done or elapsed - saved_at >= checkpoint_every):
            save_training_state(
                checkpoint, model, optimizer, generator, step, elapsed, losses, history
            )
            saved_at = elapsed
        if done:
            break
    if bar is not None:
        bar.close()
    model.eval()
    tail = losses[-20:]
    return TrainingReport(
        steps=step,
        tokens=step * batch_size * length,
        seconds=elapsed,
        final_loss=sum(tail) / len(tail),
        history=history,
    )


def save_training_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    step: int,
    elapsed: float,
    losses: list[float],
    history: list[tuple[float, int, float]],
) -> None:
    """Write a resumable training checkpoint atomically (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "step": step,
        "elapsed": elapsed,
        "losses": losses[-20:],
        "history": history[-2000:],
    }
    with tmp.open("wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def load_training_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_training_state` into the given objects."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return {
        "step": int(state["step"]),
        "elapsed": float(state["elapsed"]),
        "losses": [float(x) for x in state["losses"]],
        "history": [(float(a), int(b), float(c)) for a, b, c in state["history"]],
    }


def _progress_bar(enabled: bool, seconds: float | None, steps: int | None) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm  # type: ignore[import-untyped]

    if seconds is not None:
        return tqdm(total=round(seconds), unit="s", desc="training", bar_format=_TIME_FORMAT)
    return tqdm(total=steps, unit="step", desc="training")


_TIME_FORMAT = "{l_bar}{bar}| {elapsed}<{remaining}{postfix}"


@torch.no_grad()
def mean_nll(
    model: nn.Module, token_ids: Tensor, *, context_length: int, batch_size: int = 8
) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of ``token_ids[1:]`` and how many tokens it covers.

    The text is cut into windows of ``context_length`` predictions that start where the
    previous one ended, so every token after the first is predicted exactly once.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        windows = [
            token_ids[s : s + context_length + 1]
            for s in range(0, token_ids.numel() - 1, context_length)
        ]
        full = [w for w in windows if w.numel() == context_length + 1]
        groups = [torch.stack(full[i : i + batch_size]) for i in range(0, len(full), batch_size)]
        groups += [w[None] for w in windows if w.numel() != context_length + 1]
        for group in groups:
            logits = model(group[:, :-1])
            targets = group[:, 1:].reshape(-1)
            nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="sum")
            total += float(nll)
            count += targets.numel()
    finally:
        model.train(was_training)
    return total, count


def bits_per_byte(
    model: nn.Module, token_ids: Tensor, n_bytes: int, *, context_length: int
) -> float:
    """Held-out bits per UTF-8 byte: total NLL in bits divided by the text's byte count."""
    total, _ = mean_nll(model, token_ids, context_length=context_length)
    return total / math.log(2) / n_bytes
