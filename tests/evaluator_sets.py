"""Deterministic score sets scored by the official DCASE Task 2 evaluators (pins in resources/evaluator_pins/).

One generator, used twice: by `tests/test_metrics_pinned.py`, which scores the sets with `dinos.metrics`,
and (once, outside the repository) to write the same files for the organisers' evaluator scripts whose
outputs are pinned. Nothing here computes a metric.

A set is a ground-truth folder in the evaluator's layout plus a submission folder (official CSV names,
rows in shuffled order so that the evaluators' sorting and dinos' name lookup are both exercised).
Ground truth is real where the organisers published it (2020/2021 eval lists, 2023/2024 evaluator
files under `shared/real-samples`), synthetic otherwise (2022, 2026).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.conftest import REAL_SAMPLES

META = REAL_SAMPLES / "meta"
BASELINE_LISTS = META / "nttcslab_dcase2023_task2_baseline_ae" / "datasets"
REAL_GT = {2023: META / "nttcslab_dcase2023_task2_evaluator", 2024: META / "nttcslab_dcase2024_task2_evaluator"}

#: (year, set name) -> seed; every pinned set.
SETS = {
    (2020, "real_a"): 2020_1, (2020, "real_ties"): 2020_2,
    (2021, "real_a"): 2021_1, (2021, "real_ties"): 2021_2,
    (2022, "synth_a"): 2022_1, (2022, "synth_ties"): 2022_2,
    (2023, "real_a"): 2023_1, (2023, "real_ties"): 2023_2,
    (2024, "real_a"): 2024_1, (2024, "real_ties"): 2024_2,
    (2026, "synth_a"): 2026_1, (2026, "synth_ties"): 2026_2,
}  # fmt: skip

SYNTH_2022 = {"machines": ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve"),
              "sections": (3, 4, 5), "per_cell": 5}  # 5 clips per (domain, label) -> 20 per section
SYNTH_2026 = {"machines": ("BlowerDustCollector", "Sander", "SewingMachine", "ToothBrush", "ToyDrone"),
              "per_cell": 12}  # section 00, 48 clips per machine


@dataclass
class Clip:
    machine: str
    section: int
    domain: str  # source | target ('' for 2020)
    label: int  # 1 = anomaly
    name: str  # the name the ground truth uses
    alias: str = ""  # second accepted name (2023+: `<renamed stem>.wav`)


@dataclass
class EvalSet:
    year: int
    name: str
    seed: int
    clips: list[Clip]
    gt_files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    scores: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # CSV name -> rows
    decisions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def write_ground_truth(self, root: Path) -> Path:
        for rel, text in self.gt_files.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        return root

    def write_submission(self, folder: Path, decisions: bool = True) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in {**self.scores, **(self.decisions if decisions else {})}.items():
            (folder / name).write_text(_csv(rows), encoding="utf-8")
        return folder


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _read_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8") as fh:
        return [r for r in csv.reader(fh) if r]


# --------------------------------------------------------------------------------------------------
# ground truth per year


def _clips_2020() -> tuple[list[Clip], dict[str, str]]:
    path = BASELINE_LISTS / "eval_data_list_2020.csv"
    clips, machine = [], None
    for row in _read_rows(path):
        if len(row) == 1:
            machine = row[0]
            continue
        clips.append(Clip(machine, int(row[0].split("_")[1]), "", int(row[2]), row[0]))
    return clips, {"eval_data_list.csv": path.read_text(encoding="utf-8")}


def _clips_2021() -> tuple[list[Clip], dict[str, str]]:
    clips, machine = [], None
    for row in _read_rows(BASELINE_LISTS / "eval_data_list_2021.csv"):
        if len(row) == 1:
            machine = row[0]
            continue
        blind, renamed = row[0], row[1]
        parts = blind.split("_")
        clips.append(Clip(machine, int(parts[1]), parts[2], int("_anomaly_" in renamed), blind))
    files: dict[str, list] = {}
    for c in clips:
        rel = f"ground_truth_data/ground_truth_{c.machine}_section_{c.section:02d}_{c.domain}_test.csv"
        files.setdefault(rel, []).append((c.name, str(c.label)))
    return clips, {rel: _csv(rows) for rel, rows in files.items()}


def _clips_2022() -> tuple[list[Clip], dict[str, str]]:
    clips, files = [], {}
    n = SYNTH_2022["per_cell"]
    for machine in SYNTH_2022["machines"]:
        for section in SYNTH_2022["sections"]:
            cells = [(d, lab) for d in ("source", "target") for lab in (0, 1) for _ in range(n)]
            order = np.random.default_rng(section * 131 + len(machine)).permutation(len(cells))
            data, dom = [], []
            for i, k in enumerate(order):
                d, lab = cells[k]
                name = f"section_{section:02d}_{i:04d}.wav"
                clips.append(Clip(machine, section, d, lab, name))
                data.append((name, str(lab)))
                dom.append((name, str(int(d == "target"))))
            files[f"ground_truth_data/ground_truth_{machine}_section_{section:02d}_test.csv"] = _csv(data)
            files[f"ground_truth_domain/ground_truth_{machine}_section_{section:02d}_test.csv"] = _csv(dom)
    return clips, files


def _clips_real(year: int) -> tuple[list[Clip], dict[str, str]]:
    root = REAL_GT[year]
    clips, files = [], {}
    for f in sorted((root / "ground_truth_data").glob("ground_truth_*_section_*_test.csv")):
        machine, section = f.name.split("_")[2], int(f.name.split("_")[4])
        dom = dict(_read_rows(root / "ground_truth_domain" / f.name))
        att = {r[0]: r[1] for r in _read_rows(root / "ground_truth_attributes" / f.name)}
        for name, label in _read_rows(f):
            clips.append(Clip(machine, section, ("source", "target")[int(dom[name])], int(label), name,
                              f"{att[name]}.wav" if name in att else ""))
        for sub in ("ground_truth_data", "ground_truth_domain", "ground_truth_attributes"):
            files[f"{sub}/{f.name}"] = (root / sub / f.name).read_text(encoding="utf-8")
    return clips, files


def _clips_2026() -> tuple[list[Clip], dict[str, str]]:
    clips, files = [], {}
    n = SYNTH_2026["per_cell"]
    for mi, machine in enumerate(SYNTH_2026["machines"]):
        cells = [(d, lab, j) for d in ("source", "target") for lab in (0, 1) for j in range(n)]
        order = np.random.default_rng(2026 + mi).permutation(len(cells))
        data, dom, att = [], [], []
        for i, k in enumerate(order):
            d, lab, j = cells[k]
            name = f"section_00_{i:04d}.wav"
            kind = ("normal", "anomaly")[lab]
            stem = f"section_00_{d}_test_{kind}_{j:04d}_" + (
                "noAttribute" if mi % 2 else f"spd_{j % 3 + 1}_mic_{1 + (d == 'target')}")
            clips.append(Clip(machine, 0, d, lab, name, f"{stem}.wav"))
            data.append((name, str(lab)))
            dom.append((name, str(int(d == "target"))))
            att.append((name, stem))
        base = f"ground_truth_{machine}_section_00_test.csv"
        files[f"ground_truth_data/{base}"] = _csv(data)
        files[f"ground_truth_domain/{base}"] = _csv(dom)
        files[f"ground_truth_attributes/{base}"] = _csv(att)
    return clips, files


# --------------------------------------------------------------------------------------------------
# scores


def _csv_name(year: int, kind: str, c: Clip) -> str:
    if year == 2020:
        return f"{kind}_{c.machine}_id_{c.section:02d}.csv"
    if year == 2021:
        return f"{kind}_{c.machine}_section_{c.section:02d}_{c.domain}_test.csv"
    return f"{kind}_{c.machine}_section_{c.section:02d}_test.csv"


def make_set(year: int, name: str) -> EvalSet:
    """The pinned set `(year, name)` (see `SETS`)."""
    seed = SETS[(year, name)]
    clips, gt_files = {2020: _clips_2020, 2021: _clips_2021, 2022: _clips_2022, 2023: lambda: _clips_real(2023),
                       2024: lambda: _clips_real(2024), 2026: _clips_2026}[year]()
    rng = np.random.default_rng(seed)
    ties = name.endswith("ties")
    out = EvalSet(year, name, seed, clips, gt_files)
    for c in clips:
        shift = 0.8 if c.domain != "target" else 0.4
        if ties:  # a handful of distinct values: many ties across labels and domains
            score = float(int(rng.integers(0, 4)) + (c.label and rng.random() < 0.5))
            text = f"{score:g}"
        else:
            score = round(float(rng.normal(shift * c.label, 1.0)), 2)  # 2 decimals: some ties
            text = repr(score)
        # 2023+: every third clip of the tie sets is scored under its alias (as the evaluators accept)
        used = c.alias if (ties and c.alias and rng.random() < 1 / 3) else c.name
        out.scores.setdefault(_csv_name(year, "anomaly_score", c), []).append((used, text))
        if year != 2020:
            out.decisions.setdefault(_csv_name(year, "decision_result", c), []).append(
                (used, "1" if score > (1.5 if ties else 0.4) else "0"))
    for table in (out.scores, out.decisions):  # shuffled rows: order must not matter
        for key, rows in table.items():
            table[key] = [rows[i] for i in rng.permutation(len(rows))]
    return out
