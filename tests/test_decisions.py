"""dinos.metrics.decisions: thresholds, confusion matrices with an explicit positive class, no tuning on test."""

from __future__ import annotations

import math

import pytest

from dinos import metrics
from dinos.metrics import decisions as D

LABELS = ["normal", "normal", "normal", "anomaly", "normal", "anomaly", "anomaly", "anomaly"]
SCORES = [0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8]


def test_confusion_counts_for_each_positive_class():
    dec = D.decide(SCORES, 0.375)  # anomalous: 0.4, 0.6, 0.7, 0.8
    a = D.confusion(LABELS, dec, "anomaly")
    assert (a.tp, a.fp, a.fn, a.tn) == (3, 1, 1, 3)
    n = D.confusion(LABELS, dec, "normal")
    assert (n.tp, n.fp, n.fn, n.tn) == (3, 1, 1, 3)
    assert a.precision == 0.75 and a.recall == 0.75 and a.accuracy == 0.75
    dec2 = D.decide(SCORES, 0.65)  # anomalous: 0.7, 0.8
    a2, n2 = D.confusion(LABELS, dec2, "anomaly"), D.confusion(LABELS, dec2, "normal")
    assert (a2.tp, a2.fp, a2.fn, a2.tn) == (2, 0, 2, 4)
    assert (n2.tp, n2.fp, n2.fn, n2.tn) == (4, 2, 0, 2)
    assert a2.precision == 1.0 and a2.recall == 0.5
    assert n2.precision == pytest.approx(4 / 6) and n2.recall == 1.0
    assert a2.accuracy == n2.accuracy == 0.75


def test_blog_figures_are_consistent_only_with_normal_positive():
    """P = R = F1 with accuracy below P on a balanced set is impossible with anomaly positive."""
    # balanced: 10 normal, 10 anomalous; decisions chosen so that FP (normal->anomaly) = 1, FN = 3
    labels = ["normal"] * 10 + ["anomaly"] * 10
    dec = [0] * 9 + [1] + [1] * 7 + [0] * 3
    n = D.confusion(labels, dec, "normal")
    a = D.confusion(labels, dec, "anomaly")
    assert a.accuracy == n.accuracy == 0.8
    assert n.precision != a.precision and n.recall != a.recall
    # with anomaly positive, precision == recall implies FP == FN and then accuracy == precision
    for fp in range(11):
        c = D.Confusion("anomaly", tp=10 - fp, fp=fp, fn=fp, tn=10 - fp)
        assert c.precision == pytest.approx(c.accuracy)


def test_min_error_rule_minimises_fp_plus_fn():
    th = D.choose_threshold(LABELS, SCORES, "min-error")
    c = D.confusion(LABELS, D.decide(SCORES, th))
    best = min(
        D.confusion(LABELS, D.decide(SCORES, t)).fp + D.confusion(LABELS, D.decide(SCORES, t)).fn
        for t in D.candidate_thresholds(SCORES)
    )
    assert c.fp + c.fn == best == 1  # 0.325 (one normal flagged) and 0.5 (one anomaly missed) tie
    assert th == pytest.approx(0.325)  # lowest candidate among the optimal ones


def test_recall_rule_reaches_target_with_fewest_false_alarms():
    th = D.choose_threshold(LABELS, SCORES, "recall", target=1.0)
    assert th == pytest.approx(0.325)  # every anomaly found, one normal (0.4) flagged
    c = D.confusion(LABELS, D.decide(SCORES, th))
    assert c.recall == 1.0 and c.fp == 1
    th_n = D.choose_threshold(LABELS, SCORES, "recall", target=1.0, positive="normal")
    cn = D.confusion(LABELS, D.decide(SCORES, th_n), "normal")
    assert cn.recall == 1.0 and th_n == pytest.approx(0.5)


def test_youden_and_value_rules():
    th = D.choose_threshold(LABELS, SCORES, "youden")
    assert th == pytest.approx(0.325)
    assert D.choose_threshold([], [], "value", value=0.5) == 0.5
    with pytest.raises(D.DecisionError, match="finite"):
        D.choose_threshold(LABELS, SCORES, "value")
    with pytest.raises(D.DecisionError, match="unknown threshold rule"):
        D.choose_threshold(LABELS, SCORES, "median")
    with pytest.raises(D.DecisionError, match="target recall"):
        D.choose_threshold(LABELS, SCORES, "recall")


def test_candidates_include_the_extremes():
    c = D.candidate_thresholds([3.0, 1.0, 1.0, 2.0])
    assert c[0] == -math.inf and c[-1] == math.inf and list(c[1:-1]) == [1.5, 2.5]


def test_evaluate_chooses_on_validation_and_applies_to_test():
    val_l = ["normal", "normal", "anomaly", "anomaly"]
    val_s = [0.1, 0.2, 0.9, 1.0]  # min-error threshold: 0.55
    test_l = ["normal", "anomaly", "normal", "anomaly"]
    test_s = [0.5, 0.6, 0.7, 0.3]
    out = D.evaluate(test_l, test_s, validation_labels=val_l, validation_scores=val_s)
    assert out["test"].threshold == pytest.approx(0.55) == out["validation"].threshold
    assert out["test"].chosen_on == "validation"
    c = out["test"].confusion
    assert (c.tp, c.fp, c.fn, c.tn) == (1, 1, 1, 1)
    # tuned on test it would differ: the test set alone prefers another threshold
    tuned = D.evaluate(test_l, test_s, tune_on_test=True)["test"]
    assert tuned.chosen_on == "test (optimistic)" and tuned.threshold != pytest.approx(0.55)


def test_evaluate_refuses_to_tune_on_test_silently():
    with pytest.raises(D.DecisionError, match="validation"):
        D.evaluate(LABELS, SCORES)
    rep = D.evaluate(LABELS, SCORES, rule="value", value=0.375)["test"]
    assert rep.chosen_on == "given" and rep.confusion.fp == 1


def test_report_auc_matches_metrics():
    rep = D.report(LABELS, SCORES, 0.5)
    assert rep.auc == pytest.approx(metrics.auc(LABELS, SCORES))
    assert rep.pauc == pytest.approx(metrics.pauc(LABELS, SCORES, 0.1))
    text = rep.to_text("test")
    assert "positive class: anomaly" in text and "score >= threshold" in text
    one_class = D.report(["normal", "normal"], [0.1, 0.2], 0.5)
    assert one_class.auc is None and one_class.confusion.tn == 2


def test_bad_inputs_are_clear_errors():
    with pytest.raises(D.DecisionError, match="neither normal nor anomaly"):
        D.confusion(["unknown"], [0])
    with pytest.raises(D.DecisionError, match="finite"):
        D.decide([float("nan")], 0.0)
    with pytest.raises(D.DecisionError, match="2 labels but 1"):
        D.choose_threshold(["normal", "anomaly"], [0.1], "youden")
    with pytest.raises(D.DecisionError, match="positive class"):
        D.confusion(["normal"], [0], "fault")


def test_read_scores(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("clip_id,score\na.wav#0,0.5\nb.wav#0,1.5\n")
    assert D.read_scores(p) == {"a.wav#0": 0.5, "b.wav#0": 1.5}
    p.write_text("file,score\na.wav,0.5\n")
    assert D.read_scores(p) == {"a.wav#0": 0.5}
    p.write_text("clip_id,score\na.wav#0,x\n")
    with pytest.raises(D.DecisionError, match="line 2"):
        D.read_scores(p)
    p.write_text("clip_id,score\na#0,1\na#0,2\n")
    with pytest.raises(D.DecisionError, match="twice"):
        D.read_scores(p)
    p.write_text("name,value\na,1\n")
    with pytest.raises(D.DecisionError, match="columns"):
        D.read_scores(p)


def test_threshold_sweep_grid():
    """A sweep (the AWS blog's 5.0-10.0 in steps of 0.1, kept 6.3): the rule picks among the grid only."""
    g = D.threshold_grid("5:10:0.1")
    assert len(g) == 51 and g[0] == 5.0 and g[-1] == 10.0 and 6.3 in g
    assert list(D.threshold_grid("0:1:0.25")) == [0.0, 0.25, 0.5, 0.75, 1.0]
    for bad in ("5:10", "a:b:c", "5:10:0", "10:5:1", "0:1:-1", "0:inf:1", "0:1:0.000001", "nan:1:1", "sNaN:1:1",
                "1e400:1e401:1", "0:1:1e-400", "1:2:3:4"):
        with pytest.raises(D.DecisionError, match="sweep"):
            D.threshold_grid(bad)


@pytest.mark.parametrize("lo", ["86.848740", "64.005875", "-2.500000", "1000.000001", "0.000001", "123456.7"])
@pytest.mark.parametrize("step", ["0.000001", "0.000013", "0.1", "0.3"])
def test_threshold_sweep_counts_the_decimals_as_written(lo, step):
    """LO:HI:STEP with HI = LO + 20 STEP as written has 21 thresholds whatever the binary floats of its
    numbers give (with floats, (86.84876 - 86.84874) / 0.000001 is 19.99999999: one was lost), the
    first LO and the last HI (to 12 decimals); HI a hair below LO + 20 STEP gives 20."""
    from decimal import Decimal

    hi = Decimal(lo) + 20 * Decimal(step)
    g = D.threshold_grid(f"{lo}:{hi}:{step}")
    assert len(g) == 21 and g[0] == round(float(lo), 12) and g[-1] == pytest.approx(float(hi), abs=1e-9)
    assert len(D.threshold_grid(f"{lo}:{hi - Decimal('1e-12')}:{step}")) == 20
    assert len(D.threshold_grid(f"{lo}:{lo}:{step}")) == 1
    # errors per grid point: 0 -> 4 FP; .25 -> 2 FP; .5 -> 1 FN (0.35); .75 -> 3 FN; 1 -> 4 FN
    grid = D.threshold_grid("0:1:0.25")
    assert D.choose_threshold(LABELS, SCORES, "min-error", grid=grid) == 0.5
    assert D.choose_threshold(LABELS, SCORES, "min-error") == pytest.approx(0.325)  # midpoints: an earlier tie
    assert D.choose_threshold(LABELS, SCORES, "recall", target=1.0, grid=grid) == 0.25
    with pytest.raises(D.DecisionError, match="no threshold reaches recall"):
        D.choose_threshold(LABELS, SCORES, "recall", target=1.0, grid=[0.5, 0.9])
    out = D.evaluate(LABELS, SCORES, rule="min-error", tune_on_test=True, grid=grid)
    assert out["test"].threshold == 0.5 and out["test"].chosen_on == "test (optimistic)"
    assert out["test"].confusion.fn == 1 and out["test"].confusion.fp == 0
