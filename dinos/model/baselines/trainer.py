"""One small trainer and scorer shared by every baseline.

A baseline is a `ClipModel`: it binds its front end to the corpus' native sample rate, turns clips
into training examples (`examples`), defines a per-batch `loss` and a per-example anomaly score
(`example_scores`). `fit` trains it with Adam on shuffled mini-batches; `score` gives one number per
clip, the mean of its examples' scores (higher = more anomalous).

Determinism: `fit` and `score` run inside `torch.random.fork_rng` seeded from `seed` (dropout, masks)
and shuffle with their own `torch.Generator`, so two runs with the same seed give the same weights and
scores on the same machine, and the caller's global RNG state is left untouched.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .features import clip_rate


@dataclass(frozen=True)
class Clip:
    """One decoded clip: mono float32 waveform at its native rate plus what the protocols need."""

    wave: np.ndarray
    sample_rate: int
    machine: str = ""
    section: int = 0
    domain: str = "source"
    label: str = "normal"  # normal | anomaly | unknown
    file: str = ""
    clip_id: str = ""  # the corpus row's clip id (what `dinos score asd` matches scores to)


@dataclass
class Examples:
    """Training/scoring examples: inputs `x`, optional targets `y`, and the clip each row belongs to."""

    x: torch.Tensor
    y: torch.Tensor | None
    owner: torch.Tensor  # (N,) int64 clip index


@dataclass(frozen=True)
class FitConfig:
    """Optimiser settings (Adam)."""

    epochs: int = 1
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0


@dataclass
class FitReport:
    """Mean training loss per epoch and seconds per epoch."""

    losses: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    examples: int = 0


class ClipModel(nn.Module):
    """Base class of the baselines (see the module docstring)."""

    #: registry name and table label, set by subclasses
    name = "clip-model"
    label = "clip model"

    def __init__(self) -> None:
        super().__init__()
        self.sample_rate: int | None = None

    def bind(self, sample_rate: int) -> None:
        """Build the front end for `sample_rate`; a model bound to another rate refuses the clips."""
        if self.sample_rate is not None and self.sample_rate != int(sample_rate):
            raise ValueError(f"{self.name} was trained at {self.sample_rate} Hz; clips are at {sample_rate} Hz")
        self.sample_rate = int(sample_rate)

    def prepare(self, clips: Sequence[Clip]) -> None:
        """Learn what the training clips define before training (e.g. the section classes)."""

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def default_fit(self) -> FitConfig:
        return FitConfig()


def _batches(n: int, batch_size: int, gen: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen) if gen is not None else torch.arange(n)
    parts = list(order.split(max(1, int(batch_size))))
    if gen is not None and len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]  # BatchNorm cannot train on a batch of one
    return parts


def fit(model: ClipModel, clips: Sequence[Clip], config: FitConfig | None = None, *,
        progress: bool = False, device: str | torch.device = "cpu") -> FitReport:
    """Train `model` on `clips` (Adam, `config` or the model's own defaults); returns the epoch losses.

    Examples are computed on the CPU; with `device` the model and each mini-batch are moved there for
    training (the model stays there; `score` follows it)."""
    if not clips:
        raise ValueError(f"{model.name}: no training clips")
    cfg = config or model.default_fit()
    model.bind(clip_rate(clips))
    report = FitReport()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model.prepare(clips)
        model.cpu().train()
        with torch.no_grad():
            ex = model.examples(clips, train=True)
        model.to(device)
        report.examples = len(ex.x)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(cfg.seed)
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            total, count = 0.0, 0
            for idx in _batches(len(ex.x), cfg.batch_size, gen):
                yb = None if ex.y is None else ex.y[idx].to(device)
                loss = model.loss(ex.x[idx].to(device), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
            report.losses.append(total / max(count, 1))
            report.epoch_seconds.append(time.perf_counter() - t0)
            if progress and (epoch + 1 == cfg.epochs or (epoch + 1) % max(1, cfg.epochs // 10) == 0):
                print(f"{model.name} epoch {epoch + 1}/{cfg.epochs} loss {report.losses[-1]:.5g}", flush=True)
    model.eval()
    return report


@torch.no_grad()
def score(model: ClipModel, clips: Sequence[Clip], *, batch_size: int = 512, seed: int = 0) -> np.ndarray:
    """Per-clip anomaly scores (mean of the clip's example scores), float64, in the order of `clips`."""
    if not clips:
        return np.zeros(0)
    if model.sample_rate is None:
        raise ValueError(f"{model.name} is not trained (fit it first)")
    model.bind(clip_rate(clips))
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ex = model.cpu().examples(clips, train=False)  # examples on the CPU, scores where the model lives
        model.to(device)
        parts = [model.example_scores(ex.x[i].to(device), None if ex.y is None else ex.y[i].to(device)).cpu()
                 for i in _batches(len(ex.x), batch_size, None)]
    per_example = torch.cat(parts).double()
    sums = torch.zeros(len(clips), dtype=torch.float64).index_add_(0, ex.owner, per_example)
    counts = torch.bincount(ex.owner, minlength=len(clips)).double()
    if (counts == 0).any():
        raise ValueError(f"{model.name}: {int((counts == 0).sum())} clip(s) gave no examples")
    return (sums / counts).numpy()


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
