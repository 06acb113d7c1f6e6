"""Shared fixtures: hand-made miniature trees that do not depend on the synthetic generators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def _find_real_samples() -> Path:
    """`shared/real-samples` beside the checkout (CI layout); DINOS_REAL_SAMPLES overrides."""
    candidates = [os.environ.get("DINOS_REAL_SAMPLES", ""),
                  Path(__file__).resolve().parents[2] / "shared" / "real-samples",
                  Path("/work/shared/real-samples")]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return Path(candidates[1])


REAL_SAMPLES = _find_real_samples()


def write_tone(path: Path, seconds: float = 1.0, sr: int = 48_000, freq: float = 440.0, channels: int = 1,
               subtype: str = "PCM_16", seed: int = 0) -> Path:
    """A short tone + noise WAV (deterministic)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    data = np.stack([x * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data.astype(np.float32), sr, subtype=subtype)
    return path


def make_dinos_tree(root: Path, datasets=("Yornew", "ColdSpray", "VF2", "RenishawL"), per_class: int = 2,
                    pretrain_seconds: float = 0.0) -> Path:
    """A DINOS tree in the published layout with `per_class` 1-s clips per class and split."""
    from dinos.loaders import dinos as D

    k = 0
    for split, top in D.DOWNSTREAM_DIRS.items():
        for c in D.CLASSES:
            if c.dataset not in datasets:
                continue
            for i in range(per_class):
                sensor = "mic" if i % 2 else "stethoscope"
                write_tone(root / top / c.dataset / c.folder / f"{sensor}_{split}_{i:04d}.wav",
                           freq=200 + 50 * int(c.task[1:]), seed=k)
                k += 1
    if pretrain_seconds:
        for cat in D.PRETRAIN_CATEGORIES:
            write_tone(root / D.PRETRAIN_DIR / cat.folder / "rec_0000.wav", seconds=pretrain_seconds, seed=k)
            k += 1
    return root


@pytest.fixture
def dinos_tree(tmp_path):
    return make_dinos_tree(tmp_path / "dinos", pretrain_seconds=3.5)


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


# Property tests: one profile everywhere, chosen by HYPOTHESIS_PROFILE (never by `CI`).
# `dinos` (what `make test` and a bare `pytest` use): a fixed, derandomized set of examples, so the
# README's test command gives the same result on every machine. `fuzz` (`make fuzz`): new random
# examples on each run (2000 for tests that do not set their own count) to look for failing inputs;
# a failure it finds becomes an `@example` in the test.
# No deadline and no example database in `dinos`: a loaded machine or an old local failure never
# changes the outcome.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("dinos", derandomize=True, database=None, deadline=None, print_blob=True)
_hyp_settings.register_profile("fuzz", derandomize=False, max_examples=2000, deadline=None, print_blob=True)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dinos"))


@pytest.fixture
def one_torch_thread():
    """For torch-heavy model tests on the shared 2-core machine: one intra-op thread is many times
    faster than two fighting."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
