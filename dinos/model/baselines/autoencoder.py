"""The frame-stacked dense autoencoder: MIMII DUE's AE baseline (seed 001) and the AWS blog's (seed 004).

Input: `n_frames` consecutive log-Mel frames stacked into one vector (`features.stack_frames`).
Network: `hidden` dense layers with ReLU, a `bottleneck` layer with ReLU, the mirrored hidden
layers, and a linear output of the input size. Loss: MSE. Anomaly score of a clip: the mean over its
vectors of the vector's mean squared reconstruction error.

Presets (`AE_PRESETS`):
- `mimii_due_ae` (MIMII DUE paper §4): 128 log-Mel bands, 64 ms frames / 32 ms hop, 5 frames -> 640
  inputs; 640-128-128-128-128-8-128-128-128-128-640; Adam lr 1e-3, batch 512, 100 epochs.
- `blog_ae` (AWS blog companion code): 64 bands x 5 frames -> 320 inputs; 320-64-64-8-64-64-320;
  n_fft 2048 / hop 512 (128 ms / 32 ms at 16 kHz), `power_to_db(ref=max)`; Adam (Keras default lr
  1e-3), batch 128, 30 epochs.
- `tiny`: the same shape at CPU-test size (32 bands x 3 frames, 32-8-32).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from .features import FrameLogMel, LogMelSpec, clip_logmels, stack_frames
from .trainer import Clip, ClipModel, Examples, FitConfig


@dataclass(frozen=True)
class AEConfig:
    """Frame-stacked autoencoder: front end, layer sizes and training defaults."""

    spec: LogMelSpec = field(default_factory=LogMelSpec)
    n_frames: int = 5
    hidden: tuple[int, ...] = (128, 128, 128, 128)
    bottleneck: int = 8
    batch_norm: bool = False  # the DCASE 2021 Keras baseline code has BN after each hidden layer; the paper none
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=100, batch_size=512, lr=1e-3))

    @property
    def input_dim(self) -> int:
        return self.n_frames * self.spec.n_mels


AE_PRESETS: dict[str, AEConfig] = {
    "mimii_due_ae": AEConfig(),
    "blog_ae": AEConfig(
        spec=LogMelSpec(frame_ms=128.0, hop_ms=32.0, n_mels=64, power=2.0, db="ref_max"),
        n_frames=5, hidden=(64, 64), bottleneck=8,
        fit=FitConfig(epochs=30, batch_size=128, lr=1e-3),
    ),
    "tiny": AEConfig(
        spec=LogMelSpec(frame_ms=64.0, hop_ms=32.0, n_mels=32),
        n_frames=3, hidden=(32,), bottleneck=8, fit=FitConfig(epochs=2, batch_size=128, lr=1e-3),
    ),
}


def _dense(n_in: int, n_out: int, bn: bool) -> list[nn.Module]:
    return [nn.Linear(n_in, n_out), *([nn.BatchNorm1d(n_out)] if bn else []), nn.ReLU()]


class FrameAutoencoder(ClipModel):
    """Dense autoencoder on frame-stacked log-Mel vectors (see the module docstring)."""

    name = "frame_ae"
    label = "Frame-stacked AE"

    def __init__(self, config: AEConfig | str = "mimii_due_ae", **overrides):
        super().__init__()
        cfg = AE_PRESETS[config] if isinstance(config, str) else config
        self.config = replace(cfg, **overrides) if overrides else cfg
        c = self.config
        sizes = [c.input_dim, *c.hidden, c.bottleneck, *reversed(c.hidden)]
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += _dense(a, b, c.batch_norm)
        layers.append(nn.Linear(sizes[-1], c.input_dim))
        self.net = nn.Sequential(*layers)
        self.frontend: FrameLogMel | None = None

    def bind(self, sample_rate: int) -> None:
        super().bind(sample_rate)
        if self.frontend is None:
            self.frontend = FrameLogMel(self.config.spec, sample_rate)

    def default_fit(self) -> FitConfig:
        return self.config.fit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        assert self.frontend is not None
        vecs, owner = [], []
        for i, spec in enumerate(clip_logmels(self.frontend, clips)):
            v = stack_frames(spec, self.config.n_frames)
            vecs.append(v)
            owner.append(torch.full((len(v),), i, dtype=torch.int64))
        return Examples(torch.cat(vecs), None, torch.cat(owner))

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return nn.functional.mse_loss(self(x), x)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return (self(x) - x).square().mean(dim=1)
