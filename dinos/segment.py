"""Windowing of recordings into clips (provenance kept: every window knows its recording and offset)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .errors import DinosError

TAIL_POLICIES = ("drop", "pad", "keep")


def parse_seconds(value: float | int | str | None) -> float | None:
    """`1`, `1.0`, `"1s"`, `"500ms"` -> seconds; None stays None."""
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", str(value))
    if not m:
        raise DinosError(f"cannot read a duration from {value!r} (use e.g. 1, '1s' or '500ms')")
    number = float(m.group(1))
    return number / 1000.0 if m.group(2) == "ms" else number


def window_frames(
    total_frames: int, sample_rate: int, length: float, hop: float | None = None, tail: str = "drop"
) -> list[tuple[int, int]]:
    """`(start_frame, num_frames)` of each window over a recording of `total_frames` samples.

    `tail`: `drop` discards a final partial window, `pad` keeps it at full length (decoding zero-pads),
    `keep` keeps it shortened. A recording shorter than one window yields nothing under `drop`.
    The list form of `window_arrays` (the one definition).
    """
    starts, lengths = window_arrays(total_frames, sample_rate, length, hop, tail)
    return list(zip(starts.tolist(), lengths.tolist(), strict=True))


def window_arrays(
    total_frames: int, sample_rate: int, length: float, hop: float | None = None, tail: str = "drop"
) -> tuple[np.ndarray, np.ndarray]:
    """The windows of `window_frames` as two int64 arrays, start frames and lengths (no Python loop:
    a build makes millions of windows)."""
    if tail not in TAIL_POLICIES:
        raise DinosError(f"tail policy must be one of {TAIL_POLICIES}, got {tail!r}")
    win = round(length * sample_rate)
    step = round((hop if hop is not None else length) * sample_rate)
    if win <= 0 or step <= 0:
        raise DinosError(f"window {length}s / hop {hop}s is shorter than one sample at {sample_rate} Hz")
    full = (total_frames - win) // step + 1 if total_frames >= win else 0  # windows with start + win <= total
    starts = np.arange(full, dtype=np.int64) * step
    lengths = np.full(full, win, dtype=np.int64)
    start = full * step  # where a partial last window would begin
    if start < total_frames and (not full or int(starts[-1]) + win < total_frames) and tail != "drop":
        starts = np.append(starts, np.int64(start))
        lengths = np.append(lengths, np.int64(win if tail == "pad" else total_frames - start))
    return starts, lengths


# --------------------------------------------------------------------------------------------
# Per-recording normalisation (paper: RMS normalisation, then z-score, then 1-s segmentation)
# --------------------------------------------------------------------------------------------
#: Accepted values of the `normalize=` option (None = raw samples, the default).
NORMALIZATIONS = (None, "rms", "zscore", "rms+zscore")


def parse_normalize(value: str | None) -> str | None:
    """Validate a `normalize=` option (`None`, `"rms"`, `"zscore"`, `"rms+zscore"`; `"none"` = None)."""
    if value is None or (isinstance(value, str) and value.lower() in ("", "none")):
        return None
    if value not in NORMALIZATIONS:
        raise DinosError(f"normalize must be one of {NORMALIZATIONS}, got {value!r}")
    return value


@dataclass(frozen=True)
class RecordingStats:
    """Mean, standard deviation and RMS of every sample of a recording (all channels pooled).

    Computed by `dinos.audio.recording_stats`; a build stores them in the typed `stats` column
    (`dinos.schema.RecordingStats`, with the mode), never in `attributes`."""

    mean: float
    std: float
    rms: float


def normalization_affine(mode: str | None, stats: RecordingStats) -> tuple[float, float]:
    """`(scale, shift)` such that the normalised signal is `x * scale + shift`.

    `rms`: x / rms. `zscore`: (x - mean) / std. `rms+zscore`: RMS first, then z-score of the result,
    which equals the plain z-score up to rounding (kept as a name because the paper lists both).
    A zero RMS or standard deviation (silent or constant recording) divides by 1 instead.
    """
    mode = parse_normalize(mode)
    scale, shift = 1.0, 0.0
    if mode is None:
        return scale, shift
    mean, std, rms = stats.mean, stats.std, stats.rms
    if mode in ("rms", "rms+zscore"):
        g = 1.0 / rms if rms > 0 else 1.0
        scale, mean, std = g, mean * g, std * g
    if mode in ("zscore", "rms+zscore"):
        g = 1.0 / std if std > 0 else 1.0
        scale, shift = scale * g, -mean * g
    return scale, shift
