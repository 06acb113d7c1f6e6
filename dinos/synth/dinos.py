"""A synthetic DINOS corpus in the published layout (`dinos synth dinos --out DIR`), Table 2 sizes at scale 1.

Every name comes from `dinos.loaders.dinos` (class table, folders, pretraining categories), so the
tree loads with `dinos.load_dataset("dinos", <config>, data_dir=DIR)` for every config. Signals follow
the paper's physics (appendix A.1.2): spindle tooth-passing tones at RPM/60 x flutes, chatter as a
growing self-excited tone near a structural mode, the ColdSpray fault signatures, stethoscope =
low-pass contact sensor, microphone = flatter with more ambient noise. See docs/synthetic.md.

Determinism: every file's audio is a function of (seed, a key derived from its relative path) only,
via `signals.rng_for`; neither iteration order nor `scale` changes the audio of a given
<dataset>/<class folder>/<file name> (the key leaves out the split folder and `_anomaly`).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dinos.errors import DinosError
from dinos.loaders import dinos as D
from dinos.synth import signals as S
from dinos.synth._write import prepare_out_dir, write_wav_atomic

SAMPLE_RATE = D.SAMPLE_RATE
CLIP_SECONDS = 1.0
#: fraction of the paper's Table 2 count written per class at scale 1.0: the paper's class sizes
DOWNSTREAM_FRACTION = 1.0
MIN_CLIPS_PER_CLASS = 8
#: a small tree for tests and quick looks (8-39 clips per class)
FIXTURE_SCALE = 0.1
#: share of each class written to DINOS_Downstreams_train (the real release's ratio is unknown)
TRAIN_FRACTION = 0.15
RECORDINGS_PER_CLASS = 3
#: Yornew uses a 1/4-inch two-flute end mill (paper appendix A.1.1); VF-2 a 1/2-inch two-flute one.
YORNEW_FLUTES = 2
VF2_FLUTES = 2
#: overall level applied to every signal (headroom: loud chatter and feeder impacts stay below full scale)
OUTPUT_GAIN = 0.5
SENSOR_TOKEN = {"microphone": "mic", "stethoscope": "stethoscope"}
#: base dataset -> its anomaly-detection copy (T26, T27)
ANOMALY_COPY = {t["base"]: t["dataset"] for t in D.ASD_TASKS.values()}


# ----------------------------------------------------------------------------------------------
# Plan: which files, where (pure)
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedFile:
    """One generated recording: `paths[0]` and byte-identical copies at `paths[1:]`."""

    paths: tuple[str, ...]  # relative to the output folder, POSIX separators
    dataset: str  # downstream dataset folder, or PRETRAIN_DIR
    name: str  # task id (T1..T25) or pretraining category name
    split: str  # train | test | pretrain
    sensor: str
    recording: int
    segment: int
    seconds: float


def class_count(cls: D.DinosClass, scale: float = 1.0) -> int:
    """Clips written for a class: Table 2's count times `scale`, rounded half up, at least 8
    (scale 1.0 = the paper's class sizes)."""
    return max(MIN_CLIPS_PER_CLASS, math.floor(DOWNSTREAM_FRACTION * scale * cls.paper_count + 0.5))


def train_count(n: int) -> int:
    """Clips of a class of `n` that go to DINOS_Downstreams_train (>= 1, and >= 1 left for test)."""
    return min(n - 1, max(1, math.floor(TRAIN_FRACTION * n + 0.5)))


def _source_group(cls: D.DinosClass) -> str:
    # ColdSpray microphone and stethoscope classes of one condition hear the same process
    return f"cond-{cls.attributes['condition']}" if cls.dataset == "ColdSpray" else cls.folder


def _clip_layout(cls: D.DinosClass, i: int) -> tuple[str, int, int]:
    """(sensor, recording, segment) of the i-th clip of a class."""
    if cls.sensor is None:  # Yornew: both sensors record the same cut; pair p = (mic, stethoscope)
        pair = i // 2
        sensor = ("microphone", "stethoscope")[i % 2]
        return sensor, pair % RECORDINGS_PER_CLASS, pair // RECORDINGS_PER_CLASS
    return cls.sensor, i % RECORDINGS_PER_CLASS, i // RECORDINGS_PER_CLASS


def clip_file_name(sensor: str, recording: int, segment: int) -> str:
    """`<mic|stethoscope>_<cut>.wav` with the cut key `r<RR>_<SSSS>` (recording, 1-s segment): the two
    sensors of one Yornew cut share the cut key, which `dinos.loaders.dinos.group_key` reads back."""
    return f"{SENSOR_TOKEN[sensor]}_{cut_key(recording, segment)}.wav"


def cut_key(recording: int, segment: int) -> str:
    """The physical event of a clip: `r<RR>_<SSSS>` (shared by every sensor that heard it)."""
    return f"r{recording:02d}_{segment:04d}"


def plan(
    scale: float = 1.0, seed: int = 0, pretrain_recordings: int = 2, pretrain_seconds: float = 59.0
) -> list[PlannedFile]:
    """Every file of the synthetic tree, in a stable order (no audio is generated)."""
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise DinosError(f"scale must be a positive number, got {scale!r}")
    if int(pretrain_recordings) != pretrain_recordings or pretrain_recordings < 0:
        raise DinosError(f"pretrain_recordings must be a non-negative integer, got {pretrain_recordings!r}")
    if not (math.isfinite(pretrain_seconds) and pretrain_seconds >= 1.0 / SAMPLE_RATE):
        raise DinosError(f"pretrain_seconds must be a positive number, got {pretrain_seconds!r}")
    files: list[PlannedFile] = []
    for cls in D.CLASSES:
        n = class_count(cls, scale)
        layout = [_clip_layout(cls, i) for i in range(n)]
        names = [clip_file_name(*lay) for lay in layout]
        cuts = [cut_key(rec, seg) for _, rec, seg in layout]
        # the published train/test folders keep the sensors of one cut together (grouped by cut key)
        order = sorted(set(cuts), key=lambda c: S.stable_fraction(seed, f"split/{cls.dataset}/{cls.folder}/{c}"))
        size = {c: cuts.count(c) for c in order}
        quota, taken, train_cuts = train_count(n), 0, set()
        for c in order:
            if taken >= quota:
                break
            train_cuts.add(c)
            taken += size[c]
        if len(train_cuts) == len(order):  # keep at least one cut for test
            train_cuts.discard(order[-1])
        in_train = {i for i in range(n) if cuts[i] in train_cuts}
        for i, ((sensor, rec, seg), name) in enumerate(zip(layout, names, strict=True)):
            split = "train" if i in in_train else "test"
            top = D.DOWNSTREAM_DIRS[split]
            paths = [f"{top}/{cls.dataset}/{cls.folder}/{name}"]
            if cls.dataset in ANOMALY_COPY:
                paths.append(f"{top}/{ANOMALY_COPY[cls.dataset]}/{cls.folder}/{name}")
            files.append(
                PlannedFile(tuple(paths), cls.dataset, cls.task, split, sensor, rec, seg, CLIP_SECONDS)
            )
    for cat in D.PRETRAIN_CATEGORIES:
        for k in range(int(pretrain_recordings)):
            path = f"{D.PRETRAIN_DIR}/{cat.folder}/{cat.name}_{k:04d}.wav"
            files.append(
                PlannedFile(
                    (path,), D.PRETRAIN_DIR, cat.name, "pretrain", cat.sensor, k, 0, float(pretrain_seconds)
                )
            )
    return files


# ----------------------------------------------------------------------------------------------
# Sensors
# ----------------------------------------------------------------------------------------------
def apply_sensor(
    x: np.ndarray,
    sensor: str,
    site: np.random.Generator,
    rec: np.random.Generator,
    clip: np.random.Generator,
    sr: int = SAMPLE_RATE,
) -> np.ndarray:
    """Colour a source signal as the sensor hears it and add the sensor's own background.

    `site` draws what is fixed for one sensor on one machine (mounting, room), `rec` what changes
    between recordings, `clip` what changes between clips. Stethoscope (contact): +8-12 dB below
    ~400 Hz, low-pass at 4-6 kHz, quiet floor. Microphone (air): nearly flat 60 Hz-16 kHz plus
    ambient shop noise.
    """
    n = x.shape[-1]
    if sensor == "stethoscope":
        fc = site.uniform(4000.0, 6000.0) * (1.0 + rec.normal(0.0, 0.02))
        shelf = site.uniform(8.0, 12.0) + rec.normal(0.0, 0.5)
        y = S.apply_response(
            x, sr, S.product(S.highpass(20.0, 2), S.low_shelf(400.0, shelf), S.lowpass(fc, 4))
        )
        floor = 0.0005 * S.shaped_noise(clip, n, sr, S.product(S.tilt(-1.0), S.lowpass(2 * fc, 2)))
        return y + floor
    if sensor == "microphone":
        ambient_level = site.uniform(0.002, 0.004) * rec.lognormal(0.0, 0.2)
        ambient_tilt = site.uniform(-5.0, -3.0) + rec.normal(0.0, 0.3)
        y = S.apply_response(x, sr, S.product(S.highpass(60.0, 2), S.lowpass(16_000.0, 2)))
        level = ambient_level * clip.lognormal(0.0, 0.15)
        ambient = S.shaped_noise(clip, n, sr, S.product(S.tilt(ambient_tilt), S.highpass(40.0, 2)))
        return y + level * ambient + S.mains_hum(clip, n, sr, 0.6 * ambient_level)
    raise DinosError(f"unknown sensor {sensor!r}")  # pragma: no cover - plan() only uses the two


# ----------------------------------------------------------------------------------------------
# Downstream machines (1-s clips); each returns the source signal before the sensor
# ----------------------------------------------------------------------------------------------
def _yornew(
    cls: D.DinosClass, rec: np.random.Generator, clip: np.random.Generator, n: int, sr: int
) -> np.ndarray:
    """Yornew VMC-300 milling Al-6060 with a two-flute 1/4-inch end mill."""
    a = cls.attributes
    rpm0, mrr, chatter = float(a["rpm"]), float(a["mrr"]), a["chatter"] == "yes"
    # recording-level variation (set-up, workpiece clamping, sensor placement)
    rpm_rec = rpm0 * (1.0 + rec.normal(0.0, 0.006))
    gain = rec.lognormal(0.0, 0.2)
    f_mode = 2250.0 * (1.0 + rec.normal(0.0, 0.04))  # dominant structural mode of spindle/tool
    noise_tilt = rec.uniform(-3.5, -2.0)
    t = S.times(n, sr)
    # clip-level variation
    gain *= clip.lognormal(0.0, 0.1)
    load = (mrr / 25.4) ** 0.5 * clip.lognormal(0.0, 0.12)  # cutting force grows with depth / MRR
    noise_load = load**1.6  # broadband level: ~MRR^0.8
    rpm = rpm_rec * (1.0 + clip.normal(0.0, 0.003)) * (1.0 + S.wander(clip, n, sr, 0.002, 2.0))
    f_rot = rpm / 60.0
    f_tooth = f_rot * YORNEW_FLUTES
    tooth_phase = S.phase_of(f_tooth, n, sr)
    k_max = max(1, min(40, int(6000.0 / (rpm0 / 60.0 * YORNEW_FLUTES))))
    ks = np.arange(1, k_max + 1)
    amps = 0.03 * load * ks**-1.1 * clip.lognormal(0.0, 0.3, k_max)
    x = S.harmonics(clip, tooth_phase, amps, nyquist_guard=f_tooth)
    x += 0.006 * S.harmonics(clip, S.phase_of(f_rot, n, sr), [1.0, 0.3])  # run-out at the rotation rate
    # broadband cutting noise, pulsing with every tooth engagement
    cut = S.shaped_noise(clip, n, sr, S.product(S.tilt(noise_tilt), S.bandpass(250.0, 12_000.0, 2)))
    x += 0.012 * noise_load * (1.0 + 0.6 * np.sin(tooth_phase)) * cut
    # forced response of the structural mode (always present, weak)
    x += 0.004 * load * S.shaped_noise(clip, n, sr, S.resonance(f_mode, 25.0))
    x += 0.002 * np.sin(2 * np.pi * rec.uniform(7800.0, 8200.0) * t)  # spindle drive PWM whine
    x += S.mains_hum(clip, n, sr, 0.002)
    if chatter:
        # self-excited vibration: grows from noise, saturates, frequency wanders near the mode
        # developed chatter in most windows; incipient (barely audible) in about one in five
        incipient = clip.uniform() < 0.2
        severity = (
            clip.uniform(0.02, 0.15) if incipient else float(np.clip(clip.lognormal(0.0, 0.5), 0.1, 2.0))
        )
        onset, tau = clip.uniform(-0.6, 0.5), clip.uniform(0.03, 0.2)
        env = S.logistic(t, onset, tau)
        f_c = f_mode * (1.0 + clip.normal(0.0, 0.01)) * (1.0 + S.wander(clip, n, sr, 0.003, 3.0))
        ph = S.phase_of(f_c, n, sr)
        tone = S.harmonics(clip, ph, [1.0, 0.25, 0.08])
        x += 0.08 * load * severity * env * (1.0 + 0.4 * np.sin(tooth_phase)) * tone
    return gain * x


def _vf2(
    cls: D.DinosClass, rec: np.random.Generator, clip: np.random.Generator, n: int, sr: int
) -> np.ndarray:
    """Haas VF-2 machining ABS: off (pump, tool changer), warm-up (spindle ramps, axis moves), on (cutting)."""
    state = cls.attributes["state"]
    gain = rec.lognormal(0.0, 0.2)
    f_pump = 1750.0 / 60.0 * 7 * (1.0 + rec.normal(0.0, 0.005))  # coolant pump vane passing
    f_axis = rec.uniform(350.0, 900.0)  # servo / ball-screw tone of axis moves
    rpm_cut = rec.uniform(3000.0, 8000.0)
    t = S.times(n, sr)
    gain *= clip.lognormal(0.0, 0.15)
    x = S.mains_hum(clip, n, sr, 0.002)
    pump_on = state != "off" or clip.uniform() < 0.7
    if pump_on:
        x += 0.006 * S.harmonics(clip, S.phase_of(f_pump, n, sr), [1.0, 0.5, 0.33, 0.25, 0.2, 0.16])
        x += 0.003 * S.shaped_noise(clip, n, sr, S.bandpass(200.0, 2000.0, 2))
    if state == "off":
        if clip.uniform() < 0.35:  # tool changer: carousel motor whirr and a clunk
            start, length = clip.uniform(0.0, 0.8), clip.uniform(0.1, 0.3)
            g = S.gates(n, sr, np.array([start]), np.array([length]), 0.02, 0.05)
            x += 0.01 * g * S.harmonics(clip, S.phase_of(clip.uniform(150.0, 250.0), n, sr), [1.0, 0.5, 0.3])
            knock = S.impulse_train(clip, n, sr, 1.0 / max(length, 1e-3), 0.0, 0.2) * (g > 0.5)
            x += 0.05 * S.apply_response(knock, sr, S.resonance(900.0, 8.0))
        return gain * x
    if state == "warmup":
        if clip.uniform() < 0.6:  # spindle accelerating or braking
            rpm = np.clip(clip.uniform(300.0, 8100.0) + clip.uniform(-6000.0, 6000.0) * t, 300.0, 8100.0)
        else:
            rpm = np.full(n, clip.uniform(1000.0, 8100.0))
    else:
        rpm = np.full(n, rpm_cut * (1.0 + clip.normal(0.0, 0.003)))
    f_rot = rpm / 60.0
    speed = rpm / 8100.0
    rot_phase = S.phase_of(f_rot, n, sr)
    x += 0.004 * speed * S.harmonics(clip, rot_phase, 0.8 ** np.arange(8), nyquist_guard=f_rot)
    x += 0.003 * speed**1.5 * S.shaped_noise(clip, n, sr, S.bandpass(2000.0, 8000.0, 2))  # bearings
    if clip.uniform() < (0.6 if state == "warmup" else 0.8):  # axis move
        start, length = clip.uniform(-0.5, 0.8), clip.uniform(0.2, 1.5)
        g = S.gates(n, sr, np.array([start]), np.array([length]), 0.05, 0.05)
        x += (
            0.004 * g * S.harmonics(clip, S.phase_of(f_axis * clip.uniform(0.9, 1.1), n, sr), [1.0, 0.4, 0.2])
        )
        x += 0.004 * g * S.shaped_noise(clip, n, sr, S.bandpass(80.0, 600.0, 2))
    if state == "on":  # cutting ABS: soft, low-frequency cutting noise and tooth passing
        f_tooth = f_rot * VF2_FLUTES
        tooth_phase = rot_phase * VF2_FLUTES
        ks = np.arange(1, max(2, int(4000.0 / float(f_tooth[0]))) + 1)
        x += S.harmonics(clip, tooth_phase, 0.012 * ks**-1.2 * clip.lognormal(0.0, 0.3, ks.size), f_tooth)
        x += (
            0.01
            * clip.lognormal(0.0, 0.3)
            * S.shaped_noise(clip, n, sr, S.product(S.tilt(-3.0), S.bandpass(150.0, 3000.0, 2)))
            * (1.0 + 0.5 * np.sin(tooth_phase))
        )
    return gain * x


def _renishaw(
    cls: D.DinosClass, rec: np.random.Generator, clip: np.random.Generator, n: int, sr: int
) -> np.ndarray:
    """Renishaw AM400 LPBF, sensor in the powder-handling panel: build ('on', peak near 3 kHz) vs idle."""
    on = cls.attributes["state"] == "on"
    gain = rec.lognormal(0.0, 0.2)
    f_fan = rec.uniform(280.0, 360.0)  # blade passing of the gas-circulation fan
    f_peak = 3000.0 * (1.0 + rec.normal(0.0, 0.015))
    gain *= clip.lognormal(0.0, 0.15)
    x = S.mains_hum(clip, n, sr, 0.002)
    fan_level = 0.005 if on else (0.003 if clip.uniform() < 0.7 else 0.0)
    x += fan_level * S.harmonics(
        clip, S.phase_of(f_fan * (1 + clip.normal(0, 0.003)), n, sr), [1.0, 0.4, 0.2]
    )
    gas = 0.01 if on else 0.002
    x += gas * S.shaped_noise(clip, n, sr, S.product(S.tilt(-2.0), S.bandpass(100.0, 6000.0, 2)))
    if on:
        scan = S.bursts(clip, n, sr, 25.0, (0.01, 0.06), 0.002, 0.005)  # laser on along scan vectors
        x += 0.02 * (0.5 + 0.5 * scan) * S.shaped_noise(clip, n, sr, S.resonance(f_peak, 12.0))
        x += 0.008 * np.sin(S.phase_of(f_peak, n, sr))
        if clip.uniform() < 0.15:  # recoater pass
            g = S.gates(
                n, sr, np.array([clip.uniform(-0.5, 0.8)]), np.array([clip.uniform(0.3, 1.0)]), 0.1, 0.1
            )
            x += 0.02 * g * S.shaped_noise(clip, n, sr, S.bandpass(500.0, 4000.0, 2))
    return gain * x


def _cold_spray(
    cls: D.DinosClass, rec: np.random.Generator, clip: np.random.Generator, n: int, sr: int
) -> np.ndarray:
    """CSM 108.2 cold spray, sensors on the powder feeder (appendix A.1.2 fault signatures).

    normal: gas hiss + powder flow + feeder vibration; depleted (no powder): valve-feeder collisions
    ringing near 1.5 and 3.5 kHz; clogging: undamped structural vibration, louder overall; no gas:
    no gas hiss and hardly any powder flow, much quieter.
    """
    cond = cls.attributes["condition"]
    gain = rec.lognormal(0.0, 0.15)
    f_vib = 120.0 * (1.0 + rec.normal(0.0, 0.01))  # electromagnetic vibratory feeder (2 x mains)
    gas_level = 0.045 * rec.lognormal(0.0, 0.1)
    f1 = 1500.0 * (1.0 + rec.normal(0.0, 0.02))
    f2 = 3500.0 * (1.0 + rec.normal(0.0, 0.02))
    modes = np.array([650.0, 2300.0, 5200.0]) * (1.0 + rec.normal(0.0, 0.03, 3))
    gain *= clip.lognormal(0.0, 0.12)
    powder = {"normal": 0.015, "depleted": 0.0, "clogging": 0.004, "nogas": 0.005}[cond]
    vib = {"normal": 1.0, "depleted": 1.2, "clogging": 3.5, "nogas": 0.7}[cond]
    struct = {"normal": 0.006, "depleted": 0.008, "clogging": 0.04, "nogas": 0.004}[cond]
    collide = {"normal": 0.002, "depleted": 0.03, "clogging": 0.003, "nogas": 0.002}[cond]
    vib_phase = S.phase_of(f_vib * (1.0 + S.wander(clip, n, sr, 0.002, 1.0)), n, sr)
    x = np.zeros(n)
    if cond != "nogas":
        x += (
            gas_level
            * clip.lognormal(0.0, 0.1)
            * S.shaped_noise(
                clip, n, sr, S.product(S.highpass(400.0, 2), S.tilt(-1.5), S.lowpass(12_000.0, 2))
            )
        )
    if powder:
        flow = S.shaped_noise(clip, n, sr, S.bandpass(1500.0, 9000.0, 2))
        x += powder * clip.lognormal(0.0, 0.2) * (1.0 + 0.5 * np.sin(vib_phase)) * flow
    ks = np.arange(1, 9)
    x += 0.012 * vib * S.harmonics(clip, vib_phase, ks**-1.3 * clip.lognormal(0.0, 0.2, ks.size))
    kicks = S.impulse_train(clip, n, sr, f_vib, 0.01, 0.2)
    ring = S.apply_response(kicks, sr, lambda f: sum(S.resonance(m, 10.0)(f) for m in modes))
    x += struct * clip.lognormal(0.0, 0.2) * ring / max(S.rms(ring), 1e-9)
    if cond == "clogging":  # jammed powder: the undamped feeder rattles against its housing
        rattle = S.shaped_noise(clip, n, sr, S.bandpass(500.0, 8000.0, 2)) * np.sin(vib_phase) ** 2
        x += 0.04 * clip.lognormal(0.0, 0.2) * rattle / max(S.rms(rattle), 1e-9)
    hits = S.impulse_train(clip, n, sr, f_vib, 0.03, 0.25, probability=0.8)
    ring = S.apply_response(hits, sr, lambda f: S.resonance(f1, 30.0)(f) + 0.8 * S.resonance(f2, 30.0)(f))
    x += collide * clip.lognormal(0.0, 0.3) * ring / max(S.rms(ring), 1e-9)
    return 0.6 * gain * x  # the feeder is loud at the sensors: keep headroom for impacts


_DOWNSTREAM = {"Yornew": _yornew, "VF2": _vf2, "RenishawL": _renishaw, "ColdSpray": _cold_spray}


def render_clip(
    task: str, sensor: str, recording: int, segment: int, seed: int = 0, seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """The float64 audio (48 kHz mono) of one downstream clip, as `write` stores it.

    Depends only on (seed, class, sensor, recording, segment); microphone and stethoscope clips of
    the same (class group, recording, segment) share the source signal.
    """
    cls = D.CLASS_BY_TASK[task]
    n = int(round(seconds * SAMPLE_RATE))
    rec_key = f"dinos/{cls.dataset}/{_source_group(cls)}/r{recording:02d}"
    src_key = f"{rec_key}/s{segment:04d}"
    source = _DOWNSTREAM[cls.dataset](cls, S.rng_for(seed, rec_key), S.rng_for(seed, src_key), n, SAMPLE_RATE)
    heard = apply_sensor(
        source,
        sensor,
        S.rng_for(seed, f"dinos/{cls.dataset}/site/{sensor}"),
        S.rng_for(seed, f"{rec_key}/{sensor}"),
        S.rng_for(seed, f"{src_key}/{sensor}"),
    )
    return OUTPUT_GAIN * heard


from dinos.synth.dinos_pretrain import PRETRAIN_SOURCES as _PRETRAIN  # noqa: E402


def render_pretrain(category: str, index: int, seed: int = 0, seconds: float = 59.0) -> np.ndarray:
    """The float64 audio of one DINOS_Pretrain recording (category name as in PRETRAIN_CATEGORIES)."""
    cat = next(c for c in D.PRETRAIN_CATEGORIES if c.name == category)
    n = int(round(seconds * SAMPLE_RATE))
    key = f"dinos/pretrain/{cat.folder}/{index:04d}"
    source = _PRETRAIN[cat.name](S.rng_for(seed, key), n, SAMPLE_RATE)
    heard = apply_sensor(
        source,
        cat.sensor,
        S.rng_for(seed, f"dinos/pretrain/{cat.folder}/site"),
        S.rng_for(seed, f"{key}/{cat.sensor}/rec"),
        S.rng_for(seed, f"{key}/{cat.sensor}"),
    )
    return OUTPUT_GAIN * heard


def render(item: PlannedFile, seed: int = 0) -> np.ndarray:
    """Audio of a planned file."""
    if item.split == "pretrain":
        return render_pretrain(item.name, item.recording, seed, item.seconds)
    return render_clip(item.name, item.sensor, item.recording, item.segment, seed, item.seconds)


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
@dataclass
class Summary:
    """What `write` produced; `str()` is a table of files and hours per dataset and class."""

    out: Path
    seed: int
    scale: float
    files: list[PlannedFile] = field(default_factory=list)
    clipped_files: list[str] = field(default_factory=list)

    @property
    def file_count(self) -> int:
        return sum(len(f.paths) for f in self.files)

    @property
    def hours(self) -> float:
        return sum(f.seconds * len(f.paths) for f in self.files) / 3600.0

    def counts(self) -> dict[tuple[str, str, str], int]:
        """(dataset folder, class folder or category folder, split) -> files written."""
        out: dict[tuple[str, str, str], int] = defaultdict(int)
        for f in self.files:
            for p in f.paths:
                parts = p.split("/")
                out[(parts[1] if f.split != "pretrain" else parts[0], parts[-2], f.split)] += 1
        return dict(out)

    def __str__(self) -> str:
        order = [*D.DATASET_FOLDERS.values(), D.PRETRAIN_DIR]
        rows: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for f in self.files:
            label = f.name if f.split == "pretrain" else f"{f.name} {D.CLASS_BY_TASK[f.name].name}"
            for p in f.paths:
                parts = p.split("/")
                r = rows[(parts[0] if f.split == "pretrain" else parts[1], label)]
                r[f.split] += 1
                r["seconds"] += f.seconds
        lines = [
            f"Synthetic DINOS corpus in {self.out} (seed {self.seed}, scale {self.scale:g}): "
            f"{self.file_count} files, {self.hours:.3f} h",
            f"  {'class / category':<38} {'train':>6} {'test':>6} {'pretrain':>8} {'hours':>8}",
        ]
        for dataset in sorted(
            {d for d, _ in rows}, key=lambda d: order.index(d) if d in order else len(order)
        ):
            mine = [(label, r) for (d, label), r in rows.items() if d == dataset]
            files = sum(r["train"] + r["test"] + r["pretrain"] for _, r in mine)
            hours = sum(r["seconds"] for _, r in mine) / 3600.0
            lines.append(f"{dataset}: {int(files)} files, {hours:.4f} h")
            for label, r in mine:
                lines.append(
                    f"  {label[:38]:<38} {int(r['train']):>6} {int(r['test']):>6} {int(r['pretrain']):>8} "
                    f"{r['seconds'] / 3600.0:>8.4f}"
                )
        if self.clipped_files:
            lines.append(
                f"note: {len(self.clipped_files)} file(s) reached full scale and were clipped, "
                f"e.g. {self.clipped_files[0]}"
            )
        return "\n".join(lines)


def _marker_silence(k: int, seconds: float) -> np.ndarray:
    """Zeros with one non-zero 16-bit sample whose position and value encode `k` (unique per file)."""
    x = np.zeros(int(round(seconds * SAMPLE_RATE)))
    x[(k // 32767) % x.size] = ((k % 32767) + 1) / 32768.0
    return x


def write(
    out: str | os.PathLike,
    *,
    scale: float = 1.0,
    seed: int = 0,
    progress: bool = True,
    pretrain_recordings: int = 2,
    pretrain_seconds: float = 59.0,
    silent: bool = False,
) -> Summary:
    """Write the synthetic DINOS tree into `out` (absent or empty) and return a `Summary`.

    48 kHz 16-bit mono WAVs; byte-identical for the same (seed, scale, pretraining options).
    `silent=True` writes the same tree with near-silent audio (zeros and one marker sample that makes
    every file distinct, so no build reports duplicates), in a fraction of the time: for what depends on
    names only (the committed split files: clip ids, labels and groups come from paths).
    """
    files = plan(scale, seed, pretrain_recordings, pretrain_seconds)
    root = prepare_out_dir(out)
    summary = Summary(root, seed, scale, files)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", desc="synth dinos")
    try:
        for k, item in enumerate(files):
            audio = _marker_silence(k, item.seconds) if silent else render(item, seed)
            if np.max(np.abs(audio)) > 1.0:
                summary.clipped_files.append(item.paths[0])
            for rel in item.paths:
                write_wav_atomic(root / rel, audio, SAMPLE_RATE, "PCM_16", clip=True)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return summary


#: Tiny tree for the generic loader test (tests/test_loaders.py).
TINY_VARIANTS = [{"scale": 0.05, "pretrain_recordings": 1, "pretrain_seconds": 3.0}]
