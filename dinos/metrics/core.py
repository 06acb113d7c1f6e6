"""Elementary DCASE metrics: AUC, pAUC, decision metrics, the evaluators' means and the jackknife interval.

Every number is computed with the operations, in the order, that the organisers' evaluators use
(float64): sklearn's `roc_auc_score` for AUC and pAUC; arithmetic means as numpy sums them (pairwise
for a 1-D reduction, row by row for `axis=0` over a 2-D array); harmonic means as `scipy.stats.hmean`
(`1/mean(1/x)`); the jackknife 95 % interval as the 2022+ evaluators' `jackknife_estimate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import DinosError
from .schemes import COUNT_OVER_SUM, EPSILON, MAX_FPR, PAIRWISE, RECIPROCAL_OF_MEAN, SEQUENTIAL


class ScoreError(DinosError, ValueError):
    """Scores and ground truth do not fit together, or a metric is undefined for the given data."""


def _binary(values, positive: str, negative: str, what: str) -> np.ndarray:
    """0/1 array from bools, 0/1 numbers or the two names (`negative` -> 0, `positive` -> 1)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        out = arr.astype(float)
        if not np.isin(out, (0.0, 1.0)).all():
            raise ScoreError(
                f"{what} must be 0/1 ({negative}/{positive}); got {sorted(set(out.tolist()))[:5]}"
            )
        return out.astype(int)
    names = {negative: 0, positive: 1}
    bad = sorted({str(v) for v in arr.tolist() if v not in names})
    if bad:
        raise ScoreError(f"{what} must be {negative!r} or {positive!r}; got {bad[:5]}")
    return np.array([names[v] for v in arr.tolist()], dtype=int)


def _scores(values, what: str = "scores") -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ScoreError(f"{what} must be one-dimensional")
    if not np.isfinite(arr).all():
        raise ScoreError(f"{what} contain NaN or infinite values")
    return arr


def _check_pair(y: np.ndarray, s: np.ndarray, where: str) -> None:
    if len(y) != len(s):
        raise ScoreError(f"{where}: {len(y)} labels but {len(s)} scores")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        raise ScoreError(
            f"{where}: AUC needs normal and anomalous clips; got {len(y) - n_pos} normal, {n_pos} anomalous"
        )


def auc(y, s, *, where: str = "AUC") -> float:
    """Area under the ROC curve of scores `s` (higher = more anomalous) for labels `y` (1 = anomaly).

    Equals `sklearn.metrics.roc_auc_score(y, s)`; ties count one half. Raises `ScoreError` when
    `y` holds a single class.
    """
    from sklearn.metrics import roc_auc_score

    y = _binary(y, "anomaly", "normal", "labels")
    s = _scores(s)
    _check_pair(y, s, where)
    return float(roc_auc_score(y, s))


def pauc(y, s, max_fpr: float = MAX_FPR, *, where: str = "pAUC") -> float:
    """Partial AUC over FPR in [0, max_fpr], McClish-standardised: `roc_auc_score(y, s, max_fpr=...)`.

    0.5 is chance, 1 perfect; the standardised value of a perfectly wrong ranking is
    `0.5 * (1 - max_fpr / (2 - max_fpr))` (about 0.4737 at 0.1), never below that.
    """
    from sklearn.metrics import roc_auc_score

    if not 0 < max_fpr <= 1:
        raise ScoreError(f"max_fpr must be in (0, 1]; got {max_fpr!r}")
    y = _binary(y, "anomaly", "normal", "labels")
    s = _scores(s)
    _check_pair(y, s, where)
    return float(roc_auc_score(y, s, max_fpr=max_fpr))


def decision_metrics(y, decisions) -> dict[str, float]:
    """Precision, recall and F1 of 0/1 `decisions` against labels `y` (1 = anomaly).

    As the evaluators: every denominator is floored at `EPSILON`, so an empty class gives 0, not NaN.
    """
    y = _binary(y, "anomaly", "normal", "labels")
    d = _binary(decisions, "1", "0", "decisions")
    if len(y) != len(d):
        raise ScoreError(f"{len(y)} labels but {len(d)} decisions")
    tp = float(np.sum((y == 1) & (d == 1)))
    fp = float(np.sum((y == 0) & (d == 1)))
    fn = float(np.sum((y == 1) & (d == 0)))
    prec = tp / max(tp + fp, EPSILON)
    rec = tp / max(tp + fn, EPSILON)
    return {"precision": prec, "recall": rec, "F1 score": 2.0 * prec * rec / max(prec + rec, EPSILON)}


def _sum(x: np.ndarray, summation: str) -> float:
    if summation == PAIRWISE:
        return float(np.add.reduce(np.ascontiguousarray(x, dtype=np.float64)))  # numpy's pairwise sum
    if summation == SEQUENTIAL:
        total = float(x[0])
        for v in x[1:]:
            total += float(v)
        return total
    raise ScoreError(f"unknown summation {summation!r}")


def mean_of(
    values: Sequence[float] | np.ndarray,
    *,
    mean: str = "arithmetic",
    summation: str = PAIRWISE,
    floor: bool = False,
    hmean: str = RECIPROCAL_OF_MEAN,
) -> float:
    """The mean of `values` as an evaluator computes it (float64, same operations, same order).

    `floor`: every value is first raised to `EPSILON` (`np.maximum(x, eps)`). Harmonic means:
    `1 / (sum(1/x) / n)` (RECIPROCAL_OF_MEAN, as `scipy.stats.hmean` in SciPy 1.17) or `n / sum(1/x)`
    (COUNT_OVER_SUM). `summation`: PAIRWISE (numpy's reduction of a contiguous 1-D array, as
    `np.mean(a)`, `axis=1` or `axis=None`) or SEQUENTIAL (left to right, as `np.mean(a, axis=0)` sums
    the rows of a 2-D array).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ScoreError("mean of no values")
    if np.isnan(x).any():
        raise ScoreError("mean of NaN")
    if floor:
        x = np.maximum(x, EPSILON)
    n = x.size
    if mean == "arithmetic":
        return float(_sum(x, summation) / n)
    if mean != "harmonic":
        raise ScoreError(f"unknown mean {mean!r}")
    if (x <= 0).any():
        raise ScoreError("harmonic mean of a value <= 0 (floor the values first)")
    s = _sum(1.0 / x, summation)
    if hmean == RECIPROCAL_OF_MEAN:
        return float(1.0 / (s / n))
    if hmean == COUNT_OVER_SUM:
        return float(n / s)
    raise ScoreError(f"unknown harmonic-mean formula {hmean!r}")


def harmonic_mean(values: Iterable[float], floor: float = EPSILON) -> float:
    """Harmonic mean `1/mean(1/x)` of `values`, each first raised to at least `floor` (pairwise sum)."""
    arr = np.asarray(list(values), dtype=float)
    if arr.size == 0:
        raise ScoreError("harmonic mean of no values")
    if np.isnan(arr).any():
        raise ScoreError("harmonic mean of NaN")
    return mean_of(np.maximum(arr, floor), mean="harmonic")


def jackknife_ci95(y, s, metric: str = "auc", max_fpr: float = MAX_FPR) -> float:
    """Half-width of the jackknife 95 % interval of AUC (or pAUC) over the pooled clips `y`, `s`.

    As the 2022+ evaluators' `jackknife_estimate`: the leave-one-out values in clip order, their
    mean, `sqrt(sum((theta_i - mean)**2) / (N (N-1)))` times the two-sided Student t quantile with
    N-1 degrees of freedom at `(1 - 0.95) / 2`. N calls of `roc_auc_score`: seconds for thousands of clips.
    """
    from scipy.stats import t as student_t
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=float)
    s = np.asarray(s, dtype=float)
    n = len(y)
    if n < 3:
        raise ScoreError("the jackknife interval needs at least 3 clips")
    kw = {"max_fpr": max_fpr} if metric == "pauc" else {}
    keep = np.ones(n, dtype=bool)
    thetas = []
    for i in range(n):
        keep[i] = False
        thetas.append(roc_auc_score(y[keep], s[keep], **kw))
        keep[i] = True
    theta_mean = np.mean(thetas)
    sigma = np.sqrt(np.sum([(th - theta_mean) ** 2 for th in thetas]) / (n * (n - 1)))
    confidence = 0.95
    return float(np.abs(student_t.ppf((1 - confidence) / 2, n - 1)) * sigma)


def official_ci95(y, s, max_fpr: float = MAX_FPR) -> float:
    """The evaluators' `official score ci95`: the mean of the AUC and the pAUC jackknife half-widths."""
    return float(np.mean([jackknife_ci95(y, s, "auc", max_fpr), jackknife_ci95(y, s, "pauc", max_fpr)]))
