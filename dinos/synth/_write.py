"""Small I/O helpers shared by the synthetic-corpus writers: a safe output folder and atomic WAVs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from dinos.errors import AudioError, DinosError
from dinos.io import OutputDir, atomic_open

_PCM_MAX = {"PCM_16": 32767, "PCM_24": 8388607, "PCM_32": 2147483647}


def prepare_out_dir(out: str | os.PathLike) -> Path:
    """Create `out` (with parents) and return it resolved; `DinosError` if it exists and is not empty.

    A generator never writes into a folder that already holds something, so it can neither mix two
    corpora nor overwrite a user's files.
    """
    path = OutputDir.check_path(out)
    if path.is_dir() and any(path.iterdir()):
        raise DinosError("output directory is not empty; choose a new or empty directory", path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DinosError(f"cannot create output directory ({exc.strerror})", path) from None
    write_synthetic_marker(path)
    return path.resolve()


def to_pcm(array: np.ndarray, subtype: str = "PCM_16", *, clip: bool = False, path=None) -> np.ndarray:
    """Integer samples of a float array in [-1, 1] for a PCM subtype (rounded, deterministic).

    Values outside [-1, 1] are an `AudioError` unless `clip=True`; non-finite values always are.
    """
    if subtype not in _PCM_MAX:
        raise AudioError(f"unsupported PCM subtype {subtype!r} (expected one of {sorted(_PCM_MAX)})", path)
    x = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise AudioError("signal has NaN or infinite samples", path)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0 and not clip:
        raise AudioError(f"signal peak {peak:.3f} exceeds full scale (pass clip=True or scale it)", path)
    full = _PCM_MAX[subtype]
    dtype = np.int16 if subtype == "PCM_16" else np.int32
    scaled = np.rint(np.clip(x, -1.0, 1.0) * full)
    if subtype == "PCM_24":
        scaled *= 256  # libsndfile reads int32 and keeps the top 24 bits
    return scaled.astype(dtype)


def write_wav_atomic(
    path: str | os.PathLike,
    array: np.ndarray,
    sample_rate: int,
    subtype: str = "PCM_16",
    *,
    clip: bool = False,
) -> Path:
    """Write `array` ((frames,) or (channels, frames), float in [-1, 1]) as a WAV file at `path`.

    The file appears complete or not at all (`dinos.io.atomic_open`). Parent folders are created.
    Returns the path.
    """
    path = Path(path)
    x = np.asarray(array)
    if x.ndim not in (1, 2) or x.size == 0:
        raise AudioError(
            f"expected a non-empty (frames,) or (channels, frames) array, got shape {x.shape}", path
        )
    data = to_pcm(x, subtype, clip=clip, path=path)
    if data.ndim == 2:
        data = data.T
    with atomic_open(path, "wb") as fh:  # umask permissions, temp file removed on failure
        sf.write(fh, data, int(sample_rate), format="WAV", subtype=subtype)
    return path


#: Left in the root of every tree `prepare_out_dir` creates; `dinos export` reads it to label its card synthetic.
SYNTHETIC_MARKER = ".dinos-synthetic.json"


def write_synthetic_marker(root: str | os.PathLike, generator: str = "dinos synth") -> Path:
    """Write `SYNTHETIC_MARKER` (generator, dinos version) into `root`: its audio is synthetic."""
    import json

    from dinos import __version__
    from dinos.io import write_with

    text = json.dumps({"synthetic": True, "generator": generator, "dinos_version": __version__}, indent=2) + "\n"
    return write_with(Path(root) / SYNTHETIC_MARKER, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
