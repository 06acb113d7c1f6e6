"""Miniature synthetic MIMII DUE tree: three machine types, one dev and one eval section each.

Layout as the DCASE 2021 zips unpack: `dev_data/<m>/{train,source_test,target_test}/` (sections
00-02, labelled names) and `eval_data/<m>/...` (sections 03-05: labelled training names, blind test
names), plus `eval_data_list_2021.csv` and 2021-style per-domain ground truth. Each clip is mixed at
the SNR of its section and domain from the paper's Table 1, and the target domain differs by the
kind of shift the table describes (speed, load, noise or SNR).
"""

from __future__ import annotations

import os
import re

import numpy as np

from dinos.io import write_text
from dinos.loaders import dcase_task2 as dc
from dinos.loaders import mimii_due as md
from dinos.synth import signals as sg
from dinos.synth._write import prepare_out_dir, write_wav_atomic
from dinos.synth.dcase import SAMPLE_RATE, Condition, domain_condition, render

#: machine -> (fundamental Hz, dev section, eval section)
PLAN = {"fan": (52.0, 0, 3), "pump": (29.0, 1, 4), "valve": (18.0, 2, 5)}
COUNTS = {"train_source": 3, "train_target": 2, "test_per_label": 2}


def shift_kind(description: str) -> str:
    """The kind of domain shift a Table 1 description names (speed, load, noise or snr)."""
    d = description.lower()
    if "snr" in d:
        return "snr"
    if "noise" in d:
        return "noise"
    if re.search(r"wind strength|velocity|voltage|speed|timing", d):
        return "speed"
    return "load"


def _snr(text: str) -> float:
    return float(text.split("±")[0].replace(" ", ""))


def section_condition(machine: str, section: int, domain: str) -> Condition:
    info = md.SECTION_BY_KEY[(machine, section)]
    """The synthetic condition of a section's domain: Table 1 SNR and the described kind of shift."""
    snr = (_snr(info.snr_source_db), _snr(info.snr_target_db))
    return domain_condition(shift_kind(info.domain_shift), domain, snr)


def _csv(path, rows) -> None:
    write_text(path, "".join(",".join(r) + "\n" for r in rows))


def write(out: str | os.PathLike, *, seed: int = 0, scale: float = 1.0, progress: bool = False) -> str:
    """Write the miniature MIMII DUE tree into `out` (new or empty); returns a summary."""
    root = prepare_out_dir(out)
    info = dc.year_info(md.YEAR)
    c = {k: max(1, round(v * scale)) for k, v in COUNTS.items()}
    n_files = 0
    eval_list: list[list[str]] = []
    for machine, (f0, dev_sec, eval_sec) in PLAN.items():
        eval_list.append([machine])
        for part, sec in (("dev", dev_sec), ("eval", eval_sec)):
            mdir = root / dc.PART_DIRS[part] / machine
            items = [("source", "train", "normal")] * c["train_source"] + [("target", "train", "normal")] * c[
                "train_target"
            ]
            for domain in ("source", "target"):
                for label in ("normal", "anomaly"):
                    items += [(domain, "test", label)] * c["test_per_label"]
            counters: dict[tuple, int] = {}
            blind: dict[str, list[tuple[str, str]]] = {"source": [], "target": []}
            for domain, split, label in items:
                num = counters[(domain, split, label)] = counters.get((domain, split, label), -1) + 1
                kind = shift_kind(md.SECTION_BY_KEY[(machine, sec)].domain_shift)
                tail = f"{kind}_{'A' if domain == 'source' else 'B'}" if split == "train" else ""
                full = dc.format_dcase_name(
                    md.YEAR, section=sec, number=num, domain=domain, split=split, label=label, attributes=tail
                )
                if part == "eval" and split == "test":
                    blind[domain].append((full, label))
                    continue
                folder = "train" if split == "train" else info.test_folder(domain)
                cond = section_condition(machine, sec, domain)
                x = render(seed, f"mimii/{machine}/{full}", f0, cond, label == "anomaly")
                write_wav_atomic(mdir / folder / full, x, SAMPLE_RATE)
                n_files += 1
            for domain, entries in blind.items():
                order = np.argsort(
                    [sg.stable_fraction(seed, f"{machine}/{e[0]}") for e in entries], kind="stable"
                )
                gt_rows = []
                for idx, j in enumerate(order):
                    full, label = entries[j]
                    bname = dc.format_dcase_name(md.YEAR, section=sec, number=idx, domain=domain, blind=True)
                    cond = section_condition(machine, sec, domain)
                    x = render(seed, f"mimii/{machine}/{full}", f0, cond, label == "anomaly")
                    write_wav_atomic(mdir / info.test_folder(domain) / bname, x, SAMPLE_RATE)
                    n_files += 1
                    eval_list.append([bname, full])
                    gt_rows.append([bname, "1" if label == "anomaly" else "0"])
                if not gt_rows:
                    continue
                _csv(
                    root
                    / "ground_truth_data"
                    / f"ground_truth_{machine}_section_{sec:02d}_{domain}_test.csv",
                    gt_rows,
                )
    _csv(root / f"eval_data_list_{md.YEAR}.csv", eval_list)
    return (
        f"MIMII DUE miniature in {root}: {n_files} WAV files (16 kHz mono, 2 s) for {list(PLAN)}, sections "
        f"{sorted({s for v in PLAN.values() for s in v[1:]})}, with eval_data_list_2021.csv and per-domain ground "
        "truth. Load with dinos.load_dataset('mimii_due', 'all', data_dir=...)."
    )


#: Tiny tree for the generic loader test (tests/test_loaders.py).
TINY_VARIANTS = [{"scale": 0.5}]
