"""Resampling goes through soxr directly (quality HQ) and gives librosa's `soxr_hq` samples; the core
imports and resamples without librosa (an optional, model-side dependency)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dinos.audio import _resample, read_window

ROOT = Path(__file__).resolve().parents[1]

# (source rate, target rate, frames): up, down, non-integer ratios, soxr returning one frame short
# of ceil(frames * ratio) (8000 -> 44100 with 777 frames: soxr gives 4283, librosa and we 4284)
CASES = [(16_000, 48_000, 16_000), (48_000, 16_000, 48_000), (22_050, 16_000, 12_345), (8_000, 44_100, 777),
         (48_000, 44_100, 48_000), (96_000, 48_000, 9_601)]


def _signal(frames: int, channels: int = 0) -> np.ndarray:
    rng = np.random.default_rng(frames)
    shape = (channels, frames) if channels else (frames,)
    return (0.3 * rng.standard_normal(shape)).astype(np.float32)


@pytest.mark.parametrize(("sr", "target", "frames"), CASES)
@pytest.mark.parametrize("channels", [0, 2])
def test_resample_equals_librosa_soxr_hq(sr, target, frames, channels):
    librosa = pytest.importorskip("librosa")  # the [model] extra; the core never needs it
    x = _signal(frames, channels)
    ours = _resample(x, sr, target)
    ref = librosa.resample(x, orig_sr=sr, target_sr=target, res_type="soxr_hq", axis=-1)
    assert ours.dtype == np.float32 and ours.shape[:-1] == x.shape[:-1]
    assert ours.shape[-1] == -(-frames * target // sr)
    np.testing.assert_array_equal(ours, ref)  # bit for bit, not merely close


def test_resample_length_is_exact_where_librosa_adds_a_trailing_zero():
    """1 s at 44.1 kHz is 48000 samples at 48 kHz; librosa's float ratio makes it 48001 (the documented departure)."""
    librosa = pytest.importorskip("librosa")
    x = _signal(44_100)
    ours = _resample(x, 44_100, 48_000)
    ref = librosa.resample(x, orig_sr=44_100, target_sr=48_000, res_type="soxr_hq")
    assert ours.shape == (48_000,) and ref.shape == (48_001,)
    assert ref[-1] == 0.0
    np.testing.assert_array_equal(ours, ref[:-1])


def test_resample_keeps_channels_independent():
    x = _signal(4_000, channels=2)
    both = _resample(x, 16_000, 48_000)
    assert both.shape == (2, 12_000)
    for c in range(2):
        np.testing.assert_array_equal(both[c], _resample(x[c], 16_000, 48_000))


def test_resample_preserves_a_tone_and_same_rate_is_identity():
    t = np.arange(16_000) / 16_000
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = _resample(x, 16_000, 48_000)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) == 440  # 1 s at 48 kHz: bin k is k Hz
    np.testing.assert_array_equal(_resample(x, 16_000, 16_000), x)


def test_read_window_resamples_through_soxr():
    buf = io.BytesIO()
    sf.write(buf, _signal(8_000), 16_000, subtype="FLOAT", format="WAV")
    arr, sr = read_window(buf.getvalue(), 0, 8_000, sampling_rate=48_000)
    assert sr == 48_000 and arr.shape == (24_000,) and arr.dtype == np.float32


_BLOCK_LIBROSA = """
import importlib, pkgutil, sys
sys.modules["librosa"] = None  # `import librosa` now raises ImportError, as without the [model] extra
import dinos, dinos.loaders
names = []
for pkg in (dinos, dinos.loaders):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if m.name == "dinos.model" or m.name.startswith("dinos.model.") or m.name.endswith(".__main__"):
            continue  # the model package ([model] extra: torch, librosa); `python -m dinos` runs the CLI
        importlib.import_module(m.name)
        names.append(m.name)
import numpy as np
from dinos.audio import _resample
assert _resample(np.zeros(160, np.float32), 16000, 48000).shape == (480,)
assert "librosa" not in [k for k, v in sys.modules.items() if v is not None]
print(len(names), " ".join(sorted(names)))
"""


def test_every_core_module_imports_and_resamples_without_librosa():
    out = subprocess.run([sys.executable, "-c", _BLOCK_LIBROSA], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    count, names = out.stdout.split(" ", 1)
    for expected in ("dinos.audio", "dinos.api", "dinos.cli", "dinos.export", "dinos.loaders.dinos",
                     "dinos.loaders.dcase_task2", "dinos.metrics", "dinos.commands.score"):
        assert expected in names.split(), expected
    assert int(count) > 40


def test_librosa_is_not_a_core_dependency():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = [r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in project["dependencies"]]
    assert "soxr" in core and "librosa" not in core
    assert any(r.startswith("librosa") for r in project["optional-dependencies"]["model"])
