"""The Grundfos pump thesis' pipeline (seed 003): MAE-ViT, error-map CNN, convolutional autoencoder.

Spectrogram image: log-power STFT spectrogram at the clip's native rate, min-max scaled to [0, 1] per
clip and resized (bilinear) to `image x image` pixels, one grey channel (the thesis renders a
scipy spectrogram through a colormap to a 496 x 496 PNG and converts it to greyscale).

- `MaeViT`: patch embedding (a PxP stride-P convolution to D), learned 1-D positions, a pre-norm
  transformer encoder (ReLU MLP) over the visible patches only (mask ratio 0.75, N - floor(0.75 N)
  kept), a learned mask token, decoder positions, a pre-norm transformer decoder of the same width,
  a linear head to P*P pixels and a sigmoid. Loss: MSE on the masked patches only.
- `ErrorMapCNN`: 3 x [conv 3x3 (pad 1) + ReLU + 2x2 average pool] with 16/32/64 channels, FC to 128
  + ReLU, FC to 1 logit; trained with BCE-with-logits and a positive weight on |x - x_hat| of the
  frozen MAE.
- `ConvAutoencoder`: 4 stride-2 3x3 convolutions (16/32/64/128, ReLU), the mirrored transposed
  convolutions (sigmoid output), and a classifier head on the flattened code: FC 128 + ReLU +
  dropout 0.2 + FC 1. Loss MSE + BCE when labels are given, MSE alone otherwise.

Clip models for the ASD protocol: `MaeAnomaly` (score = summed error map: the thesis' "MAE-ViT,
threshold" row, no anomalies needed), `CaeAnomaly` (score = reconstruction MSE; with
`supervised=True` the classifier logit, trained with MSE + BCE), `ErrorMapClassifier` (score = CNN
logit on error maps of a fitted `MaeAnomaly`; needs anomalous training clips).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .trainer import Clip, ClipModel, Examples, FitConfig


# ------------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageSpec:
    """Spectrogram image: STFT frame/hop in ms at the native rate, output size in pixels."""

    frame_ms: float = 32.0
    hop_ms: float = 16.0
    image: int = 496


@dataclass(frozen=True)
class MaeConfig:
    image: ImageSpec = field(default_factory=ImageSpec)
    patch: int = 16
    dim: int = 256
    depth: int = 8
    heads: int = 8
    mlp: int = 1024
    decoder_depth: int = 4
    decoder_heads: int = 4
    mask_ratio: float = 0.75
    cnn_channels: tuple[int, int, int] = (16, 32, 64)
    cnn_hidden: int = 128
    cae_channels: tuple[int, int, int, int] = (16, 32, 64, 128)
    cae_hidden: int = 128
    cae_dropout: float = 0.2
    fit_mae: FitConfig = field(default_factory=lambda: FitConfig(epochs=200, batch_size=32, lr=1e-5,
                                                                 weight_decay=1e-5))
    fit_cnn: FitConfig = field(default_factory=lambda: FitConfig(epochs=200, batch_size=32, lr=5e-5))
    fit_cae: FitConfig = field(default_factory=lambda: FitConfig(epochs=175, batch_size=32, lr=1e-5))

    @property
    def grid(self) -> int:
        if self.image.image % self.patch:
            raise ValueError(f"image {self.image.image} is not a multiple of patch {self.patch}")
        return self.image.image // self.patch

    @property
    def patches(self) -> int:
        return self.grid**2

    @property
    def visible(self) -> int:
        return self.patches - math.floor(self.patches * self.mask_ratio)


MAE_PRESETS: dict[str, MaeConfig] = {
    "paper": MaeConfig(),
    "cpu": MaeConfig(image=ImageSpec(image=64), patch=8, dim=64, depth=2, heads=4, mlp=256, decoder_depth=1,
                     decoder_heads=2, fit_mae=FitConfig(epochs=10, batch_size=16, lr=1e-3),
                     fit_cnn=FitConfig(epochs=10, batch_size=16, lr=1e-3),
                     fit_cae=FitConfig(epochs=10, batch_size=16, lr=1e-3)),
    "tiny": MaeConfig(image=ImageSpec(image=32), patch=8, dim=32, depth=1, heads=2, mlp=64, decoder_depth=1,
                      decoder_heads=2, cnn_channels=(4, 8, 8), cnn_hidden=16, cae_channels=(4, 8, 8, 8),
                      cae_hidden=16, fit_mae=FitConfig(epochs=2, batch_size=8, lr=1e-3),
                      fit_cnn=FitConfig(epochs=2, batch_size=8, lr=1e-3),
                      fit_cae=FitConfig(epochs=2, batch_size=8, lr=1e-3)),
}


def _preset(config: MaeConfig | str) -> MaeConfig:
    return MAE_PRESETS[config] if isinstance(config, str) else config


# ------------------------------------------------------------------------------------------------
# Spectrogram images
# ------------------------------------------------------------------------------------------------
@torch.no_grad()
def spectrogram_images(clips: Sequence[Clip], spec: ImageSpec) -> torch.Tensor:
    """`(B, 1, image, image)` in [0, 1]: log-power spectrogram, min-max scaled per clip, resized."""
    out = []
    for c in clips:
        n_fft = max(2, int(round(spec.frame_ms * c.sample_rate / 1000)))
        hop = max(1, int(round(spec.hop_ms * c.sample_rate / 1000)))
        wave = torch.as_tensor(c.wave, dtype=torch.float32)
        s = torch.stft(wave, n_fft=n_fft, hop_length=hop, window=torch.hann_window(n_fft), center=True,
                       pad_mode="constant", return_complex=True)
        db = 10 * torch.log10(s.abs().square().clamp_min(1e-10)).flip(0)  # low frequencies at the bottom
        db = (db - db.min()) / (db.max() - db.min()).clamp_min(1e-8)
        img = nn.functional.interpolate(db[None, None], size=(spec.image, spec.image), mode="bilinear",
                                        align_corners=False)
        out.append(img[0])
    return torch.stack(out)


# ------------------------------------------------------------------------------------------------
# Networks
# ------------------------------------------------------------------------------------------------
def _transformer(dim: int, heads: int, mlp: int, depth: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(dim, heads, mlp, dropout=0.0, activation="relu", batch_first=True,
                                       norm_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class MaeViT(nn.Module):
    """Masked autoencoder ViT on `(B, 1, H, W)` images (see the module docstring)."""

    def __init__(self, config: MaeConfig | str = "paper"):
        super().__init__()
        c = self.config = _preset(config)
        n = c.patches
        self.patch_embed = nn.Conv2d(1, c.dim, c.patch, c.patch)
        self.pos = nn.Parameter(torch.randn(1, n, c.dim) * 0.02)
        self.encoder = _transformer(c.dim, c.heads, c.mlp, c.depth)
        self.encoder_norm = nn.LayerNorm(c.dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.decoder_pos = nn.Parameter(torch.randn(1, n, c.dim) * 0.02)
        self.decoder = _transformer(c.dim, c.decoder_heads, c.mlp, c.decoder_depth)
        self.decoder_norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, c.patch * c.patch)

    def patchify(self, img: torch.Tensor) -> torch.Tensor:
        """`(B, 1, H, W)` -> `(B, N, P*P)`, patches row by row."""
        p, g = self.config.patch, self.config.grid
        b = img.shape[0]
        return img.reshape(b, g, p, g, p).permute(0, 1, 3, 2, 4).reshape(b, g * g, p * p)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        p, g = self.config.patch, self.config.grid
        b = x.shape[0]
        return x.reshape(b, g, g, p, p).permute(0, 1, 3, 2, 4).reshape(b, 1, g * p, g * p)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(predicted patches `(B, N, P*P)` in [0, 1], mask `(B, N)` True where a patch was hidden)."""
        c = self.config
        tokens = self.patch_embed(img).flatten(2).transpose(1, 2) + self.pos  # (B, N, D)
        b, n, d = tokens.shape
        order = torch.rand(b, n, device=img.device).argsort(dim=1)
        keep = order[:, : c.visible]
        visible = tokens.gather(1, keep[..., None].expand(-1, -1, d))
        encoded = self.encoder_norm(self.encoder(visible))
        full = self.mask_token.expand(b, n, d).clone()
        full.scatter_(1, keep[..., None].expand(-1, -1, d), encoded)
        decoded = self.decoder_norm(self.decoder(full + self.decoder_pos))
        mask = torch.ones(b, n, dtype=torch.bool, device=img.device)
        mask.scatter_(1, keep, False)
        return torch.sigmoid(self.head(decoded)), mask

    def masked_loss(self, img: torch.Tensor) -> torch.Tensor:
        pred, mask = self(img)
        per_patch = (pred - self.patchify(img)).square().mean(-1)
        return (per_patch * mask).sum() / mask.sum()

    def error_map(self, img: torch.Tensor) -> torch.Tensor:
        """|x - x_hat| `(B, 1, H, W)`, x_hat = the decoder's reconstruction of every patch."""
        pred, _ = self(img)
        return (img - self.unpatchify(pred)).abs()


class ErrorMapCNN(nn.Module):
    """`(B, 1, H, W)` error map -> `(B,)` logit."""

    def __init__(self, image: int, channels: Sequence[int] = (16, 32, 64), hidden: int = 128):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        side = image // 2 ** len(channels)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))[:, 0]


class ConvAutoencoder(nn.Module):
    """`(B, 1, H, W)` -> (reconstruction `(B, 1, H, W)`, logit `(B,)`)."""

    def __init__(self, image: int, channels: Sequence[int] = (16, 32, 64, 128), hidden: int = 128,
                 dropout: float = 0.2):
        super().__init__()
        enc: list[nn.Module] = []
        c_in = 1
        for c in channels:
            enc += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU()]
            c_in = c
        self.encoder = nn.Sequential(*enc)
        dec: list[nn.Module] = []
        widths = [*reversed(channels[:-1]), 1]
        for i, c in enumerate(widths):
            dec += [nn.ConvTranspose2d(c_in, c, 3, stride=2, padding=1, output_padding=1),
                    nn.Sigmoid() if i == len(widths) - 1 else nn.ReLU()]
            c_in = c
        self.decoder = nn.Sequential(*dec)
        side = image
        for _ in channels:
            side = (side - 1) // 2 + 1
        self.code_shape = (channels[-1], side, side)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels[-1] * side * side, hidden), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return self.decoder(z), self.classifier(z)[:, 0]


# ------------------------------------------------------------------------------------------------
# Clip models for the protocols
# ------------------------------------------------------------------------------------------------
def _labels(clips: Sequence[Clip]) -> torch.Tensor:
    bad = sorted({c.label for c in clips} - {"normal", "anomaly"})
    if bad:
        raise ValueError(f"supervised training needs normal/anomaly labels; got {bad}")
    return torch.tensor([c.label == "anomaly" for c in clips], dtype=torch.float32)


def _pos_weight(y: torch.Tensor) -> torch.Tensor:
    """n_negative / n_positive (the thesis gives no value; this is the usual balancing choice)."""
    pos = float(y.sum())
    if pos == 0 or pos == len(y):
        raise ValueError(f"supervised training needs both classes; got {int(pos)} anomalous of {len(y)} clips")
    return torch.tensor((len(y) - pos) / pos)


class _ImageModel(ClipModel):
    def __init__(self, config: MaeConfig | str):
        super().__init__()
        self.config = _preset(config)

    def _images(self, clips: Sequence[Clip], y: torch.Tensor | None) -> Examples:
        return Examples(spectrogram_images(clips, self.config.image), y, torch.arange(len(clips)))


class MaeAnomaly(_ImageModel):
    """MAE-ViT trained on normal clips; score = summed error map (one random mask per clip)."""

    name = "mae_vit"
    label = "MAE-ViT (summed error map)"

    def __init__(self, config: MaeConfig | str = "paper"):
        super().__init__(config)
        self.mae = MaeViT(self.config)

    def default_fit(self) -> FitConfig:
        return self.config.fit_mae

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        return self._images(clips, None)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.mae.masked_loss(x)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.mae.error_map(x).sum(dim=(1, 2, 3))


class ErrorMapClassifier(_ImageModel):
    """The thesis' fine-tuned model: a CNN on the error maps of a fitted, frozen `MaeAnomaly`."""

    name = "mae_vit_cnn"
    label = "MAE-ViT + error-map CNN"

    def __init__(self, mae: MaeAnomaly):
        super().__init__(mae.config)
        if mae.sample_rate is None:
            raise ValueError("the MAE must be fitted before the error-map CNN")
        self.mae = mae.mae.requires_grad_(False)  # the frozen MaeViT
        self.sample_rate = mae.sample_rate
        self.cnn = ErrorMapCNN(self.config.image.image, self.config.cnn_channels, self.config.cnn_hidden)
        self.register_buffer("pos_weight", torch.tensor(1.0))

    def default_fit(self) -> FitConfig:
        return self.config.fit_cnn

    def prepare(self, clips: Sequence[Clip]) -> None:
        self.pos_weight = _pos_weight(_labels(clips))

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        self.mae.eval()
        ex = self._images(clips, _labels(clips) if train else None)
        ex.x = self.mae.error_map(ex.x)
        return ex

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return nn.functional.binary_cross_entropy_with_logits(self.cnn(x), y, pos_weight=self.pos_weight)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return self.cnn(x)

    def train(self, mode: bool = True):
        super().train(mode)
        self.mae.eval()  # frozen
        return self


class CaeAnomaly(_ImageModel):
    """The thesis' CAE baseline. Unsupervised (default): MSE on normal clips, score = reconstruction
    MSE. `supervised=True`: MSE + BCE (positive weight) on labelled clips, score = classifier logit."""

    name = "cae"
    label = "Conv. autoencoder"

    def __init__(self, config: MaeConfig | str = "paper", *, supervised: bool = False):
        super().__init__(config)
        c = self.config
        self.supervised = supervised
        self.cae = ConvAutoencoder(c.image.image, c.cae_channels, c.cae_hidden, c.cae_dropout)
        self.register_buffer("pos_weight", torch.tensor(1.0))

    def default_fit(self) -> FitConfig:
        return self.config.fit_cae

    def prepare(self, clips: Sequence[Clip]) -> None:
        if self.supervised:
            self.pos_weight = _pos_weight(_labels(clips))

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        return self._images(clips, _labels(clips) if train and self.supervised else None)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        recon, logit = self.cae(x)
        mse = nn.functional.mse_loss(recon, x)
        if not self.supervised:
            return mse
        return mse + nn.functional.binary_cross_entropy_with_logits(logit, y, pos_weight=self.pos_weight)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        recon, logit = self.cae(x)
        return logit if self.supervised else (recon - x).square().mean(dim=(1, 2, 3))
