"""Miniature synthetic MIMII (2019) tree: 8-channel 16 kHz clips at 6, 0 and -6 dB SNR.

Layout exactly as the Zenodo archives unpack, one folder per archive::

    <out>/<snr>_dB_<machine>/<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav

Each recording is one machine sound (harmonics of a per-machine fundamental plus broadband
flow noise; abnormal clips add resonant impacts and speed wobble, `dinos.synth.dcase.machine_sound`)
seen by an 8-microphone circular array (radius 3.4 cm as in the paper's TAMAGO-03: a per-channel
delay and a small gain spread), mixed with diffuse factory noise at the archive's SNR. The three SNR
archives hold the same recordings (same machine sound, same noise, only the noise level differs).
Clips are 1 s instead of the real 10 s (`seconds=` changes it) to keep the miniature small.
"""

from __future__ import annotations

import os

import numpy as np

from dinos.loaders import mimii as mi
from dinos.synth import signals as sg
from dinos.synth._write import prepare_out_dir, write_wav_atomic
from dinos.synth.dcase import Condition, machine_sound

#: machine -> fundamental (Hz) of the synthetic machine sound
FUNDAMENTAL_HZ = {"fan": 52.0, "pump": 29.0, "slider": 11.0, "valve": 18.0}
#: per (snr, machine, id) at scale 1
COUNTS = {"normal": 6, "abnormal": 3}
IDS = (0, 2)  # two of the four real ids (00, 02, 04, 06)
SECONDS = 1.0
ARRAY_RADIUS_M = 0.034
SPEED_OF_SOUND = 343.0


def _array_delays(sr: int, azimuth: float) -> np.ndarray:
    """Per-microphone delay (samples, relative) of a far-field source at `azimuth` on the circle."""
    angles = 2 * np.pi * np.arange(mi.CHANNELS) / mi.CHANNELS
    d = -ARRAY_RADIUS_M * np.cos(angles - azimuth) / SPEED_OF_SOUND * sr
    return d - d.min()


def _fractional_delay(x: np.ndarray, delay: float) -> np.ndarray:
    n = x.size
    spec = np.fft.rfft(x, 2 * n)
    f = np.fft.rfftfreq(2 * n)
    return np.fft.irfft(spec * np.exp(-2j * np.pi * f * delay), 2 * n)[:n]


def render_recording(seed: int, machine: str, machine_id: int, label: str, number: int, snr_db: float,
                     seconds: float = SECONDS) -> np.ndarray:
    """(8, frames) float array of one clip, peak 0.5. Machine and noise depend on the recording only,
    the noise level on `snr_db` (relative to the machine's RMS on channel 0)."""
    key = f"mimii/{machine}/id_{machine_id:02d}/{label}/{number:08d}"
    rng = sg.rng_for(seed, key)
    sr = mi.SAMPLE_RATE
    n = int(round(seconds * sr))
    f0 = FUNDAMENTAL_HZ[machine] * (1.0 + 0.06 * machine_id / 2)
    src, _ = machine_sound(rng, f0, Condition(), label == "abnormal", n=n, sr=sr, with_noise=False)
    azimuth = 2 * np.pi * sg.stable_fraction(seed, f"{machine}/{machine_id}")
    delays = _array_delays(sr, azimuth)
    gains = 1.0 + 0.05 * rng.standard_normal(mi.CHANNELS)
    chans = np.stack([g * _fractional_delay(src, d) for g, d in zip(gains, delays, strict=True)])
    shared = sg.shaped_noise(rng, n, sr, sg.tilt(-3.0))  # diffuse: partly common, partly per microphone
    noise = np.stack([0.7 * shared + 0.7 * sg.shaped_noise(rng, n, sr, sg.tilt(-3.0)) for _ in range(mi.CHANNELS)])
    noise *= sg.rms(chans[0]) / sg.rms(noise[0]) / 10.0 ** (snr_db / 20.0)
    x = chans + noise
    return 0.5 * x / max(float(np.max(np.abs(x))), 1e-9)


def write(out: str | os.PathLike, *, seed: int = 0, scale: float = 1.0, progress: bool = False,
          seconds: float = SECONDS, machines: tuple[str, ...] = mi.MACHINES) -> str:
    """Write the miniature MIMII (2019) tree into `out` (new or empty); returns a summary.

    `scale` multiplies the clip counts per (SNR, machine, id) (at least one of each label)."""
    for m in machines:
        if m not in mi.MACHINES:
            raise ValueError(f"unknown MIMII machine {m!r} (expected one of {mi.MACHINES})")
    root = prepare_out_dir(out)
    counts = {k: max(1, round(v * scale)) for k, v in COUNTS.items()}
    n_files = 0
    for snr in mi.SNRS_DB:
        for machine in machines:
            base = root / mi.format_archive_folder(snr, machine) / machine
            for machine_id in IDS:
                for label, count in counts.items():
                    for number in range(count):
                        x = render_recording(seed, machine, machine_id, label, number, snr, seconds)
                        path = base / mi.format_id_folder(machine_id) / label / mi.format_file_name(number)
                        write_wav_atomic(path, x, mi.SAMPLE_RATE)
                        n_files += 1
            if progress:
                print(f"  {mi.format_archive_folder(snr, machine)}: done", flush=True)
    return (
        f"MIMII (2019) miniature in {root}: {n_files} WAV files (16 kHz, 8 channels, {seconds:g} s) for "
        f"{list(machines)}, ids {[mi.format_id_folder(i) for i in IDS]}, SNR {list(mi.SNRS_DB)} dB. "
        "Load with dinos.load_dataset('mimii', 'fan_6dB', data_dir=...)."
    )


#: Tiny tree for the generic loader test (tests/test_loaders.py).
TINY_VARIANTS = [{"scale": 0.1, "seconds": 0.25}]
