"""Benchmark figures (`dinos.model.plots`): per-class AP with class names and the legend outside,
spectra with one distinct colour per class, T26/T27 ROC and score histograms, DCASE/MIMII DUE
figures per model; and that `dinos benchmark` writes them (or not, with --no-plots)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from dinos import metrics as M  # noqa: E402
from dinos import tasks as T  # noqa: E402
from dinos.model import plots as P  # noqa: E402
from dinos.model.report import MODEL_LABELS  # noqa: E402

YORNEW = "dinos/T6-T17"
MODELS = {"baseline": MODEL_LABELS["baseline"], "impact_init": MODEL_LABELS["impact_init"], "impact": MODEL_LABELS["impact"]}


def _stat(rng, n=3):
    v = rng.uniform(0.3, 0.95, n)
    return {"repeats": list(v), "mean": float(v.mean()), "std": float(v.std(ddof=1))}


def _class_results(task: str = YORNEW, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    t = T.get_task(task)
    entry = {"dataset": "Yornew", "kind": "classification", "metric": "mAP", "repeats": 3, "models": {}}
    for m in MODELS:
        entry["models"][m] = {**_stat(rng), "per_class": {c: _stat(rng) for c in t.class_ids}}
    return {"models": MODELS, "tasks": {task: entry}}


def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_ap_figure_names_classes_and_keeps_the_legend_outside():
    results = _class_results()
    entry = results["tasks"][YORNEW]
    fig = P.ap_figure(entry, MODELS, P.class_names())
    r = _renderer(fig)
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    task = T.get_task(YORNEW)
    assert ticks == [f"{c.id} {c.name}" for c in task.classes]  # T6 at the top
    assert ax.get_yticks()[0] > ax.get_yticks()[-1]
    assert any("chatter" in t for t in ticks)  # names, not only T-ids
    legend = ax.get_legend()
    assert [t.get_text().split(" (mAP")[0] for t in legend.get_texts()] == list(MODELS.values())
    box, frame = legend.get_window_extent(r), ax.get_window_extent(r)
    assert box.x0 > frame.x1  # entirely right of the bars
    colours = {tuple(c.patches[0].get_facecolor()) for c in ax.containers if hasattr(c, "patches")}
    assert len(colours) == len(MODELS)  # one distinct colour per model
    # every bar is the mean of its class
    bars = [c for c in ax.containers if hasattr(c, "patches")][0]
    widths = sorted(round(p.get_width(), 9) for p in bars.patches)
    assert widths == sorted(round(s["mean"], 9) for s in entry["models"]["baseline"]["per_class"].values())


def test_plot_class_ap_writes_one_png_per_classification_task(tmp_path):
    results = _class_results()
    results["tasks"]["dinos/T26"] = {"dataset": "Yornew", "kind": "anomaly_detection", "metric": "AUROC",
                                     "repeats": 3, "models": {}}
    paths = P.plot_class_ap(results, tmp_path)
    assert [p.name for p in paths] == ["ap_Yornew.png"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG"


def test_spectra_figure_gives_twelve_classes_twelve_colours():
    task = T.get_task(YORNEW)
    rng = np.random.default_rng(1)
    spectra = {c: rng.normal(-30, 5, 128) for c in task.class_ids}
    fig = P.spectra_figure("Yornew", spectra, P.class_names())
    r = _renderer(fig)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 12
    assert len({ln.get_color() for ln in lines}) == 12  # no colour shared within the figure
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == [f"{c.id} {c.name}" for c in task.classes]
    assert ax.get_legend().get_window_extent(r).x0 > ax.get_window_extent(r).x1


def _asd_scores(rng, repeats=3, n=40):
    out = []
    for _ in range(repeats):
        labels = np.array(["normal"] * n + ["anomaly"] * (n // 2))
        scores = np.r_[rng.gamma(2.0, 1.0, n), rng.gamma(4.0, 1.5, n // 2)]
        out.append((labels, scores))
    return out


def test_t26_figures_roc_of_every_repeat_and_both_classes():
    rng = np.random.default_rng(2)
    scores = {"baseline": _asd_scores(rng), "impact": _asd_scores(rng)}
    entry = {"dataset": "Yornew", "kind": "anomaly_detection", "metric": "AUROC", "repeats": 3, "models": {}}
    for m, reps in scores.items():
        aucs = [M.auc(lab, s) for lab, s in reps]
        entry["models"][m] = {"repeats": aucs, "mean": float(np.mean(aucs)), "std": float(np.std(aucs, ddof=1))}
    labels = {"baseline": MODELS["baseline"], "impact": MODELS["impact"]}
    figs = P.asd_repeat_figures("dinos/T26", entry, scores, labels)
    assert sorted(figs) == ["roc_Yornew_T26.png", "scores_Yornew_T26.png"]
    roc = figs["roc_Yornew_T26.png"]
    r = _renderer(roc)
    ax = roc.axes[0]
    assert len(ax.get_lines()) == 1 + 2 * 3  # chance + one line per model and repeat
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    for m in scores:
        stat = entry["models"][m]
        assert f"{labels[m]}: AUROC {stat['mean']:.3f} ± {stat['std']:.3f} (3 repeats)" in texts
    assert ax.get_legend().get_window_extent(r).x0 > ax.get_window_extent(r).x1
    hist = figs["scores_Yornew_T26.png"]
    assert len(hist.axes) == 2
    for a in hist.axes:
        assert [c.patches[0].get_label() for c in a.containers] == ["normal (40)", "anomaly (20)"]


def test_plot_asd_results_one_folder_per_model(tmp_path):
    rng = np.random.default_rng(3)
    rows = [{"machine": m, "section": s, "domain": d, "label": lab, "file": f"{m}{s}{d}{lab}{i}.wav",
             "score": rng.normal(lab == "anomaly", 1)}
            for m in ("fan", "pump") for s in (0, 1) for d in ("source", "target") for lab in ("normal", "anomaly")
            for i in range(5)]
    result = M.evaluate(2021, pd.DataFrame(rows))
    paths = P.plot_asd_results({"mimii_due_ae": result}, tmp_path, labels={"mimii_due_ae": "MIMII DUE AE"},
                               corpus="mimii_due all")
    assert sorted(str(p.relative_to(tmp_path)) for p in paths) == sorted(
        f"mimii_due_ae/{k}_{m}.png" for k in ("roc", "scores") for m in ("fan", "pump"))


# ------------------------------------------------------------------------------------------------
# the benchmark paths (torch)
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_score_task_hands_out_the_scores_behind_each_auroc():
    pytest.importorskip("torch")
    from dinos.model.benchmark import TaskSplits, score_task

    rng = np.random.default_rng(4)
    ids = [f"c{i}" for i in range(60)]
    labels = {c: ("anomaly" if i % 3 == 0 else "normal") for i, c in enumerate(ids)}
    X = rng.normal(size=(60, 8)).astype(np.float32)
    X[[i for i in range(60) if i % 3 == 0]] += 2.0
    reps = [(ids[:20], ids[20:]), (ids[40:], ids[:40])]
    ts = TaskSplits("dinos/T26", "anomaly_detection", "AUROC", "Yornew", None, labels, reps)
    sink: list = []
    out = score_task(ts, ids, X, clip_scores=sink)
    assert len(sink) == 2
    for (lab, s), (_, eval_ids), auroc in zip(sink, reps, out["repeats"], strict=True):
        assert list(lab) == [labels[c] for c in eval_ids] and len(s) == len(eval_ids)
        assert M.auc(lab, s) == pytest.approx(auroc, abs=1e-12)


@pytest.mark.slow
def test_benchmark_writes_t26_figures(tmp_path):
    pytest.importorskip("torch")
    import shutil

    from dinos import splits as S
    from dinos.loaders import dinos as D
    from dinos.model.benchmark import run_benchmark
    from tests.conftest import make_dinos_tree

    root = make_dinos_tree(tmp_path / "dinos", datasets=("Yornew",), per_class=3)
    for top in D.DOWNSTREAM_DIRS.values():  # T26 reads Yornew's class folders under Yornew_anomaly/
        shutil.copytree(root / top / "Yornew", root / top / D.ASD_TASKS["T26"]["dataset"])
    cache = str(tmp_path / "cache")
    S.make_split_files("dinos", root, tmp_path / "splits", variant="synthetic", tasks=["dinos/T26"], cache_dir=cache)
    res = run_benchmark(root, tmp_path / "out", tasks=["dinos/T26"], models=["baseline"], repeats=2, cache_dir=cache,
                        splits_dir=tmp_path / "splits", progress=False)
    names = sorted(p.name for p in (tmp_path / "out" / "plots").glob("*.png"))
    assert names == ["roc_Yornew_T26.png", "scores_Yornew_T26.png"]
    assert res.results["tasks"]["dinos/T26"]["models"]["baseline"]["repeats"]


@pytest.mark.slow
def test_baselines_cli_writes_figures_unless_no_plots(tmp_path):
    pytest.importorskip("torch")
    from dinos.cli import main
    from dinos.synth import mimii_due

    mimii_due.write(tmp_path / "data", scale=0.5)
    base = ["benchmark", "--corpus", "mimii_due", "--data-dir", str(tmp_path / "data"), "--model", "mimii_due_ae",
            "--model-preset", "tiny", "--model-epochs", "1", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    figs = sorted(p.name for p in (tmp_path / "a" / "plots" / "mimii_due_ae").glob("*.png"))
    assert figs == [f"{k}_{m}.png" for k in ("roc", "scores") for m in ("fan", "pump", "valve")]
    assert main([*base, "--out", str(tmp_path / "b"), "--no-plots"]) == 0
    assert not (tmp_path / "b" / "plots").exists()


@pytest.mark.slow
def test_dcase_benchmark_writes_figures_per_model_and_machine(tmp_path):
    pytest.importorskip("torch")
    from dinos.model.benchmark import run_dcase_benchmark
    from dinos.synth import dcase as synth

    data = tmp_path / "dcase"
    synth.write(data, year=2023, seed=0, scale=0.5)
    kw = {"config": "2023-all", "models": ("baseline",), "cache_dir": str(tmp_path / "cache"), "progress": False,
          "epochs": 5}
    rep = run_dcase_benchmark(data, tmp_path / "out", **kw)
    machines = {row["machine"] for row in rep["models"]["baseline"]["sections"]}
    figs = sorted(p.name for p in (tmp_path / "out" / "plots" / "baseline").glob("*.png"))
    assert figs == sorted(f"{k}_{m}.png" for k in ("roc", "scores") for m in machines)
    run_dcase_benchmark(data, tmp_path / "quiet", plots=False, **kw)
    assert not (tmp_path / "quiet" / "plots").exists()
