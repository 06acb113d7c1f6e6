"""Miniature synthetic own-recordings trees in the folder layout (`dinos.load_dataset("folder", ...)`).

Two sets modelled on the practitioners' studies (`shared/reference/seeds-systems.md`, 002 and 003)::

    <out>/drill/{Normal,Anomaly}/clip_NNNN.wav           96 kHz, 4 channels, 20.83 or 41.67 ms
    <out>/pump/id_0S/{normal,anomaly}/rec_NNNN.wav       44.1 kHz stereo, 10 s (scale it down with seconds=)
    <out>/manifest.csv                                   the same files as a manifest (pump anomalies
                                                         labelled `cavitation`, a `bits` attribute)

Drill: a rotating drill bit (spindle harmonics) cutting metal (band-limited cutting noise with two
structural resonances), four microphones at different distances (gain and delay); a broken bit adds
sharp, irregular impacts that ring a high resonance (~14 kHz). Pump: motor and blade-pass harmonics
plus low-passed flow noise at a head-and-torso simulator's two ears (a 0.3 ms interaural delay, the
right ear louder); cavitation adds intermittent broadband bursts of crackle (short impulses, 2-18
kHz). Deterministic for a seed; every file depends only on (seed, its path).
"""

from __future__ import annotations

import os

import numpy as np

from dinos.synth import signals as sg
from dinos.synth._write import prepare_out_dir, write_wav_atomic

DRILL_RATE = 96_000
DRILL_CHANNELS = 4
DRILL_FRAMES = (2_000, 4_000)  # 20.83 ms and 41.67 ms at 96 kHz
PUMP_RATE = 44_100
PUMP_SECONDS = 10.0
PUMP_SECTIONS = (0, 1)
COUNTS = {"drill": 8, "pump_normal": 4, "pump_anomaly": 2}  # drill: per label; pump: per section
KINDS = ("drill", "pump")


def drill_clip(seed: int, key: str, broken: bool, frames: int) -> np.ndarray:
    """(4, frames) drill clip, peak 0.5."""
    rng = sg.rng_for(seed, key)
    sr = DRILL_RATE
    spindle = rng.uniform(90.0, 140.0)  # rev/s
    cut = sg.shaped_noise(rng, frames, sr, sg.product(sg.bandpass(1_000.0, 22_000.0),
                                                       lambda f: 1 + 3 * sg.resonance(4_200.0, 6.0)(f)
                                                       + 2 * sg.resonance(7_800.0, 8.0)(f)))
    tone = sg.harmonics(rng, sg.phase_of(spindle, frames, sr), [0.5, 0.3, 0.2, 0.1])
    src = cut + tone
    if broken:
        hits = sg.impulse_train(rng, frames, sr, rate_hz=rng.uniform(300.0, 600.0), jitter=0.4, amp_spread=0.8)
        src += 40.0 * sg.apply_response(hits, sr, sg.resonance(14_000.0, 12.0))
    out = []
    for ch in range(DRILL_CHANNELS):
        delay = int(rng.integers(0, 12))
        x = np.roll(src, delay) * (1.0 - 0.15 * ch) + 0.05 * rng.standard_normal(frames)
        out.append(x)
    x = np.stack(out)
    return 0.5 * x / max(float(np.max(np.abs(x))), 1e-9)


def pump_clip(seed: int, key: str, cavitation: bool, seconds: float, section: int) -> np.ndarray:
    """(2, frames) pump recording (left, right ear), peak 0.5."""
    rng = sg.rng_for(seed, key)
    sr = PUMP_RATE
    n = int(round(seconds * sr))
    rot = (48.0 + 2.0 * section) * (1.0 + sg.wander(rng, n, sr, 0.002, 0.3))
    src = sg.harmonics(rng, sg.phase_of(rot, n, sr), [1.0, 0.4, 0.2])
    src += 0.6 * sg.harmonics(rng, sg.phase_of(5 * rot, n, sr), [1.0, 0.3])  # five-blade pass
    src += 0.5 * sg.shaped_noise(rng, n, sr, sg.lowpass(1_500.0))
    if cavitation:
        env = sg.bursts(rng, n, sr, rate_hz=0.8, length_s=(0.2, 1.2), attack_s=0.02, release_s=0.1)
        length = min(rng.uniform(0.2, 1.2), 0.6 * seconds)  # at least one burst inside the clip
        env = np.maximum(env, sg.gates(n, sr, np.array([rng.uniform(0.0, seconds - length)]), np.array([length]),
                                       attack_s=0.02, release_s=0.1))
        crackle = sg.impulse_train(rng, n, sr, rate_hz=900.0, jitter=0.5, amp_spread=1.0, probability=0.6)
        src += 2.0 * env * sg.apply_response(crackle, sr, sg.bandpass(2_000.0, 18_000.0))
    itd = int(round(0.0003 * sr))
    right = src + 0.05 * sg.shaped_noise(rng, n, sr, sg.tilt(-3.0))
    left = 0.7 * np.roll(src, itd) + 0.05 * sg.shaped_noise(rng, n, sr, sg.tilt(-3.0))
    x = np.stack([left, right])
    return 0.5 * x / max(float(np.max(np.abs(x))), 1e-9)


def write(out: str | os.PathLike, *, seed: int = 0, scale: float = 1.0, progress: bool = False,
          kinds: tuple[str, ...] = KINDS, pump_seconds: float = PUMP_SECONDS) -> str:
    """Write the drill-like and pump-like trees (and `manifest.csv`) into `out` (new or empty)."""
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown folder kind {k!r} (expected one of {KINDS})")
    root = prepare_out_dir(out)
    c = {k: max(1, round(v * scale)) for k, v in COUNTS.items()}
    rows: list[list[str]] = [["file", "label", "machine", "section", "group", "bits"]]
    n_files = 0
    if "drill" in kinds:
        for folder in ("Normal", "Anomaly"):
            for i in range(c["drill"]):
                rel = f"drill/{folder}/clip_{i:04d}.wav"
                frames = DRILL_FRAMES[int(sg.stable_fraction(seed, rel) < 0.5)]
                write_wav_atomic(root / rel, drill_clip(seed, rel, folder == "Anomaly", frames), DRILL_RATE)
                bits = "90" if i % 2 else "120"
                rows.append([rel, folder, "drill", "-1", f"drill/{folder.lower()}/hole{i // 2:03d}", bits])
                n_files += 1
        if progress:
            print("  drill: done", flush=True)
    if "pump" in kinds:
        for section in PUMP_SECTIONS:
            for label, count in (("normal", c["pump_normal"]), ("anomaly", c["pump_anomaly"])):
                for i in range(count):
                    rel = f"pump/id_{section:02d}/{label}/rec_{i:04d}.wav"
                    x = pump_clip(seed, rel, label == "anomaly", pump_seconds, section)
                    write_wav_atomic(root / rel, x, PUMP_RATE)
                    rows.append([rel, "cavitation" if label == "anomaly" else "normal", "pump", str(section), "", ""])
                    n_files += 1
        if progress:
            print("  pump: done", flush=True)
    tmp = root / f".manifest.csv.{os.getpid()}.part"
    tmp.write_text("".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    os.replace(tmp, root / "manifest.csv")
    return (
        f"Own-recordings miniature in {root}: {n_files} WAV files ({', '.join(kinds)}) and manifest.csv. "
        "Load with dinos.load_dataset('folder', data_dir=...), or with manifest='manifest.csv', "
        "labels={'cavitation': 'anomaly'}."
    )


#: Tiny tree for the generic loader test (tests/test_loaders.py).
TINY_VARIANTS = [{"scale": 0.25, "pump_seconds": 0.5}]
