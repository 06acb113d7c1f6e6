"""The IMPACT log-Mel front end (paper appendix A.1.3), in torch, batched on the model's device.

A 1-s clip at 48 kHz becomes a 1 x 128 x 128 log-Mel image: STFT with n_fft = window = 2048 (periodic
Hann), hop 376, `center=True` with zero padding (so 1 + 48000 // 376 = 128 frames), power spectrum,
128-band Slaney Mel filterbank (`librosa.filters.mel`, computed once), then `10 log10` with ref 1.0,
amin 1e-10 and top_db 80 applied per clip -- the same numbers as `librosa.feature.melspectrogram` +
`librosa.power_to_db(..., top_db=80)`.

Waveforms at other rates are resampled explicitly on the CPU to 48 kHz (soxr at quality HQ, the same
resampler `dinos.audio` uses) by `prepare_waveforms`; clips are zero-padded or cut to exactly 1 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from dinos.errors import AudioError


@dataclass(frozen=True)
class FrontendConfig:
    """Log-Mel parameters; the defaults are the paper's."""

    sample_rate: int = 48_000
    n_fft: int = 2048
    win_length: int = 2048
    hop_length: int = 376
    n_mels: int = 128
    top_db: float = 80.0
    amin: float = 1e-10
    clip_samples: int = 48_000  # 1 s

    @property
    def frames(self) -> int:
        return 1 + self.clip_samples // self.hop_length


class LogMel(nn.Module):
    """`(B, samples)` float waveform at `sample_rate` -> `(B, 1, n_mels, frames)` log-Mel in dB."""

    def __init__(self, config: FrontendConfig | None = None):
        super().__init__()
        import librosa

        self.config = config or FrontendConfig()
        c = self.config
        mel = librosa.filters.mel(sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels)
        self.register_buffer("mel_basis", torch.from_numpy(mel.astype(np.float32)), persistent=False)
        self.register_buffer("window", torch.hann_window(c.win_length, periodic=True), persistent=False)

    def power_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """Mel power spectrogram `(B, n_mels, frames)` (float32 whatever the autocast state)."""
        c = self.config
        with torch.autocast(device_type=wave.device.type, enabled=False):
            spec = torch.stft(
                wave.float(),
                n_fft=c.n_fft,
                hop_length=c.hop_length,
                win_length=c.win_length,
                window=self.window,
                center=True,
                pad_mode="constant",
                return_complex=True,
            )
            power = spec.real.square() + spec.imag.square()
            return torch.matmul(self.mel_basis, power)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.ndim != 2:
            raise ValueError(f"LogMel expects (batch, samples), got shape {tuple(wave.shape)}")
        c = self.config
        with torch.autocast(device_type=wave.device.type, enabled=False):
            mel = self.power_mel(wave)
            db = 10.0 * torch.log10(mel.clamp_min(c.amin))
            floor = db.amax(dim=(-2, -1), keepdim=True) - c.top_db
            db = torch.maximum(db, floor)
        return db.unsqueeze(1)


def fit_length(array: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad or cut a 1-D array to exactly `n` samples (the paper's padding/truncation)."""
    if array.shape[-1] >= n:
        return array[..., :n]
    return np.pad(array, (0, n - array.shape[-1]))


def to_mono_48k(array: np.ndarray, sampling_rate: int, *, target_rate: int = 48_000, path=None) -> np.ndarray:
    """A decoded clip as 1-D float32 at `target_rate`; resampled (soxr_hq) when the rate differs.

    A multi-channel array is an error (pick a channel when loading: `channel=0`): never downmixed silently.
    """
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim != 1:
        raise AudioError(
            f"expected a mono clip, got an array of shape {arr.shape}; load with channel=0 to pick one", path
        )
    if arr.size == 0:
        raise AudioError("empty audio clip", path)
    if not np.isfinite(arr).all():
        raise AudioError("audio holds NaN or infinite samples", path)
    if int(sampling_rate) != target_rate:
        from dinos.audio import _resample  # the one resampler (soxr HQ), shared with the loaders

        arr = _resample(arr, int(sampling_rate), target_rate)
    return arr


def windows_1s(array: np.ndarray, n: int) -> list[np.ndarray]:
    """Cut a long clip into consecutive `n`-sample windows; the partial last one is zero-padded.

    A clip of at most `n` samples gives one (padded) window. The tail is kept only if it is at least
    half a window long (or it is the only window), so a 10.02-s file gives 10 windows, not 11.
    """
    if array.shape[-1] <= n:
        return [fit_length(array, n)]
    out = [array[i : i + n] for i in range(0, array.shape[-1] - n + 1, n)]
    rest = array.shape[-1] % n
    if rest >= n // 2:
        out.append(fit_length(array[-rest:], n))
    return out


def prepare_waveforms(
    audios: Sequence[dict], config: FrontendConfig | None = None
) -> torch.Tensor:
    """Decoded `audio` dicts (`array`, `sampling_rate`, `path`) -> `(B, clip_samples)` float32 tensor.

    Each clip is resampled to the front end's rate when needed and padded/cut to exactly 1 s.
    """
    c = config or FrontendConfig()
    rows = [
        fit_length(to_mono_48k(a["array"], a["sampling_rate"], target_rate=c.sample_rate, path=a.get("path")),
                   c.clip_samples)
        for a in audios
    ]
    return torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, c.clip_samples)
