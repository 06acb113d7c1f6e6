"""MobileNetV2 (Sandler et al., CVPR 2018) in plain torch, and the MIMII DUE section-classifier baseline.

Architecture (the paper's Table 2): a 3x3 stride-2 convolution to 32 channels, then inverted
residual blocks given by rows (t, c, n, s) = expansion, output channels, repeats, first stride:
(1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1); a 1x1 convolution to
1280 channels, global average pooling, and a linear classifier. Every convolution is bias-free and
followed by BatchNorm; ReLU6 after all but the block's final 1x1 projection (the linear bottleneck).
A block adds its input when its stride is 1 and its input and output widths match. The width
multiplier scales every channel count, rounded to a multiple of 8 (never below 90 % of the exact
value); the last 1x1 convolution keeps 1280 channels for multipliers up to 1.

Section classifier (MIMII DUE §4): 64 consecutive frames of a 128-band log-Mel (64 ms / 32 ms) form a
1-channel 64 x 128 image; the network predicts which section of its machine type the patch came from
(cross-entropy). A clip's anomaly score is the mean over its patches of the negative logit of the
correct section's softmax probability p: log(1 - p) - log(p).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .features import FrameLogMel, LogMelSpec, clip_logmels, patches
from .trainer import Clip, ClipModel, Examples, FitConfig

#: (expansion t, output channels c, repeats n, first stride s) of MobileNetV2's Table 2
BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


def round_channels(value: float, divisor: int = 8) -> int:
    """Nearest multiple of `divisor` (at least `divisor`), bumped up if it lost more than 10 %."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if out < 0.9 * value:
        out += divisor
    return out


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(c_out)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1x1 expansion (skipped when t = 1) -> 3x3 depthwise (stride s) -> linear 1x1 projection."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(_conv_bn(c_in, hidden, 1))
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, c_out, 1, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """`(B, in_channels, H, W)` -> `(B, num_classes)` logits."""

    def __init__(self, num_classes: int, *, width: float = 1.0, in_channels: int = 1,
                 blocks: Sequence[tuple[int, int, int, int]] = BLOCKS, dropout: float = 0.2):
        super().__init__()
        c = round_channels(STEM_CHANNELS * width)
        layers: list[nn.Module] = [_conv_bn(in_channels, c, 3, 2)]
        for t, ch, n, s in blocks:
            out = round_channels(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        self.last_channels = round_channels(LAST_CHANNELS * max(1.0, width))
        layers.append(_conv_bn(c, self.last_channels, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(-2, -1)))


@dataclass(frozen=True)
class MobileNetConfig:
    spec: LogMelSpec = field(default_factory=LogMelSpec)
    n_frames: int = 64
    hop_frames: int = 8
    width: float = 1.0
    blocks: tuple[tuple[int, int, int, int], ...] = BLOCKS
    fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=20, batch_size=32, lr=1e-5))


MOBILENET_PRESETS: dict[str, MobileNetConfig] = {
    # the paper: batch 32, Adam 1e-5, 20 epochs; width 1.0 (the paper does not give one)
    "paper": MobileNetConfig(),
    # CPU: the same network at width 0.35 and a larger learning rate so that a few epochs move it
    "cpu": MobileNetConfig(width=0.35, fit=FitConfig(epochs=5, batch_size=32, lr=1e-3)),
    # unit tests: 32 x 32 patches, width 0.25, the first three block rows
    "tiny": MobileNetConfig(spec=LogMelSpec(n_mels=32), n_frames=32, hop_frames=16, width=0.25,
                            blocks=BLOCKS[:3], fit=FitConfig(epochs=1, batch_size=32, lr=1e-3)),
}


class SectionClassifier(ClipModel):
    """MIMII DUE's MobileNetV2 baseline (see the module docstring)."""

    name = "mobilenetv2"
    label = "MobileNetV2 (section classifier)"

    def __init__(self, config: MobileNetConfig | str = "paper"):
        super().__init__()
        self.config = MOBILENET_PRESETS[config] if isinstance(config, str) else config
        self.sections: list[int] = []
        self.net: MobileNetV2 | None = None
        self.frontend: FrameLogMel | None = None

    def default_fit(self) -> FitConfig:
        return self.config.fit

    def bind(self, sample_rate: int) -> None:
        super().bind(sample_rate)
        if self.frontend is None:
            self.frontend = FrameLogMel(self.config.spec, sample_rate)

    def prepare(self, clips: Sequence[Clip]) -> None:
        sections = sorted({c.section for c in clips})
        if len(sections) < 2:
            machines = sorted({c.machine for c in clips})
            raise ValueError(f"the section classifier needs at least two sections to tell apart; "
                             f"machine {machines} has {sections}")
        self.sections = sections
        c = self.config
        self.net = MobileNetV2(len(sections), width=c.width, blocks=c.blocks)

    def examples(self, clips: Sequence[Clip], *, train: bool) -> Examples:
        assert self.frontend is not None
        index = {s: i for i, s in enumerate(self.sections)}
        missing = sorted({c.section for c in clips} - set(index))
        if missing:
            raise ValueError(f"sections {missing} were not in the training clips ({self.sections})")
        xs, ys, owner = [], [], []
        for i, (clip, spec) in enumerate(zip(clips, clip_logmels(self.frontend, clips), strict=True)):
            p = patches(spec, self.config.n_frames, self.config.hop_frames)
            xs.append(p.unsqueeze(1))
            ys.append(torch.full((len(p),), index[clip.section], dtype=torch.int64))
            owner.append(torch.full((len(p),), i, dtype=torch.int64))
        return Examples(torch.cat(xs), torch.cat(ys), torch.cat(owner))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.net is not None
        return self.net(x)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        return nn.functional.cross_entropy(self(x), y)

    def example_scores(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        logp = torch.log_softmax(self(x), dim=1)
        lp = logp.gather(1, y[:, None])[:, 0]
        return torch.log((-torch.expm1(lp)).clamp_min(1e-38)) - lp  # log(1 - p) - log(p)
