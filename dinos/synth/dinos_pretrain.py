"""Source signals of the four DINOS pretraining categories (long recordings before the sensor model).

Used by `dinos.synth.dinos.render_pretrain`; physics as documented in docs/synthetic.md.
"""

from __future__ import annotations

import numpy as np

from dinos.synth import signals as S

SK2540_FLUTES = 3  # not stated in the paper; a common aluminium end mill


def _segments(rng: np.random.Generator, seconds: float, length: tuple[float, float]) -> np.ndarray:
    """Start times of consecutive segments with random lengths covering [0, seconds)."""
    count = int(seconds / length[0]) + 2
    return np.concatenate([[0.0], np.cumsum(rng.uniform(*length, count))])


def _pre_sk2540(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """APEC SK2540 aluminium machining: spindle speed programme, tool engaging and retracting."""
    sec = n / sr
    starts = _segments(rng, sec, (3.0, 10.0))
    rpm = S.control_curve(n, sr, starts, rng.uniform(6000.0, 24000.0, starts.size), ramp_s=0.8)
    engaged = S.control_curve(n, sr, starts, (rng.uniform(size=starts.size) < 0.6).astype(float), ramp_s=0.3)
    load = S.control_curve(n, sr, starts, rng.uniform(0.4, 1.6, starts.size), ramp_s=0.3) * engaged
    f_rot = rpm / 60.0 * (1.0 + S.wander(rng, n, sr, 0.002, 0.5))
    rot_phase = S.phase_of(f_rot, n, sr)
    x = 0.004 * (rpm / 24000.0) * S.harmonics(rng, rot_phase, 0.7 ** np.arange(6), nyquist_guard=f_rot)
    tooth = rot_phase * SK2540_FLUTES
    x += load * S.harmonics(rng, tooth, 0.02 * np.arange(1, 9) ** -1.1, nyquist_guard=f_rot * SK2540_FLUTES)
    x += (
        0.012
        * load
        * (1.0 + 0.5 * np.sin(tooth))
        * S.shaped_noise(rng, n, sr, S.product(S.tilt(-3.0), S.bandpass(300.0, 12_000.0, 2)))
    )
    x += 0.004 * S.shaped_noise(rng, n, sr, S.bandpass(200.0, 3000.0, 2))  # coolant
    return x + S.mains_hum(rng, n, sr, 0.002)


def _pre_renishaw_r(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Renishaw LPBF: fans and gas circulation, layers of laser scanning, recoater passes between."""
    sec = n / sr
    t = S.times(n, sr)
    f_fan = rng.uniform(280.0, 360.0)
    f_peak = 3000.0 * (1.0 + rng.normal(0.0, 0.015))
    x = 0.005 * S.harmonics(rng, S.phase_of(f_fan, n, sr), [1.0, 0.4, 0.2])
    x += 0.01 * S.shaped_noise(rng, n, sr, S.product(S.tilt(-2.0), S.bandpass(100.0, 6000.0, 2)))
    layer_starts, layer_lens, recoat_starts, recoat_lens = [], [], [], []
    pos = rng.uniform(0.0, 3.0)
    while pos < sec:
        scan = rng.uniform(6.0, 12.0)
        layer_starts.append(pos)
        layer_lens.append(scan)
        recoat = rng.uniform(3.0, 5.0)
        recoat_starts.append(pos + scan)
        recoat_lens.append(recoat)
        pos += scan + recoat
    layer = S.gates(n, sr, np.array(layer_starts), np.array(layer_lens), 0.05, 0.05)
    laser = S.bursts(rng, n, sr, 25.0, (0.01, 0.06), 0.002, 0.005) * layer
    x += 0.02 * (0.3 * layer + 0.7 * laser) * S.shaped_noise(rng, n, sr, S.resonance(f_peak, 12.0))
    x += 0.008 * layer * np.sin(S.phase_of(f_peak, n, sr))
    recoater = S.gates(n, sr, np.array(recoat_starts), np.array(recoat_lens), 0.3, 0.3)
    sweep = 300.0 + 250.0 * np.abs(np.sin(np.pi * t / rng.uniform(3.0, 5.0)))  # axis accelerates/brakes
    x += 0.006 * recoater * S.harmonics(rng, S.phase_of(sweep, n, sr), [1.0, 0.5, 0.25])
    x += 0.015 * recoater * S.shaped_noise(rng, n, sr, S.bandpass(500.0, 4000.0, 2))  # wiper on powder
    return x + S.mains_hum(rng, n, sr, 0.002)


def _pre_formalloy(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """FormAlloy DED: three powder feeders (hiss), laser on/off, melt-pool crackle, axis motion."""
    sec = n / sr
    x = np.zeros(n)
    for _ in range(3):
        rate = rng.uniform(2.0, 8.0)
        am = 1.0 + 0.2 * np.sin(S.phase_of(rate, n, sr))
        x += (
            0.008
            * am
            * S.shaped_noise(rng, n, sr, S.bandpass(rng.uniform(800, 2000), rng.uniform(6000, 12000), 2))
        )
    starts = _segments(rng, sec, (2.0, 12.0))
    laser = S.control_curve(n, sr, starts, (np.arange(starts.size) % 2 == 0).astype(float), ramp_s=0.05)
    crackle = S.impulse_train(rng, n, sr, 300.0, 0.5, 0.8, probability=0.6)
    x += 0.03 * laser * S.apply_response(crackle, sr, S.bandpass(2000.0, 9000.0, 2))
    x += 0.006 * laser * S.shaped_noise(rng, n, sr, S.bandpass(100.0, 1500.0, 2))  # plume / shield gas
    moves = _segments(rng, sec, (1.0, 5.0))
    f_axis = S.control_curve(n, sr, moves, rng.uniform(0.0, 700.0, moves.size), ramp_s=0.4)
    moving = np.clip(f_axis / 150.0, 0.0, 1.0)
    x += 0.005 * moving * S.harmonics(rng, S.phase_of(f_axis, n, sr), [1.0, 0.4, 0.2])
    return x + S.mains_hum(rng, n, sr, 0.002)


def _pre_shop_floor(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Multi-machine shop floor: distant machines, fans, ambience and high-pressure air bursts."""
    x = 0.006 * S.shaped_noise(rng, n, sr, S.product(S.tilt(-4.0), S.highpass(40.0, 2)))
    x += 0.004 * S.harmonics(rng, S.phase_of(rng.uniform(80.0, 200.0), n, sr), [1.0, 0.5, 0.3, 0.2])  # fans
    for _ in range(int(rng.integers(3, 6))):  # distant machines coming and going
        f0 = rng.uniform(60.0, 700.0) * (1.0 + S.wander(rng, n, sr, 0.01, 0.1))
        on = S.bursts(rng, n, sr, 0.1, (3.0, 20.0), 1.0, 1.0)
        amps = rng.uniform(0.002, 0.008) * np.arange(1, 7) ** -rng.uniform(0.8, 1.6)
        x += on * S.harmonics(rng, S.phase_of(f0, n, sr), amps)
    air = S.bursts(rng, n, sr, 1.0 / 8.0, (0.2, 1.5), 0.01, 0.15)
    x += 0.08 * air * S.shaped_noise(rng, n, sr, S.product(S.highpass(1000.0, 2), S.tilt(-1.0)))
    clank = S.impulse_train(rng, n, sr, 0.5, 0.5, 0.6, probability=0.5)
    x += 0.3 * S.apply_response(
        clank, sr, lambda f: S.resonance(1200.0, 6.0)(f) + S.resonance(3100.0, 9.0)(f)
    )
    return x + S.mains_hum(rng, n, sr, 0.002)


PRETRAIN_SOURCES = {
    "SK2540": _pre_sk2540,
    "RenishawR": _pre_renishaw_r,
    "FormAlloy": _pre_formalloy,
    "ShopFloor": _pre_shop_floor,
}
