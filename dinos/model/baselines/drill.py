"""The drill study's augmentation (seed 002): a 1-D convolutional VAE over short waveforms, and a small
log-Mel image CNN standing in for the ImageNet-pretrained AlexNet (its weights cannot be fetched here).

`WaveVAE`: the waveform (the first `length` samples, zero-padded; mapped from [-1, 1] to [0, 1] for the
BCE loss) passes 4 x [Conv1d (kernel 4, stride 2) + ReLU + residual block with InstanceNorm] and a
linear layer to the mean and log-variance of a `latent`-dimensional Gaussian; the decoder maps a sample
through a linear layer and 4 x [residual block with BatchNorm + ConvTranspose1d (kernel 4, stride 2)]
(ReLU between), then a sigmoid. Loss: BCE (summed over samples) + KL divergence, per clip.
`synthesize(vae, n)` decodes `n` draws z ~ N(0, I) into new waveforms of the class the VAE was trained on.

`MelImageCNN`: log-Mel (64 bands) image resized to `image x image`, 3 x [conv 3x3 + BN + ReLU +
max-pool 2] (16/32/64) + global average pooling + linear classifier over the training labels
(`normal` / `anomaly`). `MelImageClassifier(backbone=...)` accepts a user's own network instead (e.g. an
AlexNet with their own weights) taking `(B, 1, image, image)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .features import FrameLogMel, LogMelSpec, clip_logmels
from .trainer import Clip, ClipModel, Examples, FitConfig


@dataclass(frozen=True)
class VAEConfig:
    length: int = 1999  # "2,000 sample points"; the encoder input of the paper is 1,999 long
    channels: tuple[int, ...] = (16, 32, 64, 128)
    latent: int = 2
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=20, batch_size=8, lr=1e-3))

    @property
    def padded(self) -> int:
        step = 2 ** len(self.channels)
        return -(-self.length // step) * step


VAE_PRESETS = {
    "paper": VAEConfig(),
    "tiny": VAEConfig(length=256, channels=(4, 8, 8, 8), fit=FitConfig(epochs=2, batch_size=8, lr=1e-3)),
}


class _ResBlock(nn.Module):
    def __init__(self, c: int, norm: type[nn.Module]):
        super().__init__()
        kw = {"affine": True} if norm is nn.InstanceNorm1d else {}
        self.body = nn.Sequential(nn.Conv1d(c, c, 3, padding=1), norm(c, **kw), nn.ReLU(),
                                  nn.Conv1d(c, c, 3, padding=1), norm(c, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class WaveVAE(ClipModel):
    """1-D convolutional VAE over `length`-sample waveforms (see the module docstring)."""

    name = "wave_vae"
    label = "1-D conv VAE (drill study)"

    def __init__(self, config: VAEConfig | str = "paper"):
        super().__init__()
        c = self.config = VAE_PRESETS[config] if isinstance(config, str) else config
        enc: list[nn.Module] = []
        c_in = 1
        for ch in c.channels:
            enc += [nn.Conv1d(c_in, ch, 4, stride=2, padding=1), nn.ReLU(), _ResBlock(ch, nn.InstanceNorm1d)]
            c_in = ch
        self.encoder = nn.Sequential(*enc)
        self.code = (c.channels[-1], c.padded // 2 ** len(c.channels))
        flat = self.code[0] * self.code[1]
        self.to_latent = nn.Linear(flat, 2 * c.latent)
        self.from_latent = nn.Linear(c.latent, flat)
        dec: list[nn.Module] = []
        outs = [*reversed(c.channels[:-1]), 1]
        for i, ch in enumerate(outs):
            dec += [_ResBlock(c_in, nn.BatchNorm1d), nn.ConvTranspose1d(c_in, ch, 4, stride=2, padding=1)]
            if i < len(outs) - 1:
                dec.append(nn.ReLU())
            c_in = ch
        self.decoder = nn.Sequential(*dec)

    def default_fit(self) -> FitConfig:
        return self.config.fit

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`(B, length)` in [0, 1] -> (mean, log-variance), each `(B, latent)`."""
        pad = nn.functional.pad(x, (0, self.config.padded - x.shape[-1]))
        h = self.encoder(pad[:, None]).flatten(1)
        mu, logvar = self.to_latent(h).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """`(B, latent)` -> `(B, length)` in (0, 1)."""
        h = self.from_latent(z).reshape(len(z), *self.code)
        return torch.sigmoid(self.decoder(h)[:, 0, : self.config.length])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        n = self.config.length
        rows = []
        for c in clips:
            w = np.asarray(c.wave, dtype=np.float32)[:n]
            rows.append(np.pad(w, (0, n - w.size)))
        x = (torch.from_numpy(np.stack(rows)).clamp(-1, 1) + 1) / 2
        return Examples(x, None, torch.arange(len(clips)))

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        recon, mu, logvar = self(x)
        bce = nn.functional.binary_cross_entropy(recon, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu.square() - logvar.exp())
        return (bce + kl) / len(x)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        recon, mu, logvar = self(x)
        return nn.functional.binary_cross_entropy(recon, x, reduction="none").sum(1)


@torch.no_grad()
def synthesize(vae: WaveVAE, n: int, *, seed: int = 0) -> list[np.ndarray]:
    """`n` new waveforms in [-1, 1] (float32, `length` samples at the training clips' rate)."""
    if vae.sample_rate is None:
        raise ValueError("fit the VAE on clips of one class before synthesising")
    vae.eval()
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, vae.config.latent, generator=gen)
    return [w.numpy() * 2 - 1 for w in vae.decode(z)]


# ------------------------------------------------------------------------------------------------
# The AlexNet stand-in
# ------------------------------------------------------------------------------------------------
class MelImageCNN(nn.Module):
    """`(B, 1, H, W)` -> `(B, classes)` logits."""

    def __init__(self, classes: int, channels: Sequence[int] = (16, 32, 64)):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(-2, -1)))


class MelImageClassifier(ClipModel):
    """Classifies clips by their `label` from a log-Mel image; score = softmax probability of `anomaly`
    (or of the last class in sorted order when there is no `anomaly` class)."""

    name = "mel_cnn"
    label = "log-Mel image CNN (AlexNet stand-in)"

    def __init__(self, *, image: int = 64, spec: LogMelSpec | None = None, backbone: nn.Module | None = None,
                 fit_config: FitConfig | None = None):
        super().__init__()
        self.image = image
        self.spec = spec or LogMelSpec(frame_ms=32.0, hop_ms=16.0, n_mels=64)
        self.backbone = backbone
        self.net: nn.Module | None = None
        self.classes: list[str] = []
        self.frontend: FrameLogMel | None = None
        self._fit = fit_config or FitConfig(epochs=20, batch_size=10, lr=3e-4)

    def default_fit(self) -> FitConfig:
        return self._fit

    def bind(self, sample_rate: int) -> None:
        super().bind(sample_rate)
        if self.frontend is None:
            self.frontend = FrameLogMel(self.spec, sample_rate)

    def prepare(self, clips: Sequence[Clip]) -> None:
        self.classes = sorted({c.label for c in clips})
        if len(self.classes) < 2:
            raise ValueError(f"the classifier needs at least two labels; got {self.classes}")
        self.net = self.backbone if self.backbone is not None else MelImageCNN(len(self.classes))

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        assert self.frontend is not None
        imgs = []
        for spec in clip_logmels(self.frontend, clips):
            s = (spec - spec.min()) / (spec.max() - spec.min()).clamp_min(1e-8)
            imgs.append(nn.functional.interpolate(s[None, None], size=(self.image, self.image), mode="bilinear",
                                                  align_corners=False)[0])
        y = torch.tensor([self.classes.index(c.label) for c in clips]) if train else None
        return Examples(torch.stack(imgs), y, torch.arange(len(clips)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.net is not None
        return self.net(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return nn.functional.cross_entropy(self(x), y)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        k = self.classes.index("anomaly") if "anomaly" in self.classes else len(self.classes) - 1
        return torch.softmax(self(x), dim=1)[:, k]
