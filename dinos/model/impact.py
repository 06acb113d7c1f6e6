"""IMPACT: the student-teacher masked self-distillation model of the DINOS paper (SPEC section 2).

Shapes (paper preset, B = batch)::

    log-Mel          (B, 1, 128, 128)
    CNN encoder      (B, 32, 64, 64)       Conv2d(1->32, k3, s2, p1) + BN + ReLU
    patch embed      (B, 16, 384)          Conv2d(32->384, k = s = 16): 4 x 4 grid, + fixed 2-D sin-cos
    + [CLS]          (B, 17, 384)
    transformer      (B, 17, 384) x 8      pre-norm, 16 heads, GELU, MLP 4d
    decoder          (B, 16, 384) -> Linear 384->256 + ReLU -> Linear 256->128 -> (B, 128, 4, 4)
                     -> ConvT+BN+ReLU 128->128 (8) ->64 (16) ->32 (32) ->16 (64) -> ConvT 16->1 (128)

Training: the student sees the tokens with `mask_ratio` of the patch tokens replaced by a learned mask
token; the teacher (an EMA copy, no gradients) sees all tokens. Loss = L_f + lambda * L_u with
L_f = MSE(student reconstruction, teacher reconstruction) and L_u = MSE(student [CLS], mean over
tokens of the teacher's layer-averaged token outputs). Departures from the paper: docs/model.md.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from .frontend import FrontendConfig, LogMel


@dataclass(frozen=True)
class ImpactConfig:
    """Every size and training constant of IMPACT. `paper()` is Table 5; `tiny()` is a CPU demo size."""

    cnn_channels: int = 32
    patch_size: int = 16
    dim: int = 384
    depth: int = 8
    heads: int = 16
    mlp_ratio: float = 4.0
    #: decoder widths: per-token projection (bridge, then token dim), then each ConvT+BN+ReLU stage
    decoder_bridge: int = 256
    decoder_channels: tuple[int, ...] = (128, 128, 64, 32, 16)
    mask_ratio: float = 0.4
    utterance_weight: float = 0.2  # lambda
    ema_decay: float = 0.9999
    #: pretraining objective: `paper` (L_f between reconstructions + lambda L_u, as published),
    #: `anchored` (the paper's loss + MSE(student reconstruction, the clip's standardised log-Mel)) or
    #: `eat` (data2vec/EAT-style: masked tokens regress normalised, layer-averaged teacher tokens)
    objective: str = "paper"
    #: recording normalisation before the front end (`dinos.load_dataset(normalize=...)`), applied to
    #: pretraining and benchmark data alike: the paper's preset uses RMS then z-score (section 4.1)
    normalize: str | None = None
    frontend: FrontendConfig = field(default_factory=FrontendConfig)

    @classmethod
    def paper(cls) -> ImpactConfig:
        """The paper's configuration (appendix A.1.3, Table 5; RMS + z-score normalisation, section 4.1)."""
        return cls(normalize="rms+zscore")

    @classmethod
    def tiny(cls) -> ImpactConfig:
        """A CPU-friendly model with the same stages and token grid (16 tokens) but small widths."""
        return cls(
            cnn_channels=8,
            dim=64,
            depth=2,
            heads=4,
            decoder_bridge=64,
            decoder_channels=(32, 32, 16, 8, 4),
            ema_decay=0.99,
        )

    @property
    def grid(self) -> tuple[int, int]:
        """Token grid (rows = Mel, columns = time) after the stride-2 CNN and the patch embedding."""
        f = self.frontend
        return (f.n_mels // 2 // self.patch_size, f.frames // 2 // self.patch_size)

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def num_masked(self) -> int:
        """Patch tokens replaced by the mask token per clip: round(mask_ratio * N) (6 of 16 at 0.4)."""
        return int(round(self.mask_ratio * self.num_tokens))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["decoder_channels"] = list(self.decoder_channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ImpactConfig:
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown ImpactConfig fields {sorted(unknown)}")
        if "frontend" in d:
            d["frontend"] = FrontendConfig(**d["frontend"])
        if "decoder_channels" in d:
            d["decoder_channels"] = tuple(d["decoder_channels"])
        return cls(**d)

    def validate(self) -> None:
        f = self.frontend
        if f.n_mels != f.frames:
            raise ValueError(f"the front end must give a square image, got {f.n_mels} x {f.frames}")
        if self.dim % self.heads or self.dim % 4:
            raise ValueError(f"dim {self.dim} must divide by heads {self.heads} and by 4 (2-D sin-cos)")
        side = f.n_mels // 2
        if side % self.patch_size:
            raise ValueError(f"CNN output {side} is not a multiple of patch size {self.patch_size}")
        ups = int(math.log2(f.n_mels / self.grid[0]))
        if 2**ups * self.grid[0] != f.n_mels or len(self.decoder_channels) != ups:
            raise ValueError(
                f"decoder needs {ups} upsampling stages from {self.grid[0]} to {f.n_mels}; "
                f"decoder_channels has {len(self.decoder_channels)} entries"
            )
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")


def sincos_2d(dim: int, rows: int, cols: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions `(rows * cols, dim)`: half the channels encode the row, half the column."""
    def one_axis(d: int, pos: torch.Tensor) -> torch.Tensor:
        omega = 1.0 / 10000 ** (torch.arange(d // 2, dtype=torch.float64) / (d / 2))
        out = pos.double()[:, None] * omega[None, :]
        return torch.cat([out.sin(), out.cos()], dim=1)

    r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    emb = torch.cat([one_axis(dim // 2, r.reshape(-1)), one_axis(dim // 2, c.reshape(-1))], dim=1)
    return emb.float()


class Encoder(nn.Module):
    """Log-Mel image -> [CLS] + patch tokens through the transformer; optionally masked."""

    def __init__(self, cfg: ImpactConfig):
        super().__init__()
        self.cfg = cfg
        self.cnn = nn.Sequential(
            nn.Conv2d(1, cfg.cnn_channels, kernel_size=3, stride=2, padding=1),
            nn.BatchNorm2d(cfg.cnn_channels),
            nn.ReLU(inplace=True),
        )
        self.patch = nn.Conv2d(cfg.cnn_channels, cfg.dim, kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.register_buffer("pos", sincos_2d(cfg.dim, *cfg.grid)[None], persistent=False)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=cfg.dim,
                nhead=cfg.heads,
                dim_feedforward=int(cfg.dim * cfg.mlp_ratio),
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(cfg.depth)
        )
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def tokens(self, spec: torch.Tensor) -> torch.Tensor:
        """`(B, 1, H, W)` -> patch tokens `(B, N, dim)` (row-major over the grid), no positions yet."""
        x = self.patch(self.cnn(spec))
        return x.flatten(2).transpose(1, 2)

    def forward(self, spec: torch.Tensor, mask: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Outputs `(B, 1 + N, dim)` of every transformer layer ([CLS] first).

        `mask` (B, N) bool: True tokens are replaced by the learned mask token (which then gets its
        position added, like the tokens it stands for).
        """
        z = self.tokens(spec)
        if mask is not None:
            z = torch.where(mask[..., None], self.mask_token.to(z.dtype).expand_as(z), z)
        z = z + self.pos.to(z.dtype)
        x = torch.cat([self.cls_token.to(z.dtype).expand(z.shape[0], -1, -1), z], dim=1)
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class Decoder(nn.Module):
    """Patch tokens `(B, N, dim)` -> reconstruction `(B, 1, n_mels, frames)`."""

    def __init__(self, cfg: ImpactConfig):
        super().__init__()
        self.grid = cfg.grid
        first = cfg.decoder_channels[0]
        self.proj = nn.Sequential(
            nn.Linear(cfg.dim, cfg.decoder_bridge), nn.ReLU(inplace=True), nn.Linear(cfg.decoder_bridge, first)
        )
        stages = []
        chans = list(cfg.decoder_channels)
        for cin, cout in zip(chans[:-1], chans[1:], strict=True):
            stages += [
                nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
            ]
        stages.append(nn.ConvTranspose2d(chans[-1], 1, kernel_size=4, stride=2, padding=1))
        self.deconv = nn.Sequential(*stages)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        u = self.proj(tokens)  # (B, N, C)
        u = u.transpose(1, 2).reshape(u.shape[0], u.shape[2], *self.grid)
        return self.deconv(u)


OBJECTIVES = ("paper", "anchored", "eat")


class ImpactNet(nn.Module):
    """Encoder + decoder: one branch (student or teacher). With `objective="eat"` the branch also has
    `predictor`, a Linear d->d regressing the teacher targets from the last layer's tokens."""

    def __init__(self, cfg: ImpactConfig):
        super().__init__()
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        if cfg.objective == "eat":
            self.predictor = nn.Linear(cfg.dim, cfg.dim)


@dataclass
class StepOutput:
    loss: torch.Tensor
    frame_loss: torch.Tensor
    utterance_loss: torch.Tensor
    mask: torch.Tensor


class Impact(nn.Module):
    """Front end + student + EMA teacher. `forward(wave)` returns the training losses."""

    def __init__(self, cfg: ImpactConfig | None = None):
        super().__init__()
        cfg = cfg or ImpactConfig.paper()
        cfg.validate()
        self.cfg = cfg
        self.frontend = LogMel(cfg.frontend)
        self.student = ImpactNet(cfg)
        self.teacher = copy.deepcopy(self.student)
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    # -- masking ---------------------------------------------------------------------------------
    def random_mask(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`(batch, N)` bool, exactly `cfg.num_masked` True per row, uniformly chosen."""
        n = self.cfg.num_tokens
        noise = torch.rand(batch, n, generator=generator)
        order = noise.argsort(dim=1)
        mask = torch.zeros(batch, n, dtype=torch.bool)
        mask.scatter_(1, order[:, : self.cfg.num_masked], True)
        return mask.to(self.cls_device)

    @property
    def cls_device(self) -> torch.device:
        return self.student.encoder.cls_token.device

    # -- losses ----------------------------------------------------------------------------------
    def losses(self, spec: torch.Tensor, mask: torch.Tensor) -> StepOutput:
        """Losses for a log-Mel batch `spec` and a token mask (`cfg.objective`; module docstring)."""
        if self.cfg.objective == "eat":
            return self._eat_losses(spec, mask)
        s_layers = self.student.encoder(spec, mask)
        s_last = s_layers[-1]
        recon_s = self.student.decoder(s_last[:, 1:])
        with torch.no_grad():
            self.teacher.eval()
            t_layers = self.teacher.encoder(spec)
            recon_t = self.teacher.decoder(t_layers[-1][:, 1:])
            layer_mean = torch.stack([h[:, 1:] for h in t_layers]).mean(0)  # (B, N, d)
            global_t = layer_mean.mean(1)  # (B, d)
        frame = F.mse_loss(recon_s.float(), recon_t.float())
        if self.cfg.objective == "anchored":  # tie the reconstruction to the input (MAE-style)
            x = spec.float()
            x = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-5)
            frame = frame + F.mse_loss(recon_s.float(), x)
        utter = F.mse_loss(s_last[:, 0].float(), global_t.float())
        return StepOutput(frame + self.cfg.utterance_weight * utter, frame, utter, mask)

    def _eat_losses(self, spec: torch.Tensor, mask: torch.Tensor) -> StepOutput:
        """data2vec/EAT-style objective (docs/model.md, departure table): each teacher layer's patch
        tokens are layer-normalised over channels (no affine), then averaged over layers -> targets
        y (B, N, d). Frame loss: MSE between `predictor(student last-layer token)` and y at the MASKED
        positions only. Utterance loss: MSE between the student [CLS] and the token mean of y."""
        s_last = self.student.encoder(spec, mask)[-1]
        with torch.no_grad():
            self.teacher.eval()
            t_layers = self.teacher.encoder(spec)
            y = torch.stack([F.layer_norm(h[:, 1:].float(), (h.shape[-1],)) for h in t_layers]).mean(0)
        pred = self.student.predictor(s_last[:, 1:]).float()
        frame = F.mse_loss(pred[mask], y[mask])
        utter = F.mse_loss(s_last[:, 0].float(), y.mean(1))
        return StepOutput(frame + self.cfg.utterance_weight * utter, frame, utter, mask)

    @torch.no_grad()
    def diagnostics(self, spec: torch.Tensor) -> dict[str, float]:
        """Collapse metrics on a fixed batch of log-Mel images (both branches in eval mode, no mask).

        `recon_std`: across-clip standard deviation of the teacher reconstruction (per element, then
        averaged); `embed_std`: the same for the student's pooled embedding (mean of the last layer's
        patch tokens); `st_cosine`: mean cosine similarity of the student's and the teacher's pooled
        embeddings of each clip. A collapse drives the two std toward 0.
        """
        was_training = self.student.training
        self.student.eval()
        self.teacher.eval()
        try:
            t_last = self.teacher.encoder(spec)[-1]
            recon_t = self.teacher.decoder(t_last[:, 1:]).float()
            s_emb = self.student.encoder(spec)[-1][:, 1:].mean(1).float()
            t_emb = t_last[:, 1:].mean(1).float()
        finally:
            self.student.train(was_training)
        return {
            "recon_std": float(recon_t.std(0).mean()),
            "embed_std": float(s_emb.std(0).mean()),
            "st_cosine": float(F.cosine_similarity(s_emb, t_emb, dim=1).mean()),
        }

    def forward(self, wave: torch.Tensor, generator: torch.Generator | None = None) -> StepOutput:
        spec = self.frontend(wave)
        return self.losses(spec, self.random_mask(spec.shape[0], generator))

    @torch.no_grad()
    def update_teacher(self, decay: float | None = None) -> None:
        """EMA step: teacher <- decay * teacher + (1 - decay) * student; buffers (BN statistics) copied."""
        d = self.cfg.ema_decay if decay is None else decay
        for pt, ps in zip(self.teacher.parameters(), self.student.parameters(), strict=True):
            pt.mul_(d).add_(ps.detach(), alpha=1.0 - d)
        for bt, bs in zip(self.teacher.buffers(), self.student.buffers(), strict=True):
            bt.copy_(bs)

    # -- embeddings ------------------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, wave: torch.Tensor, *, pooling: str = "mean", branch: str = "student") -> torch.Tensor:
        """`(B, samples)` -> `(B, D)` embeddings of the unmasked input.

        pooling: `mean` (mean of the last layer's patch tokens), `cls` (the last layer's [CLS]),
        `layers` (mean over layers and tokens: the teacher target g_t), `cls+mean` (both, D = 2 dim),
        `tokens` (the last layer's patch tokens concatenated in grid order, D = N dim).
        """
        net = self.student if branch == "student" else self.teacher
        if branch not in ("student", "teacher"):
            raise ValueError(f"branch must be 'student' or 'teacher', got {branch!r}")
        layers = net.encoder(self.frontend(wave))
        last = layers[-1]
        if pooling == "mean":
            return last[:, 1:].mean(1)
        if pooling == "cls":
            return last[:, 0]
        if pooling == "layers":
            return torch.stack([h[:, 1:] for h in layers]).mean(0).mean(1)
        if pooling == "cls+mean":
            return torch.cat([last[:, 0], last[:, 1:].mean(1)], dim=1)
        if pooling == "tokens":
            return last[:, 1:].flatten(1)
        raise ValueError(f"unknown pooling {pooling!r} ({', '.join(POOLINGS)})")

    def embedding_dim(self, pooling: str = "mean") -> int:
        return self.cfg.dim * {"cls+mean": 2, "tokens": self.cfg.num_tokens}.get(pooling, 1)


POOLINGS = ("mean", "cls", "layers", "cls+mean", "tokens")


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (`trainable_only`: those with requires_grad)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def parameter_report(cfg: ImpactConfig | None = None) -> dict[str, int]:
    """Exact parameter counts of one branch (student = teacher) and its parts."""
    net = ImpactNet(cfg or ImpactConfig.paper())
    enc = net.encoder
    return {
        "cnn_encoder": count_parameters(enc.cnn),
        "patch_embedding": count_parameters(enc.patch),
        "cls_and_mask_tokens": enc.cls_token.numel() + enc.mask_token.numel(),
        "transformer": count_parameters(enc.layers),
        "decoder": count_parameters(net.decoder),
        "branch_total": count_parameters(net),
        "encoder_only": count_parameters(enc),
    }
