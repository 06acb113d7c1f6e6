"""Decisions, not only scores: a threshold on anomaly scores and what it does.

Scores are "higher = more anomalous" (as in DCASE). A clip is *decided anomalous* when its score is
`>= threshold`. A threshold is chosen on labelled scores by one `RULES` entry:

- `min-error`: minimum FP + FN (the blog's sweep, without its fixed grid);
- `recall`: the positive class' recall reaches `target` (the thesis' recall = 1 with anomaly
  positive), and among those thresholds the one with the best recall of the other class;
- `youden`: maximum Youden's J = TPR - FPR;
- `value`: a given threshold.

Candidate thresholds are the midpoints between consecutive distinct scores plus `-inf` (everything
anomalous) and `+inf` (nothing anomalous); ties go to the lowest candidate. The confusion matrix and
precision / recall / F1 / accuracy are reported for an explicit **positive class** (`anomaly` by
default). The AWS MIMII blog's figures (precision = recall = F1 = 92.1 %, accuracy 88.5 %) are
consistent only if `normal` is the positive class; pass `positive="normal"` to compare with it.

`evaluate()` follows the rule of no tuning on test: the threshold is chosen on the validation clips
and applied unchanged to the test clips. AUC and pAUC come from `dinos.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DinosError

RULES = ("min-error", "recall", "youden", "value")
POSITIVE_CLASSES = ("anomaly", "normal")
DEFAULT_MAX_FPR = 0.1


class DecisionError(DinosError, ValueError):
    """Labels, scores or a threshold rule that cannot give a decision."""


def _labels(labels: Sequence) -> np.ndarray:
    """1 = anomaly, 0 = normal; accepts the strings `anomaly`/`normal` or 1/0."""
    out = []
    for v in labels:
        if v in ("anomaly", 1, True) or (isinstance(v, str) and v == "1"):
            out.append(1)
        elif v in ("normal", 0, False) or (isinstance(v, str) and v == "0"):
            out.append(0)
        else:
            raise DecisionError(f"label {v!r} is neither normal nor anomaly (unknown labels cannot be scored)")
    return np.asarray(out, dtype=np.int8)


def _scores(scores: Sequence) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise DecisionError("scores must be a flat sequence of finite numbers")
    return s


def _pair(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y, s = _labels(labels), _scores(scores)
    if len(y) != len(s):
        raise DecisionError(f"{len(y)} labels but {len(s)} scores")
    if len(y) == 0:
        raise DecisionError("no clips to decide on")
    return y, s


def candidate_thresholds(scores: Sequence) -> np.ndarray:
    """-inf, the midpoints between consecutive distinct scores, +inf (ascending)."""
    u = np.unique(_scores(scores))
    return np.concatenate([[-math.inf], (u[:-1] + u[1:]) / 2.0, [math.inf]])


def decide(scores: Sequence, threshold: float) -> np.ndarray:
    """1 where a clip is decided anomalous (`score >= threshold`), else 0."""
    return (_scores(scores) >= threshold).astype(np.int8)


@dataclass(frozen=True)
class Confusion:
    """Counts for a stated positive class, and the rates derived from them (0 where undefined)."""

    positive: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        n = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / n if n else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision, "recall": self.recall,
                "specificity": self.specificity, "f1": self.f1, "accuracy": self.accuracy}


def confusion(labels: Sequence, decisions: Sequence, positive: str = "anomaly") -> Confusion:
    """Confusion matrix of 0/1 anomaly `decisions` against `labels`, with `positive` as the positive class."""
    if positive not in POSITIVE_CLASSES:
        raise DecisionError(f"positive class must be one of {POSITIVE_CLASSES}, not {positive!r}")
    y = _labels(labels)
    d = np.asarray(decisions, dtype=np.int8)
    if len(y) != len(d):
        raise DecisionError(f"{len(y)} labels but {len(d)} decisions")
    if positive == "normal":
        y, d = 1 - y, 1 - d
    return Confusion(positive, int(np.sum((y == 1) & (d == 1))), int(np.sum((y == 0) & (d == 1))),
                     int(np.sum((y == 1) & (d == 0))), int(np.sum((y == 0) & (d == 0))))


def threshold_grid(spec: str) -> np.ndarray:
    """`LO:HI:STEP` -> the thresholds LO, LO + STEP, ... up to HI inclusive (the blog's sweep is `5:10:0.1`).

    How many there are is counted on the decimals as written (`decimal`), not on their binary
    floats: `86.84874:86.84876:0.000001` has 21 thresholds, as written, where floats make
    (HI - LO) / STEP 19.99999999 and lose the last one."""
    import decimal

    try:
        lo_d, hi_d, step_d = (decimal.Decimal(x.strip()) for x in spec.split(":"))
    except (ValueError, decimal.InvalidOperation):
        raise DecisionError(f"threshold sweep {spec!r} is not LO:HI:STEP (e.g. 5:10:0.1)") from None
    finite = all(v.is_finite() for v in (lo_d, hi_d, step_d))
    lo, hi, step = (float(v) for v in (lo_d, hi_d, step_d)) if finite else (math.nan,) * 3
    if not finite or not step_d > 0 or hi_d < lo_d or step <= 0 or not (math.isfinite(lo) and math.isfinite(hi)):
        raise DecisionError(f"threshold sweep {spec!r} needs finite LO <= HI and STEP > 0")
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        count = ((hi_d - lo_d) / step_d).to_integral_value(rounding=decimal.ROUND_FLOOR) + 1
    if count > 100_000:
        raise DecisionError(f"threshold sweep {spec!r} has {count} points (at most 100,000)")
    return np.round(lo + step * np.arange(int(count)), 12)


def choose_threshold(labels: Sequence, scores: Sequence, rule: str = "min-error", *, target: float | None = None,
                     value: float | None = None, positive: str = "anomaly",
                     grid: Sequence[float] | None = None) -> float:
    """The threshold `rule` picks on labelled scores (see the module docstring). With `grid` the rule
    picks among those thresholds only (a sweep, as the AWS blog's 5.0-10.0) instead of the midpoints."""
    if rule not in RULES:
        raise DecisionError(f"unknown threshold rule {rule!r} (expected one of {RULES})")
    if rule == "value":
        if value is None or not math.isfinite(value):
            raise DecisionError("rule 'value' needs a finite threshold value")
        return float(value)
    y, s = _pair(labels, scores)
    cands = candidate_thresholds(s) if grid is None else np.unique(_scores(grid))
    if len(cands) == 0:
        raise DecisionError("empty threshold grid")
    d = s[None, :] >= cands[:, None]  # candidates x clips
    tp_a = np.sum(d & (y == 1), axis=1)  # anomalies decided anomalous
    fp_a = np.sum(d & (y == 0), axis=1)  # normals decided anomalous
    n_a, n_n = int(np.sum(y == 1)), int(np.sum(y == 0))
    if rule == "min-error":
        cost = fp_a + (n_a - tp_a)
        return float(cands[int(np.argmin(cost))])
    if n_a == 0 or n_n == 0:
        raise DecisionError(f"rule {rule!r} needs normal and anomalous clips; got {n_n} normal, {n_a} anomalous")
    rec_a, spec_a = tp_a / n_a, 1 - fp_a / n_n  # recall of anomaly, recall of normal
    if rule == "youden":
        return float(cands[int(np.argmax(rec_a - (1 - spec_a)))])
    if target is None or not 0 <= target <= 1:
        raise DecisionError("rule 'recall' needs a target recall in [0, 1]")
    pos, other = (rec_a, spec_a) if positive == "anomaly" else (spec_a, rec_a)
    ok = pos >= target - 1e-12
    if not ok.any():  # without a grid -inf/+inf always reach recall 1 for either class
        raise DecisionError(f"no threshold reaches recall {target}")
    best = np.where(ok, other, -1.0)
    return float(cands[int(np.argmax(best))])


@dataclass(frozen=True)
class Report:
    """A decision at one threshold on one set of clips, with the threshold-free AUC/pAUC."""

    threshold: float
    rule: str
    chosen_on: str  # the clips the threshold was chosen on (`validation`, `test (optimistic)`, `given`)
    confusion: Confusion
    n_normal: int
    n_anomaly: int
    auc: float | None
    pauc: float | None
    max_fpr: float

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "rule": self.rule, "chosen_on": self.chosen_on,
                "n_normal": self.n_normal, "n_anomaly": self.n_anomaly, "auc": self.auc, "pauc": self.pauc,
                "max_fpr": self.max_fpr, **self.confusion.to_dict()}

    def to_text(self, title: str = "") -> str:
        c = self.confusion
        neg = "normal" if c.positive == "anomaly" else "anomaly"
        auc = "n/a" if self.auc is None else f"{self.auc:.4f}"
        pauc = "n/a" if self.pauc is None else f"{self.pauc:.4f}"
        lines = [
            f"{title}: {self.n_normal} normal, {self.n_anomaly} anomalous clips" if title else "",
            f"threshold {self.threshold:.6g} (rule {self.rule}, chosen on {self.chosen_on}); "
            "decided anomalous when score >= threshold",
            f"positive class: {c.positive}",
            f"{'':>16}{'pred ' + c.positive:>18}{'pred ' + neg:>18}",
            f"{'true ' + c.positive:>16}{c.tp:>18}{c.fn:>18}",
            f"{'true ' + neg:>16}{c.fp:>18}{c.tn:>18}",
            f"precision {c.precision:.4f}  recall {c.recall:.4f}  F1 {c.f1:.4f}  accuracy {c.accuracy:.4f}  "
            f"specificity {c.specificity:.4f}",
            f"AUC {auc}  pAUC (FPR <= {self.max_fpr:g}) {pauc}",
        ]
        return "\n".join(line for line in lines if line)


def report(labels: Sequence, scores: Sequence, threshold: float, *, rule: str = "value", chosen_on: str = "given",
           positive: str = "anomaly", max_fpr: float = DEFAULT_MAX_FPR) -> Report:
    """The decision at `threshold` on these clips, with AUC/pAUC (None when a class is absent)."""
    from .core import auc as _auc
    from .core import pauc as _pauc

    y, s = _pair(labels, scores)
    both = 0 < int(y.sum()) < len(y)
    names = ["anomaly" if v else "normal" for v in y]
    return Report(
        threshold=float(threshold), rule=rule, chosen_on=chosen_on,
        confusion=confusion(y, decide(s, threshold), positive),
        n_normal=int(np.sum(y == 0)), n_anomaly=int(np.sum(y == 1)),
        auc=_auc(names, s) if both else None,
        pauc=_pauc(names, s, max_fpr) if both else None,
        max_fpr=max_fpr,
    )


def evaluate(test_labels: Sequence, test_scores: Sequence, *, validation_labels: Sequence | None = None,
             validation_scores: Sequence | None = None, rule: str = "min-error", target: float | None = None,
             value: float | None = None, positive: str = "anomaly", tune_on_test: bool = False,
             max_fpr: float = DEFAULT_MAX_FPR, grid: Sequence[float] | None = None) -> dict[str, Report]:
    """Choose the threshold on the validation clips, apply it to the test clips.

    Returns `{"validation": Report, "test": Report}` (no `validation` entry without validation clips).
    Without validation clips only `rule="value"` is allowed, unless `tune_on_test=True` (the blog's
    procedure: optimistic, and labelled so in the report). `grid`: choose among these thresholds only."""
    has_val = validation_labels is not None and len(validation_labels) > 0
    if rule == "value":
        th, where = choose_threshold([], [], "value", value=value), "given"
    elif has_val:
        th = choose_threshold(validation_labels, validation_scores, rule, target=target, positive=positive, grid=grid)
        where = "validation"
    elif tune_on_test:
        th = choose_threshold(test_labels, test_scores, rule, target=target, positive=positive, grid=grid)
        where = "test (optimistic)"
    else:
        raise DecisionError(
            f"rule {rule!r} needs validation clips to choose the threshold on (make split files with a validation "
            "slice), a given threshold (rule 'value'), or tune_on_test=True (optimistic)"
        )
    out = {}
    if has_val:
        out["validation"] = report(validation_labels, validation_scores, th, rule=rule, chosen_on=where,
                                   positive=positive, max_fpr=max_fpr)
    out["test"] = report(test_labels, test_scores, th, rule=rule, chosen_on=where, positive=positive,
                         max_fpr=max_fpr)
    return out


# ------------------------------------------------------------------------------------------------
# I/O edge: a scores CSV against a protocol split file or a built corpus (`dinos score asd`)
# ------------------------------------------------------------------------------------------------
def read_scores(path) -> dict[str, float]:
    """clip id -> score from a CSV with a header `clip_id,score` (`file` or `path` instead of `clip_id`
    name whole files, i.e. clip ids `<path>#0`)."""
    import csv
    from pathlib import Path

    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except FileNotFoundError:
        raise DecisionError("scores file does not exist", path) from None
    if not rows:
        raise DecisionError("scores file holds no rows", path)
    cols = set(rows[0])
    key = next((k for k in ("clip_id", "file", "path") if k in cols), None)
    if key is None or "score" not in cols:
        raise DecisionError(f"scores file needs columns clip_id (or file/path) and score; has {sorted(cols)}", path)
    out: dict[str, float] = {}
    for i, row in enumerate(rows, start=2):
        cid = row[key].strip() if key == "clip_id" else f"{row[key].strip()}#0"
        try:
            value = float(row["score"])
        except (TypeError, ValueError):
            raise DecisionError(f"line {i}: score {row['score']!r} is not a number", path) from None
        if not math.isfinite(value):
            raise DecisionError(f"line {i}: score is not finite", path)
        if cid in out:
            raise DecisionError(f"line {i}: clip {cid!r} scored twice", path)
        out[cid] = value
    return out


def _lookup(scores: dict[str, float], clips: dict[str, str], where) -> tuple[list[str], list[float]]:
    missing = sorted(set(clips) - set(scores))
    if missing:
        raise DecisionError(f"{len(missing)} clip(s) have no score, e.g. {missing[0]!r}", where)
    ids = sorted(clips)
    return [clips[c] for c in ids], [scores[c] for c in ids]


def score_asd(scores_path, *, split_file=None, data_dir=None, corpus: str | None = None, config: str | None = None,
              fold: int = 0, rule: str = "min-error", target: float | None = None, value: float | None = None,
              positive: str = "anomaly", tune_on_test: bool = False, max_fpr: float = DEFAULT_MAX_FPR,
              cache_dir=None, grid: Sequence[float] | None = None,
              sections: Sequence[int] | None = None) -> dict[str, Report]:
    """Reports of a scores CSV. With `split_file` (a `dinos.protocols` file): threshold from its
    `validation` side, applied to its `test` side (the data in `data_dir`, when given, must still match
    the file). Without: every labelled clip of `corpus`/`config` built from `data_dir` is a test clip
    (only those of its `*test` splits when it has any, i.e. the official test side of a DCASE-style
    corpus; only those of `sections` when given). `grid`: choose the threshold among these values."""
    scores = read_scores(scores_path)
    if split_file is not None:
        from .. import protocols

        record = protocols.load(split_file)
        if data_dir is not None:
            protocols.datasets_of(record, data_dir, fold=fold, cache_dir=cache_dir, decode=False)
        val = protocols.side_clips(record, "validation", fold)
        test = protocols.side_clips(record, "test", fold)
    else:
        if data_dir is None or corpus is None:
            raise DecisionError("give a protocol split file, or a corpus and its data_dir")
        from ..api import load_dataset
        from ..schema import decoded_column

        dd = load_dataset(corpus, config, data_dir=data_dir, cache_dir=cache_dir, decode=False)
        val, test = {}, {}
        # a corpus with an official test side (DCASE, MIMII DUE: `test`, `eval_test`): that side only
        names = [n for n in dd if n.rsplit("_", 1)[-1] == "test"] or list(dd)
        for ds in (dd[n] for n in names):
            secs = ds["section"] if sections is not None else [None] * len(ds)
            for cid, lab, sec in zip(ds["clip_id"], decoded_column(ds, "label"), secs, strict=True):
                if lab != "unknown" and (sections is None or sec in sections):
                    test[cid] = lab
    if not test:
        raise DecisionError("no test clips", split_file or data_dir)
    tl, ts = _lookup(scores, test, scores_path)
    vl, vs = _lookup(scores, val, scores_path) if val else ([], [])
    return evaluate(tl, ts, validation_labels=vl or None, validation_scores=vs or None, rule=rule, target=target,
                    value=value, positive=positive, tune_on_test=tune_on_test, max_fpr=max_fpr, grid=grid)
