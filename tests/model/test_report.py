"""Result files: the init control verdict and the paper's columns beside ours (pure formatting)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.model
pytest.importorskip("torch")

from dinos import tasks as T  # noqa: E402
from dinos.model.benchmark import init_comparison, init_verdict  # noqa: E402
from dinos.model.report import table3, table4  # noqa: E402


def _stat(mean, per_class=None):
    out = {"repeats": [mean, mean], "mean": mean, "std": 0.0}
    if per_class:
        out["per_class"] = {c: {"repeats": [v, v], "mean": v, "std": 0.0} for c, v in per_class.items()}
    return out


def _results():
    y = T.get_task("dinos/T6-T17")
    r = T.get_task("dinos/T1-T2")
    return {
        "models": {"baseline": "Log-Mel stats (baseline)", "impact_init": "IMPACT (init)", "impact": "IMPACT"},
        "tasks": {
            "dinos/T6-T17": {"dataset": "Yornew", "kind": "classification", "metric": "mAP", "repeats": 2,
                             "models": {"baseline": _stat(0.8, {"T6": 0.8}), "impact_init": _stat(0.7, {"T6": 0.7}),
                                        "impact": _stat(0.75, {"T6": 0.75})},
                             "paper": {p.model: {"mean": p.mean, "std": p.std} for p in y.paper_table3},
                             "paper_per_class": {t: {p.model: {"mean": p.mean, "std": p.std} for p in ps}
                                                 for t, ps in y.paper_table4}},
            "dinos/T1-T2": {"dataset": "RenishawL", "kind": "classification", "metric": "mAP", "repeats": 2,
                            "models": {"baseline": _stat(1.0), "impact_init": _stat(1.0), "impact": _stat(1.0)},
                            "paper": {p.model: {"mean": p.mean, "std": p.std} for p in r.paper_table3}},
        },
        "meta": {"data_label": "synthetic DINOS"},
    }


def test_init_verdict_and_tables():
    res = _results()
    res["init_comparison"] = init_comparison(res)
    assert res["init_comparison"]["dinos/T6-T17"]["beat_init"] is True
    assert res["init_comparison"]["dinos/T6-T17"]["delta"] == pytest.approx(0.05)
    text = init_verdict(res)
    assert "Yornew (mAP): yes" in text and "RenishawL (mAP): tie" in text
    assert "beat initialisation on 1 of 2 task(s) (1 tied)." in text
    t3 = table3(res)
    ours, paper = t3.split("## Paper, real DINOS")
    assert "## Ours (synthetic DINOS)" in ours and "IMPACT (init)" in ours and "yes (+0.0500)" in ours
    assert "tie (+0.0000)" in ours
    assert "0.8841 ± 0.0231" in paper and "OpenSMILE" in paper and "0.8841" not in ours
    t4 = table4(res)
    assert "| T6 |" in t4.split("## Paper")[0] and "0.9850 ± 0.0132" in t4.split("## Paper")[1]  # IMPACT-DINOS T6


def test_registry_holds_all_ten_paper_columns():
    assert len(T.PAPER_MODELS) == 10
    for t in T.split_file_tasks("dinos"):
        assert [r.model for r in t.paper_table3] == list(T.PAPER_MODELS), t.name
        ids = t.class_ids if t.kind == "classification" else (t.name.split("/")[1],)
        assert [tid for tid, _ in t.paper_table4] == list(ids), t.name
    y = T.get_task("dinos/T6-T17")
    assert y.paper("OPERA-GT").mean == 0.8516 and y.paper("CLAP", "T7").mean == 0.6842
    # Table 3 mAP is the macro mean of Table 4's per-class AP (paper, checked to 1e-4)
    for model in T.PAPER_MODELS:
        per_class = [y.paper(model, c).mean for c in y.class_ids]
        assert sum(per_class) / len(per_class) == pytest.approx(y.paper(model).mean, abs=1.5e-4), model
