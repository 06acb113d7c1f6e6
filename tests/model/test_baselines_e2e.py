"""End to end: the seeds' baselines through `dinos benchmark --model` on synthetic MIMII DUE and DCASE trees."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]
torch = pytest.importorskip("torch")

from dinos import metrics as M  # noqa: E402
from dinos import tasks as T  # noqa: E402
from dinos.cli import main  # noqa: E402
from dinos.errors import DinosError  # noqa: E402
from dinos.model.baselines import run_asd_benchmark  # noqa: E402


@pytest.fixture(scope="module")
def mimii(tmp_path_factory):
    from dinos.synth import mimii_due

    base = tmp_path_factory.mktemp("mimii")
    mimii_due.write(base / "data", scale=0.5)
    return base


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A tiny IMPACT run (2 pretraining steps on a miniature DINOS tree): its rows, not its quality."""
    from tests.conftest import make_dinos_tree

    base = tmp_path_factory.mktemp("run")
    root = make_dinos_tree(base / "dinos", datasets=("VF2",), per_class=1, pretrain_seconds=2.0)
    assert main(["pretrain", "--corpus", "dinos", "--data-dir", str(root), "--out", str(base / "run"), "--preset",
                 "tiny", "--max-steps", "2", "--batch-size", "4", "--cache-dir", str(base / "cache"), "--quiet"]) == 0
    return base / "run"


def test_cli_mimii_due_ae_beside_table4(mimii, tiny_run, capsys):
    """The MIMII DUE AE protocol: one model per machine type on sections 00-02, per section/domain
    AUC and pAUC, the paper's Table 4 AE value beside each, official CSVs that re-score identically;
    with an IMPACT run, ONE table (table.md) holds the log-Mel stats, IMPACT (init), IMPACT and the AE
    rows (ours, synthetic) and the paper's AE row (real data)."""
    out = mimii / "out-ae"
    assert main(["benchmark", str(tiny_run), "--corpus", "mimii_due", "--data-dir", str(mimii / "data"),
                 "--out", str(out), "--model", "mimii_due_ae", "--model-preset", "tiny", "--model-epochs", "2",
                 "--cache-dir", str(mimii / "cache"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "paper AUC (real data)" in printed and "REAL MIMII DUE" in printed
    table = (out / "table.md").read_text()
    assert table.count("|---|") == 1 and "## Every model" in printed
    rows = [[c.strip() for c in ln.split("|")[1:-1]] for ln in table.splitlines()
            if ln.startswith("| ") and not ln.startswith("| Model")]
    ours = "ours, synthetic mimii_due data"
    assert [(r[0], r[1]) for r in rows] == [
        ("Log-Mel stats (baseline)", ours), ("IMPACT (init)", ours), ("IMPACT", ours), ("MIMII DUE AE", ours),
        ("MIMII DUE AE", "paper, real data (MIMII DUE Table 4, same sections)")]
    dcase = json.loads((out / "dcase_results.json").read_text())
    assert set(dcase["models"]) == {"baseline", "impact_init", "impact"}
    # the table's figures are the per-model files' own: the AE's official score, the paper's source mean
    ae = json.loads((out / "baselines.json").read_text())["models"]["mimii_due_ae"]
    assert float(rows[3][2]) == pytest.approx(ae["summary"]["official score"], abs=5e-5)
    head = [c.strip() for c in next(ln for ln in table.splitlines() if ln.startswith("| Model")).split("|")[1:-1]]
    assert float(rows[4][head.index("AUC (source)")]) == pytest.approx((0.667 + 0.824 + 0.599) / 3, abs=5e-5)
    report = json.loads((out / "baselines.json").read_text())
    timing = report["timing"]["mimii_due_ae"]
    assert timing["machines"] == 3 and timing["epochs"] == 6 and timing["sample_rates"] == [16_000]
    rows = report["comparison"]
    # the synthetic tree has fan 00, pump 01, valve 02 in the dev part (03-05 are not scored)
    assert sorted({(r["machine"], r["section"]) for r in rows}) == [("fan", 0), ("pump", 1), ("valve", 2)]
    for r in rows:
        task = T.get_task(f"mimii_due/{r['machine']}/section_{r['section']:02d}")
        assert r["paper_auc"] == task.reference("AE", r["domain"]).value  # read from the task registry
        assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["pauc"] <= 1.0
    md = (out / "baselines.md").read_text()
    assert "| MIMII DUE AE | fan | 00 | source |" in md
    # the paper mean over the same six cells: (.667 + .697 + .824 + .474 + .599 + .552) / 6 = 0.6355
    assert "| MIMII DUE AE | " in md and "| 0.6355 |" in md
    sub = out / "submissions" / "mimii_due_ae"
    names = sorted(p.name for p in sub.glob("*.csv"))
    assert names == sorted(M.submission_file_name(2021, m, s, d) for m, s in (("fan", 0), ("pump", 1), ("valve", 2))
                           for d in ("source", "target"))
    # re-score the written CSVs against the truth from the loader: the same per-section table
    from dinos.model.baselines.asd import load_clips

    test = [c for c in load_clips("mimii_due", "all", mimii / "data", cache_dir=str(mimii / "cache"))["test"]
            if c.section in (0, 1, 2)]
    import pandas as pd

    truth = pd.DataFrame([{"file": c.file, "machine": c.machine, "section": c.section, "domain": c.domain,
                           "label": c.label} for c in test])
    rescored = M.score_submission(2021, sub, truth).to_dict()["sections"]
    assert rescored == report["models"]["mimii_due_ae"]["sections"]


def test_cli_every_model_on_mimii_due(mimii):
    """Each baseline trains and scores through `dinos benchmark --model` (tiny presets, one epoch)."""
    out = mimii / "out-all"
    names = ["blog_ae", "mobilenetv2", "mae_vit", "cae"]
    args = ["benchmark", "--corpus", "mimii_due", "--data-dir", str(mimii / "data"), "--out", str(out),
            "--model-preset", "tiny", "--model-epochs", "1", "--cache-dir", str(mimii / "cache"), "--quiet"]
    assert main(args + [x for n in names for x in ("--model", n)]) == 0
    report = json.loads((out / "baselines.json").read_text())
    assert list(report["models"]) == names
    for m, result in report["models"].items():
        assert {r["machine"] for r in result["sections"]} == {"fan", "pump", "valve"}, m
        assert 0.0 <= result["summary"]["official score"] <= 1.0
        assert report["timing"][m]["sample_rates"] == [16_000]
    # MobileNetV2 has paper values; the thesis' models have none in Table 4
    refs = {(r["model"], r["paper_auc"] is None) for r in report["comparison"]}
    assert ("mobilenetv2", False) in refs and ("mae_vit", True) in refs
    # one development section per machine type here: the section classifier says it used all of them
    assert any(n.startswith("mobilenetv2: fan has fewer than two training sections") and "[0, 3]" in n
               for n in report["notes"])

    # the blog AE's decision threshold by sweep (seed 004): its clip_id,score CSV through `dinos score asd`
    import csv

    from dinos.metrics import decisions as D

    with open(out / "scores" / "blog_ae.csv", encoding="utf-8") as fh:
        scores = {r["clip_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    assert len(scores) == 12  # fan 00, pump 01, valve 02: 2 normal + 2 anomalous test clips each
    lo, hi = min(scores.values()), max(scores.values())
    # 21 thresholds over the scores' range, written so that HI is LO + 20 x STEP exactly in decimals
    # (HI and STEP rounded apart could leave 20 steps a hair past HI: 20 thresholds, by the scores' luck)
    lo6, step = round(lo, 6), max(round((hi - lo) / 20, 6), 1e-6)
    sweep = f"{lo6:.6f}:{lo6 + 20 * step:.6f}:{step:.6f}"
    common = ["score", "asd", "--scores", str(out / "scores" / "blog_ae.csv"), "--dataset", "mimii_due",
              "--config", "all", "--data-dir", str(mimii / "data"), "--cache-dir", str(mimii / "cache")]
    assert main([*common, "--section", "0", "--section", "1", "--section", "2", "--sweep", sweep, "--tune-on-test",
                 "--positive", "normal", "--out", str(out / "blog_decision.json")]) == 0
    decision = json.loads((out / "blog_decision.json").read_text())
    test = decision["test"]
    assert decision["sweep"] == {"spec": sweep, "thresholds": 21}
    assert test["chosen_on"] == "test (optimistic)" and test["positive"] == "normal"
    assert any(abs(test["threshold"] - t) < 1e-9 for t in D.threshold_grid(sweep))
    assert test["n_normal"] == test["n_anomaly"] == 6 and test["tp"] + test["fp"] + test["fn"] + test["tn"] == 12
    # the same decision from the library on the same scores and labels (the DCASE frame of baselines.json)
    labels = {r["clip_id"]: r["label"] for r in _frame_rows(out, "blog_ae")}
    ids = sorted(scores)
    again = D.evaluate([labels[c] for c in ids], [scores[c] for c in ids], rule="min-error", tune_on_test=True,
                       positive="normal", grid=D.threshold_grid(sweep))["test"]
    assert again.threshold == test["threshold"] and again.confusion.tp == test["tp"]
    assert test["auc"] == pytest.approx(again.auc)
    # without --section the labelled clips of sections 03-05 have no score: a clear error, not a skip
    assert main([*common, "--tune-on-test"]) == 1


def _frame_rows(out, model):
    """clip_id -> label of the scored clips, from the loader (the truth the decision used)."""
    import dinos
    from dinos.schema import decoded_column

    dd = dinos.load_dataset("mimii_due", "all", data_dir=out.parent / "data", decode=False,
                            cache_dir=str(out.parent / "cache"))
    ds = dd["test"]
    return [{"clip_id": c, "label": lab} for c, lab, s in zip(ds["clip_id"], decoded_column(ds, "label"),
                                                                ds["section"], strict=True) if s in (0, 1, 2)]


@pytest.mark.parametrize("year", [2020, 2023])
def test_dcase_year_ae(tmp_path, year):
    """A DCASE year: every labelled section is scored under that year's rules; no Table 4 beside it."""
    from dinos.synth import dcase

    dcase.write(tmp_path / "data", year=year, scale=0.5)
    report = run_asd_benchmark("dcase_task2", f"{year}-all", tmp_path / "data", tmp_path / "out",
                               models=["mimii_due_ae"], preset="tiny", epochs=1, cache_dir=str(tmp_path / "cache"))
    result = report.results["mimii_due_ae"]
    assert report.year == year and report.comparison == []
    assert report.timing["mimii_due_ae"]["sample_rates"] == [16_000]
    expected = {"AUC", "pAUC"} if year == 2020 else {"AUC (source)", "AUC (target)", "pAUC"}
    assert expected <= set(result.sections.columns)
    assert (tmp_path / "out" / "baselines.md").is_file()
    pattern = "anomaly_score_*_id_*.csv" if year == 2020 else "anomaly_score_*_section_*_test.csv"
    assert list((tmp_path / "out" / "submissions" / "mimii_due_ae").glob(pattern))
    if year != 2020:
        assert 0.0 <= result.official_score <= 1.0


def test_bad_requests(mimii, capsys):
    # DINOS (the default corpus): a section classifier does not apply; refused before anything runs
    assert main(["benchmark", "--data-dir", str(mimii / "data"), "--out", str(mimii / "never"),
                 "--model", "mobilenetv2"]) == 1
    assert "classifies sections" in capsys.readouterr().err and not (mimii / "never" / "results.json").exists()
    with pytest.raises(DinosError, match="no preset 'huge'"):
        run_asd_benchmark("mimii_due", "all", mimii / "data", models=["mimii_due_ae"], preset="huge",
                          cache_dir=str(mimii / "cache"))
    with pytest.raises(DinosError, match="unknown baseline"):
        run_asd_benchmark("mimii_due", "all", mimii / "data", models=["alexnet"])


def test_cli_dinos_benchmark_with_seed_baselines(tmp_path, tiny_run, capsys):
    """DINOS: the anomaly detectors among the baselines join table3.md / table4.md on the ASD task (T26,
    Monte Carlo repeats, AUROC); on the classification task their cells are "-"."""
    from dinos import splits as S
    from dinos.synth import dinos as SD

    root = tmp_path / "dinos"
    SD.write(root, scale=0.01, progress=False, pretrain_recordings=0)
    tasks = ["dinos/T6-T17", "dinos/T26"]
    cache = str(tmp_path / "cache")
    S.make_split_files("dinos", root, tmp_path / "splits", variant="synthetic", tasks=tasks, cache_dir=cache)
    out = tmp_path / "results"
    assert main(["benchmark", str(tiny_run), "--data-dir", str(root), "--out", str(out), "--repeats", "2",
                 "--splits-dir", str(tmp_path / "splits"), "--cache-dir", cache, "--quiet", "--no-plots",
                 "--model", "mimii_due_ae", "--model", "blog_ae", "--model-preset", "tiny", "--model-epochs", "1",
                 *[a for t in tasks for a in ("--task", t)]]) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["models"]) == {"baseline", "impact_init", "impact", "mimii_due_ae", "blog_ae"}
    t26 = res["tasks"]["dinos/T26"]["models"]
    for m in ("mimii_due_ae", "blog_ae"):
        assert len(t26[m]["repeats"]) == 2 and all(0.0 <= v <= 1.0 for v in t26[m]["repeats"])
        assert t26[m]["mean"] == pytest.approx(sum(t26[m]["repeats"]) / 2)
        assert m not in res["tasks"]["dinos/T6-T17"]["models"]  # a classifier task: does not apply
    t3 = (out / "table3.md").read_text()
    assert t3.count("|---|") == 1
    order = [ln.split("|")[1].strip() for ln in t3.splitlines() if "| ours, synthetic DINOS |" in ln]
    assert order == ["Log-Mel stats (baseline)", "IMPACT (init)", "IMPACT", "MIMII DUE AE", "AWS blog AE"]
    row = next(ln for ln in t3.splitlines() if ln.startswith("| MIMII DUE AE |")).split("|")[2:-1]
    head = next(ln for ln in t3.splitlines() if ln.startswith("| Model |")).split("|")[2:-1]
    cells = dict(zip([h.strip() for h in head], [c.strip() for c in row], strict=True))
    assert cells["data"] == "ours, synthetic DINOS" and cells["Yornew (mAP)"] == "-"
    assert cells["Yornew (AUROC)"].strip("*").startswith(f"{t26['mimii_due_ae']['mean']:.4f}")
    assert "| IMPACT-DINOS | paper, real data |" in t3
    t4 = (out / "table4.md").read_text()
    assert "MIMII DUE AE [ours, synthetic DINOS]" in t4 and "| T26 |" in t4
    assert "MIMII DUE AE" in capsys.readouterr().out
