"""Log-Mel front ends of the seeds' baselines, at the corpus' native sample rate (no resampling).

`FrameLogMel` turns a `(B, samples)` waveform into a `(B, n_mels, frames)` log-Mel spectrogram in
torch (STFT, power, Mel filterbank, dB); `stack_frames` turns that into the frame-stacked vectors of
the DCASE / MIMII DUE autoencoder baseline, `patches` into fixed-length time patches (MobileNetV2).
The Mel filterbank (Slaney, `librosa.filters.mel`) is computed once per module, never per clip.

Frame and hop lengths are given in milliseconds and turned into samples at the clip's rate, so the
same preset gives n_fft 1024 / hop 512 at 16 kHz (MIMII DUE's 64 ms / 32 ms).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dinos.errors import AudioError


@dataclass(frozen=True)
class LogMelSpec:
    """Front-end parameters. `db`: `"eps"` = 10 log10(mel + float eps) (the DCASE baselines),
    `"ref_max"` = `librosa.power_to_db(ref=np.max, top_db=80)` per clip (the AWS blog's notebook)."""

    frame_ms: float = 64.0
    hop_ms: float = 32.0
    n_mels: int = 128
    power: float = 2.0
    db: str = "eps"
    top_db: float = 80.0

    def n_fft(self, sample_rate: int) -> int:
        return int(round(self.frame_ms * sample_rate / 1000.0))

    def hop(self, sample_rate: int) -> int:
        return int(round(self.hop_ms * sample_rate / 1000.0))


class FrameLogMel(nn.Module):
    """`(B, samples)` float waveform at `sample_rate` -> `(B, n_mels, frames)` log-Mel (dB).

    STFT with a periodic Hann window of n_fft samples, `center=True` with zero padding, |X|^power,
    Slaney Mel filterbank, then the dB rule of `spec.db`.
    """

    def __init__(self, spec: LogMelSpec, sample_rate: int):
        super().__init__()
        import librosa

        if spec.db not in ("eps", "ref_max"):
            raise ValueError(f"LogMelSpec.db must be 'eps' or 'ref_max', got {spec.db!r}")
        self.spec = spec
        self.sample_rate = int(sample_rate)
        self.n_fft = spec.n_fft(self.sample_rate)
        self.hop_length = spec.hop(self.sample_rate)
        if self.n_fft < 2 or self.hop_length < 1:
            raise ValueError(f"frame {spec.frame_ms} ms / hop {spec.hop_ms} ms too short at {sample_rate} Hz")
        mel = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=spec.n_mels)
        self.register_buffer("mel_basis", torch.from_numpy(mel.astype(np.float32)), persistent=False)
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise ValueError(f"FrameLogMel expects (batch, samples), got shape {tuple(wave.shape)}")
        x = torch.stft(wave.float(), n_fft=self.n_fft, hop_length=self.hop_length, window=self.window,
                       center=True, pad_mode="constant", return_complex=True)
        mag = x.abs()
        mel = torch.matmul(self.mel_basis, mag.pow(self.spec.power))
        if self.spec.db == "eps":
            return 10.0 * torch.log10(mel + sys.float_info.epsilon)
        db = 10.0 * torch.log10(mel.clamp_min(1e-10))
        db = db - db.amax(dim=(-2, -1), keepdim=True)
        return db.clamp_min(-self.spec.top_db)


def stack_frames(spec: torch.Tensor, n_frames: int) -> torch.Tensor:
    """`(n_mels, T)` -> `(T - n_frames + 1, n_frames * n_mels)`: frame t's vector is frames t..t+n-1,
    one frame's bands after the other (the DCASE baseline's layout). Too-short input is an error."""
    n_mels, t = spec.shape
    if t < n_frames:
        raise ValueError(f"{t} frames are fewer than the {n_frames} to stack")
    windows = spec.unfold(1, n_frames, 1)  # (n_mels, T-n+1, n)
    return windows.permute(1, 2, 0).reshape(t - n_frames + 1, n_frames * n_mels)


def patches(spec: torch.Tensor, n_frames: int, hop_frames: int) -> torch.Tensor:
    """`(n_mels, T)` -> `(P, n_frames, n_mels)` time patches every `hop_frames` frames; a clip shorter
    than `n_frames` is padded with its own minimum (its dB floor) to one patch."""
    n_mels, t = spec.shape
    if t < n_frames:
        spec = torch.nn.functional.pad(spec, (0, n_frames - t), value=float(spec.min()))
    out = spec.unfold(1, n_frames, hop_frames)  # (n_mels, P, n_frames)
    return out.permute(1, 2, 0).contiguous()


def clip_rate(clips) -> int:
    """The one sample rate shared by `clips` (each with `.sample_rate`); mixed rates are an error."""
    rates = {int(c.sample_rate) for c in clips}
    if not rates:
        raise ValueError("no clips")
    if len(rates) != 1:
        raise AudioError(f"clips have mixed sample rates {sorted(rates)}; the baselines run at one native rate")
    return rates.pop()


@torch.no_grad()
def clip_logmels(frontend: FrameLogMel, clips, *, batch_size: int = 64) -> list[torch.Tensor]:
    """`(n_mels, frames)` log-Mel of each clip (each `.wave` mono at the front end's rate), in order."""
    out: list[torch.Tensor | None] = [None] * len(clips)
    by_len: dict[int, list[int]] = {}
    for i, c in enumerate(clips):
        w = np.asarray(c.wave)
        if w.ndim != 1 or w.size == 0:
            raise AudioError(f"expected a non-empty mono clip, got shape {w.shape}", c.file or None)
        by_len.setdefault(w.size, []).append(i)
    for idx in by_len.values():
        for s in range(0, len(idx), batch_size):
            part = idx[s : s + batch_size]
            wave = torch.from_numpy(np.stack([np.asarray(clips[i].wave, dtype=np.float32) for i in part]))
            for i, spec in zip(part, frontend(wave), strict=True):
                out[i] = spec
    return out  # type: ignore[return-value]
