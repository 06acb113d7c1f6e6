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
    assert t3.count("|---|") == 1  # ONE table
    rows = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in t3.splitlines()
            if ln.startswith("| ") and not ln.startswith("| Model")}
    # columns: data, RenishawL (mAP), Yornew (mAP) (Table 3 order)
    assert "| Model | data | RenishawL (mAP) | Yornew (mAP) |" in t3
    assert rows["Log-Mel stats (baseline)"] == ["ours, synthetic DINOS", "**1.0000 ± 0.0000**", "**0.8000 ± 0.0000**"]
    assert rows["IMPACT (init)"][0] == rows["IMPACT"][0] == "ours, synthetic DINOS"
    assert rows["pretraining beat init? (IMPACT - IMPACT (init))"][1:] == ["tie (+0.0000)", "yes (+0.0500)"]
    assert rows["IMPACT-DINOS"] == ["paper, real data", "**1.0000 ± 0.0000**", "0.8841 ± 0.0231"]
    assert rows["OPERA-GT"][2] == "0.8516 ± 0.0275" and len(rows) == 3 + 1 + 10
    assert rows["IMPACT-Hybrid"][2] == "**0.8971 ± 0.0250**"  # best of the paper's rows, not of ours
    t4 = table4(res)
    assert t4.count("|---|") == 1
    head = next(ln for ln in t4.splitlines() if ln.startswith("| Task"))
    assert "| IMPACT [ours, synthetic DINOS] |" in head and "| IMPACT-DINOS [paper, real data] |" in head
    t6 = next(ln for ln in t4.splitlines() if ln.startswith("| T6 |")).split("|")[2:-1]
    assert t6[0].strip() == "**0.8000 ± 0.0000**" and t6[3 + 8].strip() == "0.9850 ± 0.0132"  # IMPACT-DINOS T6
    t7 = next(ln for ln in t4.splitlines() if ln.startswith("| T7 |")).split("|")[2:-1]
    assert [c.strip() for c in t7[:3]] == ["-", "-", "-"] and t7[3 + 1].strip() == "0.6842 ± 0.0839"  # CLAP
    assert "| T1 |" not in t4  # neither ours (no per-class AP) nor the paper's (not in these results)


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


# ------------------------------------------------------------------------------------------------
# The ASD benchmarks: one table with every model (embedders of dcase_results.json + the baselines)
# ------------------------------------------------------------------------------------------------
def _asd_result(flip: bool):
    """A real `dinos.metrics.evaluate` result (DCASE 2021 rules) of fan section 00: 2 normal and
    2 anomalous clips per domain; `flip` ranks one target anomaly below a normal clip."""
    import pandas as pd

    from dinos import metrics as M

    rows = []
    for dom in ("source", "target"):
        for i, (lab, s) in enumerate([("normal", 0.1), ("normal", 0.2), ("anomaly", 0.8), ("anomaly", 0.9)]):
            if flip and dom == "target" and i == 2:
                s = 0.15
            rows.append({"machine": "fan", "section": 0, "domain": dom, "label": lab, "file": f"{dom}_{i}.wav",
                         "score": s})
    return M.evaluate(2021, pd.DataFrame(rows)).to_dict()


def test_asd_table_every_model_with_the_paper_beside():
    from dinos.model.report import PAPER_DATA, asd_table

    embedders = {"corpus": "mimii_due", "config": "all", "year": 2021,
                 "models": {"baseline": _asd_result(False), "impact": _asd_result(True)}}
    baselines = {"corpus": "mimii_due", "config": "all", "year": 2021,
                 "models": {"mimii_due_ae": _asd_result(True)},
                 "timing": {"mimii_due_ae": {"seconds_per_epoch": 0.0123}},
                 "comparison": [{"model": "mimii_due_ae", "machine": "fan", "section": 0, "domain": d, "auc": 0.5,
                                 "pauc": 0.5, "paper_auc": v} for d, v in (("source", 0.667), ("target", 0.697))]}
    text = asd_table(embedders=embedders, baselines=baselines, data_label="synthetic mimii_due data",
                     labels={"mimii_due_ae": "MIMII DUE AE"})
    assert text.count("|---|") == 1
    head = next(ln for ln in text.splitlines() if ln.startswith("| Model"))
    cols = [c.strip() for c in head.split("|")[1:-1]]
    assert cols[:3] == ["Model", "data", "official score"] and "AUC (source)" in cols and "AUC (target)" in cols
    assert cols[-1] == "train s / epoch"
    rows = [[c.strip() for c in ln.split("|")[1:-1]] for ln in text.splitlines()
            if ln.startswith("| ") and not ln.startswith("| Model")]
    assert [(r[0], r[1]) for r in rows] == [
        ("Log-Mel stats (baseline)", "ours, synthetic mimii_due data"), ("IMPACT", "ours, synthetic mimii_due data"),
        ("MIMII DUE AE", "ours, synthetic mimii_due data"),
        ("MIMII DUE AE", f"{PAPER_DATA} (MIMII DUE Table 4, same sections)")]
    src, tgt = cols.index("AUC (source)"), cols.index("AUC (target)")
    assert rows[0][src] == rows[0][tgt] == "1.0000"  # perfect ranking
    assert rows[1][tgt] == "0.7500"  # one of four normal/anomaly pairs ranked wrongly
    assert rows[2][-1] == "0.012" and rows[0][-1] == "-"
    assert rows[3][src] == "0.6670" and rows[3][tgt] == "0.6970" and rows[3][2] == "-"
    assert float(rows[0][2]) == pytest.approx(1.0)  # official score (harmonic mean) of a perfect ranking


def test_asd_table_without_paper_figures_and_write(tmp_path):
    import json

    from dinos.errors import DinosError
    from dinos.model.report import ASD_TABLE, asd_table, write_asd_table

    b = {"corpus": "dcase_task2", "config": "2021-fan", "year": 2021, "models": {"blog_ae": _asd_result(False)},
         "timing": {"blog_ae": {"seconds_per_epoch": 0.5}}, "comparison": []}
    text = asd_table(baselines=b, data_label="x")
    assert "no paper rows" in text and "| blog_ae | ours, x |" in text
    with pytest.raises(ValueError, match="at least one"):
        asd_table(data_label="x")
    with pytest.raises(DinosError, match="no dcase_results.json or baselines.json"):
        write_asd_table(tmp_path, "x")
    (tmp_path / "dcase_results.json").write_text(json.dumps({**b, "models": {"baseline": _asd_result(True)}}))
    path = write_asd_table(tmp_path, "x")
    assert path == tmp_path / ASD_TABLE and "| Log-Mel stats (baseline) | ours, x |" in path.read_text()
    (tmp_path / "baselines.json").write_text(json.dumps(b))
    text = write_asd_table(tmp_path, "x").read_text()  # both files merged; the baseline by its registry label
    assert "| Log-Mel stats (baseline) | ours, x |" in text and "| AWS blog AE | ours, x |" in text
