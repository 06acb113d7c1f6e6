"""Each DCASE Task 2 year's evaluator procedure, described as data (`ScoringScheme`).

A scheme says, for one challenge year, what the organisers' evaluator computes and in which order:
which per-section values exist and over which clips, which values enter which mean and in what
order, whether a mean is summed pairwise (numpy's 1-D reduction) or row by row, whether values are
floored at `EPSILON`, the harmonic-mean formula, and whether decision metrics, mean normal scores
and the jackknife confidence interval exist. `dinos.metrics.engine` runs any scheme; it has no
per-year branches. This module imports nothing from the loaders.

`scheme_for(year)` reads the scheme a year uses from its `YearInfo.scoring` (the one home of that fact).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: Floor applied to every value entering a floored mean (the evaluators use `sys.float_info.epsilon`).
EPSILON = sys.float_info.epsilon
#: FPR limit of the partial AUC.
MAX_FPR = 0.1
DOMAIN_NAMES = ("source", "target")
LABEL_NAMES = ("normal", "anomaly")
KINDS = ("anomaly_score", "decision_result")
DECISION_METRICS = ("precision", "recall", "F1 score")

#: where a per-section value is computed
ALL_CLIPS = "all"  # every clip of the section
DOMAIN_CLIPS = "domain"  # the clips of one domain only (2021)
DOMAIN_NORMALS_ALL_ANOMALIES = "domain normals + all anomalies"  # 2022+: `(domain == d) | anomaly`

PAIRWISE = "pairwise"  # numpy's reduction of a contiguous 1-D array (np.mean / axis=1 / axis=None)
SEQUENTIAL = "sequential"  # row by row, as np.mean(axis=0) over a 2-D array sums
RECIPROCAL_OF_MEAN = "1/mean(1/x)"  # scipy.stats.hmean (SciPy 1.17, as pinned)
COUNT_OVER_SUM = "n/sum(1/x)"  # the textbook formula (kept for completeness; no scheme uses it)


@dataclass(frozen=True)
class SectionMetric:
    """One per-section value: `column` = `metric` ("auc" | "pauc") over `clips` of `domain`."""

    column: str
    metric: str
    clips: str = ALL_CLIPS
    domain: str | None = None


@dataclass(frozen=True)
class Values:
    """An ordered list of per-section values, assembled as the evaluator assembles it.

    `groups` is a tuple of column tuples. Not `machine_major`: for each group, for each (machine,
    section) row in table order (machines in Python string order, then sections), the group's
    columns in order. `machine_major`: for each machine, for each group, for each of its sections,
    the group's columns. Examples: 2022+ `((AUC (source),), (AUC (target),), (pAUC,))` gives
    all source AUCs, then all target AUCs, then all pAUCs; 2021 machine-major
    `((AUC (source), pAUC (source)), (AUC (target), pAUC (target)))` gives per machine AUC, pAUC,
    AUC, pAUC, ... over its source sections, then its target sections.
    """

    groups: tuple[tuple[str, ...], ...]
    machine_major: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for g in self.groups for c in g))


@dataclass(frozen=True)
class Aggregate:
    """One mean the evaluator reports: `mean` ("arithmetic" | "harmonic") of `values`.

    `summation`: PAIRWISE or SEQUENTIAL; `floor`: raise every value to `EPSILON` first;
    `official`: the year's evaluator writes exactly this number (False: dinos adds it, or the
    evaluator computes it differently; docs/metrics.md says how).
    """

    name: str
    values: Values
    mean: str = "arithmetic"
    summation: str = PAIRWISE
    floor: bool = False
    official: bool = True

    @property
    def needs_decisions(self) -> bool:
        return any(c.split(" (")[0] in DECISION_METRICS for c in self.values.columns)


@dataclass(frozen=True)
class ScoringScheme:
    """A year's evaluator procedure. See the module docstring and docs/metrics.md."""

    name: str
    evaluator: str  # provenance: repository @ commit, file
    uses_domains: bool
    section_metrics: tuple[SectionMetric, ...]
    decisions: bool  # precision/recall/F1 per domain exist (decision_result_*.csv)
    mean_normal_scores: bool  # per section and domain: mean anomaly score of the normal clips
    machine_aggregates: tuple[Aggregate, ...]
    overall_aggregates: tuple[Aggregate, ...]
    official_score: str | None  # name of the overall aggregate that is the official score
    ci95: bool  # the evaluator's jackknife 95 % interval of the official score
    hmean: str = RECIPROCAL_OF_MEAN
    verified: bool = True  # pinned against runs of the evaluator (tests/resources/evaluator_pins)
    note: str = ""

    def summary(self) -> str:
        """One line for tables of tasks: the per-section values and how the official score is formed
        (derived from the scheme, so it cannot disagree with what is computed)."""
        cols = ", ".join(m.column for m in self.section_metrics)
        where = "per section and domain" if any(m.clips != ALL_CLIPS for m in self.section_metrics) else "per section"
        if not self.uses_domains:
            where = "per machine ID"
        official = next((a for a in self.overall_aggregates if a.name == self.official_score), None)
        if official is None:
            return f"{cols} {where}; arithmetic means per machine type (no single official score)"
        inputs = sorted({c for group in official.values.groups for c in group}, key=str)
        return f"{cols} {where}; official score = {official.mean} mean of {', '.join(inputs)}"

    def section_columns(self, decisions: bool = False) -> list[str]:
        """Columns of the per-section table (decision metrics optional)."""
        cols = [m.column for m in self.section_metrics]
        if self.mean_normal_scores:
            cols += [f"mean normal score ({d})" for d in DOMAIN_NAMES]
        if decisions and self.decisions:
            cols += decision_columns()
        return cols

    def aggregates(self, scope: str, decisions: bool) -> tuple[Aggregate, ...]:
        """The machine or overall aggregates computable with or without decision metrics."""
        aggs = self.machine_aggregates if scope == "machine" else self.overall_aggregates
        return tuple(a for a in aggs if decisions or not a.needs_decisions)


def decision_columns() -> list[str]:
    """Per-section decision columns: precision, recall, F1 score, each per domain."""
    return [f"{m} ({d})" for m in DECISION_METRICS for d in DOMAIN_NAMES]


# --------------------------------------------------------------------------------------------------
# building blocks


def _by_domain(metric: str) -> tuple[tuple[str], tuple[str]]:
    return ((f"{metric} (source)",), (f"{metric} (target)",))


def _mean(name: str, groups, mean="arithmetic", **kw) -> Aggregate:
    return Aggregate(name, Values(tuple(groups), kw.pop("machine_major", False)), mean, **kw)


def _scheme_2020() -> ScoringScheme:
    seq = {"summation": SEQUENTIAL}
    return ScoringScheme(
        name="2020",
        evaluator="y-kawagu/dcase2020_task2_evaluator @1a065737, evaluator.py",
        uses_domains=False,
        section_metrics=(SectionMetric("AUC", "auc"), SectionMetric("pAUC", "pauc")),
        decisions=False,
        mean_normal_scores=False,
        machine_aggregates=(_mean("AUC", [("AUC",)], **seq), _mean("pAUC", [("pAUC",)], **seq)),
        overall_aggregates=(
            _mean("arithmetic mean AUC", [("AUC",)], official=False),
            _mean("arithmetic mean pAUC", [("pAUC",)], official=False),
        ),
        official_score=None,
        ci95=False,
        note="the 2020 evaluator reports per-ID AUC/pAUC and their mean per machine type; no single score",
    )


def _scheme_2021() -> ScoringScheme:
    # the evaluator's performance rows: machine, then domain, then section; columns AUC, pAUC,
    # precision, recall, F1; means over rows with axis=0 (row-by-row sums)
    row = {"machine_major": True, "summation": SEQUENTIAL}
    machine, overall = [], []
    for m in ("AUC", "pAUC", *DECISION_METRICS):
        machine += [_mean(f"{m} a-mean", _by_domain(m), **row),
                    _mean(f"{m} h-mean", _by_domain(m), "harmonic", floor=True, **row)]  # fmt: skip
        overall += [_mean(f"arithmetic mean {m}", _by_domain(m), **row),
                    _mean(f"harmonic mean {m}", _by_domain(m), "harmonic", floor=True, **row)]  # fmt: skip
    official = _mean(
        "official score",
        [("AUC (source)", "pAUC (source)"), ("AUC (target)", "pAUC (target)")],
        "harmonic", floor=True, machine_major=True, official=False,
    )  # fmt: skip
    metrics = []
    for d in DOMAIN_NAMES:
        metrics += [SectionMetric(f"AUC ({d})", "auc", DOMAIN_CLIPS, d), SectionMetric(f"pAUC ({d})", "pauc", DOMAIN_CLIPS, d)]
    return ScoringScheme(
        name="2021",
        evaluator="y-kawagu/dcase2021_task2_evaluator @c4bb06f8, dcase2021_task2_evaluator.py",
        uses_domains=True,
        section_metrics=tuple(metrics),
        decisions=True,
        mean_normal_scores=False,
        machine_aggregates=tuple(machine),
        overall_aggregates=(official, *overall),
        official_score="official score",
        ci95=False,
        note="the 2021 evaluator writes no single score; `official score` is the task's definition "
        "(harmonic mean of every AUC and pAUC) taken in the evaluator's row order",
    )


def _scheme_2022(paper_rows: bool) -> ScoringScheme:
    """2022 (`paper_rows=False`) and 2023+ (the evaluators add the paper-table means)."""
    pauc_twice = (("pAUC",), ("pAUC",))  # the evaluators average pAUC over the list (p..., p...)
    machine = [
        _mean("AUC (source)", [("AUC (source)",)], official=paper_rows),
        _mean("AUC (target)", [("AUC (target)",)], official=paper_rows),
        _mean("pAUC", [("pAUC",)], official=paper_rows),
    ]
    overall = [
        _mean("official score", [*_by_domain("AUC"), ("pAUC",)], "harmonic", floor=True),
        _mean("arithmetic mean", _by_domain("AUC")),
        _mean("harmonic mean", _by_domain("AUC"), "harmonic", floor=True),
        _mean("arithmetic mean (source)", [("AUC (source)",)], official=paper_rows),
        _mean("arithmetic mean (target)", [("AUC (target)",)], official=paper_rows),
        _mean("harmonic mean (source)", [("AUC (source)",)], "harmonic", floor=True),
        _mean("harmonic mean (target)", [("AUC (target)",)], "harmonic", floor=True),
        _mean("arithmetic mean pAUC", pauc_twice),
        _mean("harmonic mean pAUC", pauc_twice, "harmonic", floor=True),
        _mean("total arithmetic mean", [*_by_domain("AUC"), ("pAUC",)], official=paper_rows),
    ]
    for m in ("AUC", *DECISION_METRICS):
        src, tgt = _by_domain(m)
        machine += [
            _mean(f"{m} a-mean", (src, tgt)),
            _mean(f"{m} h-mean", (src, tgt), "harmonic", floor=True),
            # 2022 slices these per-machine rows with len(section_ids)//2 (a bug): not reproduced
            _mean(f"{m} h-mean (source)", (src,), "harmonic", floor=True, official=paper_rows),
            _mean(f"{m} h-mean (target)", (tgt,), "harmonic", floor=True, official=paper_rows),
        ]
        if m != "AUC":
            overall += [
                _mean(f"arithmetic mean {m}", (src, tgt)),
                _mean(f"harmonic mean {m}", (src, tgt), "harmonic", floor=True),
                _mean(f"harmonic mean {m} (source)", (src,), "harmonic", floor=True),
                _mean(f"harmonic mean {m} (target)", (tgt,), "harmonic", floor=True),
            ]
        if m == "AUC":
            machine += [_mean("pAUC a-mean", pauc_twice), _mean("pAUC h-mean", pauc_twice, "harmonic", floor=True)]
    metrics = [SectionMetric("AUC (all)", "auc")]
    metrics += [SectionMetric(f"AUC ({d})", "auc", DOMAIN_NORMALS_ALL_ANOMALIES, d) for d in DOMAIN_NAMES]
    metrics += [SectionMetric("pAUC", "pauc")]
    return ScoringScheme(
        name="2023" if paper_rows else "2022",
        evaluator=(
            "nttcslab/dcase2023_task2_evaluator @c850537f and nttcslab/dcase2024_task2_evaluator @7033756a "
            "(same arithmetic; the 2026 evaluator read as vendored in GionataGrotto/moviad @cc1cef6c)"
            if paper_rows else "Kota-Dohi/dcase2022_evaluator @9785ae5c, dcase2022_task2_evaluator.py"
        ),
        uses_domains=True,
        section_metrics=tuple(metrics),
        decisions=True,
        mean_normal_scores=paper_rows,
        machine_aggregates=tuple(machine),
        overall_aggregates=tuple(overall),
        official_score="official score",
        ci95=True,
    )  # fmt: skip


_UNVERIFIED_2025 = "no 2025 evaluator was reachable: 2025 is assumed to equal 2024 (unverified)"
_2023 = _scheme_2022(True)
#: The schemes by name. Which year uses which is a fact of the year (`YearInfo.scoring` in
#: `loaders/dcase_task2/years.py`), not of this module.
SCHEMES: dict[str, ScoringScheme] = {
    "2020": _scheme_2020(),
    "2021": _scheme_2021(),
    "2022": _scheme_2022(False),
    "2023": _2023,
    "2023 (assumed for 2025)": ScoringScheme(**{**_2023.__dict__, "verified": False, "note": _UNVERIFIED_2025}),
}


def _years():
    from dinos.loaders.dcase_task2 import years

    return years


def scheme_for(year: int) -> ScoringScheme:
    """The scoring scheme of a challenge year, named by its `YearInfo.scoring`. Raises `ValueError`
    (a `ScoreError` upstream) for an unknown year."""
    years = _years()
    try:
        info = years.YEAR_TABLE[int(year)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"unknown DCASE Task 2 year {year!r}; known: {years.YEARS[0]}-{years.YEARS[-1]}") from None
    return SCHEMES[info.scoring]


def __getattr__(name: str):  # YEARS / YEAR_SCHEMES: derived from the year objects on first use
    if name == "YEARS":
        return _years().YEARS
    if name == "YEAR_SCHEMES":
        return {y: scheme_for(y) for y in _years().YEARS}
    raise AttributeError(name)
