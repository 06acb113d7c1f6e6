"""ROC curves behind the AUC values: the points of each per-section AUC, over the clips the year's
evaluator uses for it (no plotting here; `dinos.plots` draws them).

`roc_curve(y, s)` is the curve whose area `core.auc` returns (sklearn's `roc_curve`, same label and
score checks). `section_rocs(year, frame)` gives, for every machine, section and AUC column of the
year's scheme (2020 `AUC`; 2021 `AUC (source)` / `AUC (target)` over the domain's clips; 2022+ the
domain's normals plus all anomalies), the curve and the very AUC `engine.evaluate` reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .core import ScoreError, _binary, _check_pair, _scores, auc
from .engine import _machine_order, _mask, get_scheme
from .schemes import DOMAIN_NAMES


def roc_curve(y, s, *, where: str = "ROC") -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates (`fpr`, `tpr`, from (0, 0) to (1, 1)) of scores `s` (higher =
    more anomalous) for labels `y` (1 or `anomaly` = positive); the area under them is `auc(y, s)`.
    Raises `ScoreError` as `auc` does (a single class, NaN scores, lengths that differ)."""
    from sklearn.metrics import roc_curve as _sk_roc

    y = _binary(y, "anomaly", "normal", "labels")
    s = _scores(s)
    _check_pair(y, s, where)
    fpr, tpr, _ = _sk_roc(y, s)
    return fpr.astype(float), tpr.astype(float)


@dataclass(frozen=True)
class RocCurve:
    """One per-section AUC and the curve it is the area of."""

    machine: str
    section: int
    column: str  # the per-section column: "AUC", "AUC (source)", "AUC (target)"
    domain: str | None  # the scheme's domain of that column (None: every clip)
    clips: str  # which clips: the scheme's selection (`schemes.ALL_CLIPS`, ...)
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float
    n_normal: int
    n_anomaly: int


def section_rocs(year: int, frame: pd.DataFrame) -> list[RocCurve]:
    """Every per-section AUC of `year`'s scheme as a ROC curve, machines and sections in the
    evaluator's order. `frame`: one row per scored clip, columns `machine, section, domain, label,
    score` (as `engine.evaluate` takes; `Result.clips` is one)."""
    sch = get_scheme(year)
    for c in ("machine", "section", "label", "score") + (("domain",) if sch.uses_domains else ()):
        if c not in frame.columns:
            raise ScoreError(f"frame lacks column {c!r}")
    out: list[RocCurve] = []
    sections = frame["section"].astype(int)
    for machine in _machine_order(frame["machine"]):
        in_m = frame["machine"].astype(str) == machine
        for section in sorted(set(sections[in_m])):
            t = frame[in_m & (sections == section)]
            y = _binary(t["label"].to_numpy(), "anomaly", "normal", "labels")
            s = _scores(t["score"].to_numpy())
            d = _binary(t["domain"].to_numpy(), "target", "source", "domains") if sch.uses_domains else None
            for m in sch.section_metrics:
                if m.metric != "auc":
                    continue
                dom_idx = None if m.domain is None else DOMAIN_NAMES.index(m.domain)
                mask = _mask(m.clips, dom_idx, y, d)
                where = f"{machine} section {section:02d} {m.column}"
                fpr, tpr = roc_curve(y[mask], s[mask], where=where)
                out.append(RocCurve(machine, int(section), m.column, m.domain, m.clips, fpr, tpr,
                                    auc(y[mask], s[mask], where=where), int((y[mask] == 0).sum()),
                                    int((y[mask] == 1).sum())))
    return out
