"""The one evaluation engine: runs any `ScoringScheme` on per-clip scores.

Per section it computes the scheme's `section_metrics` (and decision metrics, mean normal scores);
then every machine and overall `Aggregate` from the per-section table, taking the values in the
order the scheme gives and reducing them with `core.mean_of`. Nothing here depends on the year
except through the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .core import ScoreError, _binary, _scores, auc, decision_metrics, mean_of, official_ci95, pauc
from .schemes import (
    ALL_CLIPS,
    DOMAIN_CLIPS,
    DOMAIN_NAMES,
    DOMAIN_NORMALS_ALL_ANOMALIES,
    PAIRWISE,
    Aggregate,
    ScoringScheme,
    Values,
    scheme_for,
)


def get_scheme(year: int) -> ScoringScheme:
    """`scheme_for(year)`, raising `ScoreError` for an unknown year."""
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        raise ScoreError(f"unknown DCASE Task 2 year {year!r}; expected an int such as 2023")
    try:
        return scheme_for(int(year))
    except ValueError as exc:
        raise ScoreError(str(exc)) from None


def scheme(year: int) -> str:
    """Name of the year's scoring scheme: "2020", "2021", "2022" or "2023" (2023-2026)."""
    return get_scheme(year).name


def value_columns(year: int, decisions: bool = False) -> list[str]:
    """Metric columns of the per-section table of `year` (decision metrics optional)."""
    return get_scheme(year).section_columns(decisions)


# --------------------------------------------------------------------------------------------------
# one section


def _mask(metric_clips: str, dom_idx: int | None, y: np.ndarray, d: np.ndarray | None) -> np.ndarray:
    if metric_clips == ALL_CLIPS:
        return np.ones(len(y), dtype=bool)
    in_dom = d == dom_idx
    if metric_clips == DOMAIN_CLIPS:
        return in_dom
    if metric_clips == DOMAIN_NORMALS_ALL_ANOMALIES:
        return in_dom | (y == 1)
    raise ScoreError(f"unknown clip selection {metric_clips!r}")


def section_scores(year: int, labels, domains, scores, decisions=None) -> dict[str, float]:
    """The year's metrics for one machine section: arrays of labels (`normal`/`anomaly` or 0/1),
    domains (`source`/`target` or 0/1; ignored where the year has none), scores and optional 0/1
    decisions, all in the evaluator's clip order (sorted by file name) where an order matters
    (mean normal scores).

    Keys are `value_columns(year, decisions is not None)`.
    """
    sch = get_scheme(year)
    y = _binary(labels, "anomaly", "normal", "labels")
    s = _scores(scores)
    if len(y) != len(s):
        raise ScoreError(f"{len(y)} labels but {len(s)} scores")
    dec = None if decisions is None else _binary(decisions, "1", "0", "decisions")
    if dec is not None and not sch.decisions:
        raise ScoreError(f"DCASE {year} has no decision results")
    if dec is not None and len(dec) != len(y):
        raise ScoreError(f"{len(y)} labels but {len(dec)} decisions")
    d = None
    if sch.uses_domains:
        d = _binary(domains, "target", "source", "domains")
        if len(d) != len(y):
            raise ScoreError(f"{len(y)} labels but {len(d)} domains")
    out: dict[str, float] = {}
    for m in sch.section_metrics:
        dom_idx = None if m.domain is None else DOMAIN_NAMES.index(m.domain)
        if m.clips == DOMAIN_NORMALS_ALL_ANOMALIES and not np.any((d == dom_idx) & (y == 0)):
            raise ScoreError(f"{m.column}: the section has no {m.domain} normal clips")
        mask = _mask(m.clips, dom_idx, y, d)
        fn = auc if m.metric == "auc" else pauc
        out[m.column] = fn(y[mask], s[mask], where=m.column)
    if sch.mean_normal_scores:
        for idx, dom in enumerate(DOMAIN_NAMES):
            normal = s[(d == idx) & (y == 0)]
            if normal.size == 0:
                raise ScoreError(f"mean normal score ({dom}): the section has no {dom} normal clips")
            out[f"mean normal score ({dom})"] = mean_of(normal, summation=PAIRWISE)
    if dec is not None:
        for idx, dom in enumerate(DOMAIN_NAMES):
            in_dom = d == idx
            for k, v in decision_metrics(y[in_dom], dec[in_dom]).items():
                out[f"{k} ({dom})"] = v
    return {k: out[k] for k in sch.section_columns(dec is not None)}


# --------------------------------------------------------------------------------------------------
# aggregates


def _machine_order(machines) -> list[str]:
    # the evaluators sort machine types with Python's default (case-sensitive) string order
    return sorted({str(m) for m in machines})


def ordered_values(spec: Values, table: pd.DataFrame) -> list[float]:
    """The per-section values `spec` names, in its order (table rows: machines, then sections)."""
    missing = [c for c in spec.columns if c not in table.columns]
    if missing:
        raise ScoreError(f"per-section table has no column(s) {missing}")
    blocks = [table[table["machine"] == m] for m in _machine_order(table["machine"])] if spec.machine_major else [table]
    out: list[float] = []
    for block in blocks:
        for group in spec.groups:
            cols = [block[c].astype(float).tolist() for c in group]
            for row in zip(*cols, strict=True):
                out.extend(row)
    return out


def aggregate(sch: ScoringScheme, agg: Aggregate, table: pd.DataFrame) -> float:
    """One aggregate of the per-section `table` as the scheme's evaluator computes it."""
    return mean_of(ordered_values(agg.values, table), mean=agg.mean, summation=agg.summation,
                   floor=agg.floor, hmean=sch.hmean)  # fmt: skip


def official_score(year: int, table: pd.DataFrame) -> float:
    """The year's single official score from a per-section table (rows from `section_scores`).

    DCASE 2020 defines no single score (its evaluator reports per-type means): `ScoreError`.
    """
    sch = get_scheme(year)
    if len(table) == 0:
        raise ScoreError("no sections to score")
    if sch.official_score is None:
        raise ScoreError(f"DCASE {year} has no single official score; see summary() for the per-type means")
    agg = next(a for a in sch.overall_aggregates if a.name == sch.official_score)
    return aggregate(sch, agg, table)


def _has_decisions(sch: ScoringScheme, table: pd.DataFrame) -> bool:
    return sch.decisions and all(c in table.columns for c in sch.section_columns(True))


def summary(year: int, table: pd.DataFrame) -> dict[str, float]:
    """Official score plus every overall mean the year's evaluator reports (see the scheme)."""
    sch = get_scheme(year)
    if len(table) == 0:
        raise ScoreError("no sections to score")
    aggs = sch.aggregates("overall", _has_decisions(sch, table))
    return {a.name: aggregate(sch, a, table) for a in aggs}


def machine_summary(year: int, table: pd.DataFrame) -> pd.DataFrame:
    """One row per machine type: the per-type means the year's evaluator reports."""
    sch = get_scheme(year)
    aggs = sch.aggregates("machine", _has_decisions(sch, table))
    rows = []
    for machine in _machine_order(table["machine"]):
        t = table[table["machine"] == machine]
        rows.append({"machine": machine, "sections": len(t), **{a.name: aggregate(sch, a, t) for a in aggs}})
    return pd.DataFrame(rows)


def not_from_evaluator(year: int) -> list[str]:
    """Names of the machine/overall numbers the year's evaluator does not write as dinos computes them."""
    sch = get_scheme(year)
    return [a.name for a in (*sch.machine_aggregates, *sch.overall_aggregates) if not a.official]


# --------------------------------------------------------------------------------------------------
# a whole submission


@dataclass
class Result:
    """Scores of one submission (one part): per-section table, per-machine means and the summary."""

    year: int
    sections: pd.DataFrame
    machines: pd.DataFrame
    summary: dict[str, float]
    notes: list[str] = field(default_factory=list)
    part: str = ""
    #: the scored clips (`evaluate`'s frame: machine, section, domain, label, score, ...), for the
    #: ROC curves and score histograms (`dinos.metrics.curves`, `dinos.plots`); not in `to_dict`
    clips: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def official_score(self) -> float | None:
        """The year's official score (None for 2020, which has none)."""
        name = get_scheme(self.year).official_score
        return None if name is None else self.summary.get(name)

    def own_numbers(self) -> list[str]:
        """Names shown here that the year's evaluator does not write as dinos computes them."""
        shown = set(self.summary) | set(self.machines.columns)
        return [n for n in not_from_evaluator(self.year) if n in shown]

    def to_frame(self) -> pd.DataFrame:
        """The per-section table (one row per machine and section)."""
        return self.sections.copy()

    def to_dict(self) -> dict:
        """JSON-ready dict: year, part, scheme, summary, machines, sections, notes, and which of
        the numbers are not written by the year's evaluator (`not_from_evaluator`)."""

        def records(df: pd.DataFrame) -> list[dict]:
            return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                    for r in df.to_dict("records")]  # fmt: skip

        sch = get_scheme(self.year)
        return {
            "year": self.year,
            "part": self.part,
            "scheme": sch.name,
            "evaluator": sch.evaluator,
            "verified_against_evaluator": sch.verified,
            "summary": dict(self.summary),
            "machines": records(self.machines),
            "sections": records(self.sections),
            "not_from_evaluator": not_from_evaluator(self.year),
            "notes": list(self.notes),
        }

    def to_markdown(self, digits: int = 4) -> str:
        """Markdown: the per-section table, the per-machine means and the summary."""
        title = f"DCASE {self.year} Task 2" + (f", {self.part}" if self.part else "")
        parts = [f"### {title}: per section", "", _md_table(self.sections, digits), ""]
        parts += ["### Per machine type", "", _md_table(self.machines, digits), ""]
        rows = pd.DataFrame([{"metric": k, "value": v} for k, v in self.summary.items()])
        parts += ["### Summary", "", _md_table(rows, digits)]
        sch = get_scheme(self.year)
        if sch.note:
            parts += ["", f"Note: {sch.note}."]
        if self.own_numbers():
            parts += ["", f"Note: not written by the DCASE {self.year} evaluator: {', '.join(self.own_numbers())}."]
        for n in self.notes:
            parts += ["", f"Note: {n}"]
        return "\n".join(parts) + "\n"


def _md_table(df: pd.DataFrame, digits: int) -> str:
    def cell(v) -> str:
        return f"{float(v):.{digits}f}" if isinstance(v, float | np.floating) else str(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def evaluate(
    year: int, frame: pd.DataFrame, *, notes: list[str] | None = None, ci95: bool = False, part: str = ""
) -> Result:
    """Score a frame of ground truth plus a `score` column (and optional `decision` column, 0/1).

    One row per test clip; columns `machine, section, domain, label, score[, decision][, file]`.
    With `file`, clips are taken in the evaluators' order (sorted by file name within a section),
    which matters for the mean normal scores and the jackknife interval; without it, in row order.
    `ci95=True` adds the evaluator's `official score ci95` (years that have it; seconds per
    thousand clips).
    """
    sch = get_scheme(year)
    for c in ("machine", "section", "domain", "label", "score"):
        if c not in frame.columns:
            raise ScoreError(f"frame lacks column {c!r}")
    if ci95 and not sch.ci95:
        raise ScoreError(f"the DCASE {year} evaluator computes no confidence interval")
    has_dec = "decision" in frame.columns and sch.decisions
    frame = frame.assign(section=frame["section"].astype(int))
    rows, pooled = [], []
    for machine in _machine_order(frame["machine"]):
        fm = frame[frame["machine"] == machine]
        for section in sorted(set(fm["section"])):
            t = fm[fm["section"] == section]
            if "file" in t.columns:
                t = t.iloc[np.argsort(np.array([str(f) for f in t["file"]], dtype=object), kind="stable")]
            where = f"{machine} section {section:02d}"
            try:
                vals = section_scores(
                    year, t["label"].to_numpy(), t["domain"].to_numpy(), t["score"].to_numpy(),
                    t["decision"].to_numpy() if has_dec else None,
                )  # fmt: skip
            except ScoreError as exc:
                raise ScoreError(f"{where}: {exc.reason}", exc.path) from None
            rows.append({"machine": machine, "section": f"{section:02d}", **vals})
            pooled.append(t)
    if not rows:
        raise ScoreError("nothing to score: the ground truth is empty")
    table = pd.DataFrame(rows)
    summ = summary(year, table)
    if ci95:
        clips = pd.concat(pooled, ignore_index=True)
        summ["official score ci95"] = official_ci95(
            _binary(clips["label"].to_numpy(), "anomaly", "normal", "labels").astype(float),
            _scores(clips["score"].to_numpy()),
        )
    return Result(int(year), table, machine_summary(year, table), summ, list(notes or []), part, frame)
