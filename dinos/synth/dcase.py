"""Miniature synthetic DCASE Task 2 trees (2020-2026) in the official layout, for tests and demos.

`write(out, year=Y)` writes a few machine types per year with a handful of 2-s, 16-kHz clips per
section/domain/label, plus every metadata file that year's loader reads: attributes CSVs (both
`file_name` forms, values spelled differently from the file-name tokens), evaluator ground truth,
`eval_data_list_<year>.csv`, `noAttribute` names with correspondence CSVs, 2025 `supplemental/`,
the 2024 RoboticArm names without the `test` token, and two-channel 2026 audio.

The sound model (`machine_sound`): a rotating machine's harmonic series whose fundamental follows
the speed, harmonic richness the load, mixed with coloured factory noise at an SNR. Anomalies add
resonant impacts (a damaged bearing or gear tooth) and a slight speed wobble. Source and target
domains differ by the machine's documented kind of shift: speed, load, noise colour or SNR.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from dinos.io import write_text
from dinos.loaders import dcase_task2 as dc
from dinos.synth import signals as sg
from dinos.synth._write import prepare_out_dir, write_wav_atomic

SAMPLE_RATE = 16_000
DURATION_S = 2.0
DEFAULT_YEAR = 2025
SHIFTS = ("speed", "load", "noise", "snr")


@dataclass(frozen=True)
class Condition:
    """Operating and recording condition of one clip."""

    speed: float = 1.0  # relative rotation speed (fundamental multiplier)
    load: float = 1.0  # relative load (harmonic richness and level)
    noise_tilt_db: float = -3.0  # background noise slope, dB/octave (factory A: -3, factory B: 0)
    snr_db: float = 6.0


def domain_condition(shift: str, domain: str, snr_db: tuple[float, float] = (6.0, 6.0)) -> Condition:
    """The condition of a domain under a kind of shift (source = the reference condition)."""
    target = domain == "target"
    snr = snr_db[1] if target else snr_db[0]
    if shift == "speed":
        return Condition(speed=1.35 if target else 1.0, snr_db=snr)
    if shift == "load":
        return Condition(load=1.8 if target else 1.0, snr_db=snr)
    if shift == "noise":
        return Condition(noise_tilt_db=0.0 if target else -3.0, snr_db=snr)
    if shift == "snr":
        return Condition(snr_db=snr - 9.0 if target and snr_db[0] == snr_db[1] else snr)
    raise ValueError(f"unknown shift {shift!r} (expected one of {SHIFTS})")


def machine_sound(
    rng: np.random.Generator,
    f0: float,
    cond: Condition,
    anomaly: bool,
    *,
    n: int,
    sr: int = SAMPLE_RATE,
    with_machine: bool = True,
    with_noise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(machine, noise) signals of one clip, unscaled; mix as machine + noise (SNR already applied)."""
    fund = f0 * cond.speed * (1.0 + sg.wander(rng, n, sr, 0.004, 0.5))
    if anomaly:
        fund = fund * (1.0 + sg.wander(rng, n, sr, 0.02, 3.0))
    amps = [1.0 / k ** (1.6 / cond.load) for k in range(1, 12)]
    machine = sg.harmonics(rng, sg.phase_of(fund, n, sr), amps)
    machine += 0.3 * sg.shaped_noise(rng, n, sr, sg.bandpass(200.0, 3000.0))
    if anomaly:
        clicks = sg.impulse_train(rng, n, sr, rate_hz=f0 * cond.speed / 7.0, jitter=0.1)
        machine += 50.0 * sg.apply_response(clicks, sr, sg.resonance(2800.0, 8.0))  # about -7 dB re machine
    machine *= cond.load**0.5
    if not with_machine:
        machine = np.zeros(n)
    noise = sg.shaped_noise(rng, n, sr, sg.tilt(cond.noise_tilt_db))
    ref = sg.rms(machine) if with_machine else 1.0
    noise *= ref / (10.0 ** (cond.snr_db / 20.0))
    if not with_noise:
        noise = np.zeros(n)
    return machine, noise


def render(
    seed: int, key: str, f0: float, cond: Condition, anomaly: bool, channels: int = 1, *,
    duration: float = DURATION_S, with_machine: bool = True, with_noise: bool = True,
) -> np.ndarray:  # fmt: skip
    """A clip scaled to a 0.5 peak: 1-D, or (2, frames) for the two-microphone 2026 layout (ch 0 near)."""
    rng = sg.rng_for(seed, key)
    n = int(round(duration * SAMPLE_RATE))
    machine, noise = machine_sound(
        rng, f0, cond, anomaly, n=n, with_machine=with_machine, with_noise=with_noise
    )
    x = machine + noise
    if channels == 2:
        far_noise = sg.shaped_noise(rng, n, SAMPLE_RATE, sg.tilt(cond.noise_tilt_db)) * sg.rms(noise + 1e-9)
        far = 0.35 * np.roll(machine, 12) + 1.2 * far_noise
        x = np.stack([x, far])
    return 0.5 * x / max(float(np.max(np.abs(x))), 1e-9)


# --------------------------------------------------------------------------------------------
# The miniature plan
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SynthMachine:
    """One synthetic machine type: its sound, its shift and how its names and CSVs are spelled."""

    name: str
    f0: float
    shift: str
    attrs: tuple[tuple[str, str, str], ...] = ()  # (file key, source value, target value)
    csv_keys: dict = field(default_factory=dict)  # file key -> CSV key where they differ
    csv_unpad: bool = False  # CSV writes `0` where the name says `00`
    csv_bare: bool = False  # CSV lists bare stems (no folder, no .wav)
    malformed_full_names: bool = False  # eval full names without the train/test token (2024 RoboticArm)
    supplemental: str = ""  # noise | machine (2025+)


_FAN = SynthMachine("fan", 52.0, "noise", (("m-n", "X", "Y"),))
_FAN25 = SynthMachine("fan", 52.0, "noise", (("n", "A", "D"),), supplemental="noise")
_VALVE = SynthMachine("valve", 18.0, "snr", (("pat", "00", "01"),))
_VALVE25 = SynthMachine(
    "valve",
    18.0,
    "snr",
    (("v1pat", "00", "02"), ("v2pat", "05", "05")),
    csv_unpad=True,
    supplemental="machine",
)

_FAN26 = replace(_FAN25, supplemental="")  # 2026 supplemental data: not verified, not written

#: year -> part -> machines; sections are the first of each part in `dc.YEAR_TABLE`; a machine the year
#: lists in `hidden_attributes` gets `noAttribute` names and correspondence CSVs.
PLAN: dict[int, dict[str, tuple[SynthMachine, ...]]] = {
    2020: {"dev": (SynthMachine("fan", 50.0, "speed"), SynthMachine("ToyCar", 95.0, "speed")),
           "eval": (SynthMachine("fan", 50.0, "speed"), SynthMachine("ToyCar", 95.0, "speed"))},
    2021: {"dev": (SynthMachine("fan", 50.0, "speed", (("strength", "1", "3"), ("ambient", "A", "B"))),
                   SynthMachine("gearbox", 30.0, "load", (("volt", "1.0", "1.5"),))),
           "eval": (SynthMachine("fan", 50.0, "speed", (("strength", "1", "3"), ("ambient", "A", "B"))),
                    SynthMachine("gearbox", 30.0, "load", (("volt", "1.0", "1.5"),)))},
    2022: {"dev": (_FAN, SynthMachine("bearing", 40.0, "speed", (("vel", "8", "16"), ("loc", "A", "B")))),
           "eval": (_FAN, SynthMachine("bearing", 40.0, "speed", (("vel", "8", "16"), ("loc", "A", "B"))))},
    2023: {"dev": (_FAN, _VALVE),
           "eval": (SynthMachine("bandsaw", 60.0, "speed", (("vel", "13", "12"),)),
                    SynthMachine("ToyDrone", 120.0, "speed", (("car", "A1", "C1"), ("spd", "3", "1"), ("mic", "1", "2")),
                                 csv_keys={"spd": "speed"}, csv_bare=True))},
    2024: {"dev": (_FAN, SynthMachine("gearbox", 30.0, "load", (("pro", "A", "B"), ("wt", "200", "20")))),
           "eval": (SynthMachine("AirCompressor", 45.0, "load", (("fl", "0", "2"), ("nos", "3", "1"))),
                    SynthMachine("RoboticArm", 25.0, "load", (("weight15", "BckgA", "BckgE"),),
                                 malformed_full_names=True))},
    2025: {"dev": (_FAN25, _VALVE25,
                   SynthMachine("bearing", 40.0, "speed", (("vel", "8", "16"), ("loc", "B", "G")),
                                supplemental="machine")),
           "eval": (SynthMachine("Polisher", 70.0, "load", (("pow", "1", "2"), ("n", "A", "C"))),
                    SynthMachine("ToyRCCar", 110.0, "speed", (("id", "A1", "C1"), ("spd", "1", "2"))))},
    2026: {"dev": (_FAN26, SynthMachine("ToyCarEmu", 95.0, "speed", (("car", "A1", "C1"), ("spd", "28V", "31V")))),
           "eval": (SynthMachine("SewingMachine", 35.0, "speed", (("spd", "1", "3"),)),
                    SynthMachine("Sander", 80.0, "load", (("pres", "1", "2"),)))},
}  # fmt: skip

COUNTS = {"train_source": 3, "train_target": 2, "test_per_label": 2, "supplemental": 2}


@dataclass
class _Tree:
    root: Path
    year: int
    seed: int
    files: int = 0
    csvs: list[str] = field(default_factory=list)

    def wav(self, rel: str, m: SynthMachine, domain: str, anomaly: bool, **kw) -> None:
        cond = domain_condition(m.shift, domain if domain in ("source", "target") else "source")
        x = render(
            self.seed, f"{self.year}/{rel}", m.f0, cond, anomaly, dc.year_info(self.year).channels, **kw
        )
        write_wav_atomic(self.root / rel, x, SAMPLE_RATE)
        self.files += 1

    def csv(self, rel: str, rows: list[list[str]]) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        write_text(path, buf.getvalue())
        self.csvs.append(rel)


def _pairs(m: SynthMachine, domain: str) -> list[tuple[str, str]]:
    return [(k, t if domain == "target" else s) for k, s, t in m.attrs]


def _tail(m: SynthMachine, domain: str) -> str:
    return "_".join(f"{k}_{v}" for k, v in _pairs(m, domain))


def _name(year: int, sec: int, domain: str, split: str, label: str, num: int, tail: str) -> str:
    return dc.format_dcase_name(
        year, section=sec, number=num, domain=domain, split=split, label=label, attributes=tail
    )


def _csv_row(m: SynthMachine, rel_in_machine: str, pairs: list[tuple[str, str]]) -> list[str]:
    name = Path(rel_in_machine).stem if m.csv_bare else f"{m.name}/{rel_in_machine}"
    row = [name]
    for k, v in pairs:
        row += [m.csv_keys.get(k, k), str(int(v)) if m.csv_unpad and v.isdigit() else v]
    return row


def _labelled_items(scale: float) -> list[tuple[str, str, str]]:
    """(domain, split, label) of every labelled clip of one section."""
    c = {k: max(1, round(v * scale)) for k, v in COUNTS.items()}
    items = [("source", "train", "normal")] * c["train_source"] + [("target", "train", "normal")] * c[
        "train_target"
    ]
    for domain in ("source", "target"):
        for label in ("normal", "anomaly"):
            items += [(domain, "test", label)] * c["test_per_label"]
    return items


def _write_machine(tree: _Tree, part: str, m: SynthMachine, scale: float, gt: dict) -> None:
    year = tree.year
    info = dc.year_info(year)
    hidden_attrs = info.hides_attributes(m.name) and bool(m.attrs)
    sec = info.sections(part, m.name)[0]
    mdir = f"{dc.PART_DIRS[part]}/raw/{m.name}"
    counters: dict[tuple, int] = {}
    attr_rows: list[list[str]] = []
    corr: dict[str, list[list[str]]] = {"train": [], "test": []}
    eval_test = part == "eval"
    blind: list[tuple[str, str, str, str]] = []  # (full name, domain, label, attribute-hidden name)
    for domain, split, label in _labelled_items(scale):
        if eval_test and split == "test" and not info.eval_test_published:
            continue
        if domain not in info.domains:
            continue
        key = (domain, split, label)
        num = counters[key] = counters.get(key, -1) + 1
        with_attrs = info.test_name_attributes or split != "test"
        full = _name(year, sec, domain, split, label, num, _tail(m, domain) if with_attrs else "")
        if m.malformed_full_names and eval_test and split == "test":
            full = full.replace(f"_{domain}_test_", f"_{domain}_")
        hidden = f"{full.rsplit('_' + _tail(m, domain), 1)[0]}_noAttribute.wav" if hidden_attrs else full
        if eval_test and split == "test":
            blind.append((full, domain, label, hidden))
            continue
        folder = split if split == "train" else info.test_folder(domain)
        dist = hidden if hidden_attrs else full
        tree.wav(f"{mdir}/{folder}/{dist}", m, domain, label == "anomaly")
        if hidden_attrs:
            corr[split].append([full, dist])
        elif info.attribute_csvs and m.attrs:
            attr_rows.append(_csv_row(m, f"{folder}/{full}", _pairs(m, domain)))
    if blind:
        order = np.argsort(
            [sg.stable_fraction(tree.seed, f"{year}/{m.name}/{b[0]}") for b in blind], kind="stable"
        )
        for idx, j in enumerate(order):
            full, domain, label, hidden = blind[j]
            bname = dc.format_dcase_name(year, section=sec, number=idx, domain=domain, blind=True)
            tree.wav(f"{mdir}/{info.test_folder(domain)}/{bname}", m, domain, label == "anomaly")
            gt.setdefault(m.name, []).append((sec, bname, full, domain, label, hidden))
            if hidden_attrs:
                corr["test"].append([full, bname if info.test_correspondence_to_blind else hidden])
    if m.supplemental and info.supplemental_folder and part in info.supplemental_parts:
        sup = f"{mdir}/{info.supplemental_folder}"
        for i in range(max(1, round(COUNTS["supplemental"] * scale))):
            tail = dc.NO_ATTRIBUTE if hidden_attrs else _tail(m, "source")
            if m.supplemental == "noise":
                name = f"section_{sec:02d}_noise_{i:04d}_{tail}.wav"
                tree.wav(f"{sup}/{name}", m, "source", False, with_machine=False)
            else:
                name = f"section_{sec:02d}_machine_source_{i:04d}_{tail}.wav"
                tree.wav(f"{sup}/{name}", m, "source", False, with_noise=False)
    if attr_rows:
        width = max(len(r) for r in attr_rows)
        header = ["file_name"] + [f"d{i}{c}" for i in range(1, (width - 1) // 2 + 1) for c in "pv"]
        tree.csv(f"{mdir}/attributes_{sec:02d}.csv", [header] + attr_rows)
    for split, rows in corr.items():
        if rows:
            tree.csv(
                f"ground_truth_attributes_all/{dc.PART_DIRS[part]}/{m.name}/attributes_{sec:02d}_{split}_correspondence.csv",
                [["source_file_name", "target_file_name"]] + rows,
            )


def _write_ground_truth(tree: _Tree, gt: dict) -> None:
    year = tree.year
    info = dc.year_info(year)
    for machine, rows in gt.items():
        by_sec: dict[int, list] = {}
        for r in rows:
            by_sec.setdefault(r[0], []).append(r)
        for sec, items in by_sec.items():
            base = f"ground_truth_{machine}_{info.section_keyword}_{sec:02d}"
            if not info.evaluator_ground_truth_public:
                continue  # e.g. the 2020 evaluator's ground-truth files: eval list only
            if info.ground_truth_per_domain:
                for dom in info.domains:
                    tree.csv(
                        f"ground_truth_data/{base}_{dom}_test.csv",
                        [[b, "1" if lab == "anomaly" else "0"] for _, b, _, d, lab, _ in items if d == dom],
                    )
                continue
            tree.csv(
                f"ground_truth_data/{base}_test.csv",
                [[b, "1" if lab == "anomaly" else "0"] for _, b, _, _, lab, _ in items],
            )
            tree.csv(
                f"ground_truth_domain/{base}_test.csv",
                [[b, "1" if d == "target" else "0"] for _, b, _, d, _, _ in items],
            )
            if info.evaluator_attribute_csvs:  # 2022: <machine>/attributes_SS.csv with the full name last
                body = []
                for _, b, full, _, _, _ in items:
                    pairs = [c for a in dc.parse_dcase_name(year, full, "test").attributes for c in (a.name, a.value)]
                    body.append([f"{machine}/test/{b}", *pairs, f"{machine}/test/{full}"])
                width = max(len(r) for r in body) - 2
                header = ["file_name"] + [f"d{i}{c}" for i in range(1, width // 2 + 1) for c in "pv"]
                tree.csv(f"ground_truth_attributes/{machine}/attributes_{sec:02d}.csv",
                         [header + ["file_name_with_full_attributes"]] + body)  # fmt: skip
                continue
            attr = []
            for _, b, full, _, _, hidden in items:
                stem = full[:-4]
                attr.append([b, hidden[:-4], full] if hidden != full else [b, stem])
            tree.csv(f"ground_truth_attributes/{base}_test.csv", attr)
    rows: list[list[str]] = []
    for machine, items in gt.items():
        rows.append([machine])
        for _, b, full, _, lab, hidden in items:
            listed = hidden if info.eval_list_hides_attributes else full
            rows.append([b, listed] + (["1" if lab == "anomaly" else "0"] if info.eval_list_label_column else []))
    if rows:
        tree.csv(f"eval_data_list_{year}.csv", rows)


def write(
    out: str | os.PathLike,
    *,
    year: int = DEFAULT_YEAR,
    seed: int = 0,
    scale: float = 1.0,
    progress: bool = False,
) -> str:
    """Write the miniature DCASE `year` tree into `out` (new or empty); returns a one-paragraph summary."""
    info = dc.year_info(year)
    root = prepare_out_dir(out)
    tree = _Tree(root, info.year, seed)
    gt: dict = {}
    for part in dc.PARTS:
        for m in PLAN[info.year][part]:
            _write_machine(tree, part, m, scale, gt)
    _write_ground_truth(tree, gt)
    machines = {p: [m.name for m in PLAN[info.year][p]] for p in dc.PARTS}
    return (
        f"DCASE {info.year} Task 2 miniature in {root}: {tree.files} WAV files ({info.channels} channel(s), "
        f"{SAMPLE_RATE} Hz, {DURATION_S:g} s), dev {machines['dev']}, eval {machines['eval']}, "
        f"{len(tree.csvs)} CSV files. Load with dinos.load_dataset('dcase_task2', '{info.year}-all', data_dir=...)."
    )


#: Tiny trees for the generic loader test (tests/test_loaders.py): one per challenge year.
TINY_VARIANTS = [{"year": y, "scale": 0.5} for y in dc.YEARS]
