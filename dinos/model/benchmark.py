"""The benchmark runner: the paper's protocol (Tables 3 and 4) for IMPACT beside the log-Mel baseline.

DINOS tasks (`dinos.tasks`, protocol `monte_carlo`): each task's rows are embedded ONCE per model
(cached by clip id), then the 10 repeats of the task's split file (`dinos.splits`, 15 % train / 85 %
evaluation, stratified, grouped by recording) index those embeddings. Classification tasks: linear
probe, per-class AP and mAP; ASD tasks: autoencoder head on the normal training clips, AUROC. Each
figure is reported as mean +- std (sample std, ddof = 1) over the repeats.

DCASE Task 2 / MIMII DUE (official train/test split): per machine type an autoencoder head on the
normal training embeddings scores the test clips; the scores are written as the official submission
CSVs and scored with `dinos.metrics` (the year's official AUC / pAUC / harmonic-mean rules).

Outputs (`out_dir`): results.json, results.csv (long form), table3.md, table4.md, plots/*.png, and for
DCASE dcase.md plus `submissions/<model>/anomaly_score_*.csv`.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dinos.errors import DinosError, SplitError

from .probes import asd_auroc, autoencoder_scores, linear_probe

MODEL_LABELS = {"baseline": "Log-Mel stats (baseline)", "impact": "IMPACT"}
DATASET_ORDER = ("RenishawL", "VF2", "Yornew", "ColdSpray")


# ------------------------------------------------------------------------------------------------
# Task data: rows, labels and repeats
# ------------------------------------------------------------------------------------------------
@dataclass
class TaskSplits:
    """One Monte Carlo task: its rows (audio decoded) and, per repeat, the train/eval clip ids."""

    name: str
    kind: str  # classification | anomaly_detection
    metric: str
    dataset_name: str  # RenishawL, VF2, ... (Table 3 row)
    dataset: object  # datasets.Dataset with decoded audio
    labels: dict[str, str]  # clip id -> class id (T6...) or normal/anomaly
    repeats: list[tuple[list[str], list[str]]]
    classes: list[str] = field(default_factory=list)


def _dataset_name(task) -> str:
    from dinos.loaders import dinos as D

    folder = D.DATASET_FOLDERS.get(task.config, task.config)
    return D.DATASET_MACHINE.get(folder, folder)


def load_task_splits(task_name: str, data_dir, *, cache_dir=None, splits_dir=None, variant=None,
                     repeats: int | None = None) -> TaskSplits:
    """Rows and split repeats of a DINOS task from `dinos.tasks` + the matching `dinos.splits` file."""
    import dinos
    from dinos import splits as S
    from dinos import tasks as T

    task = T.get_task(task_name)
    if not task.has_split_files:
        raise SplitError(f"task {task_name} uses the official split; use run_dcase_benchmark")
    data = S.task_manifest(task, data_dir, cache_dir=cache_dir)
    path, record = S.find_split_file(data, variant, splits_dir)
    labels = dict(zip(data.clip_ids, data.labels, strict=True))
    n = task.repeats if repeats is None else min(repeats, task.repeats)
    reps = []
    for r in range(n):
        try:
            rep = record["repeats"][r]
            sides = [[cid for lab in sorted(rep[s]) for cid in rep[s][lab]] for s in ("train", "eval")]
        except (KeyError, IndexError, TypeError) as exc:
            raise SplitError(f"split file has no usable repeat {r} ({exc!r})", path) from None
        reps.append((sides[0], sides[1]))
    return TaskSplits(
        name=task.name, kind=task.kind, metric=task.metric, dataset_name=_dataset_name(task),
        dataset=dinos.decode_audio(data.dataset, channel=0), labels=labels, repeats=reps,
        classes=list(task.class_ids),
    )


# ------------------------------------------------------------------------------------------------
# Scoring one task for one model
# ------------------------------------------------------------------------------------------------
def _stats(values: Sequence[float]) -> dict:
    v = [float(x) for x in values]
    std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    return {"repeats": v, "mean": float(np.mean(v)), "std": std}


def score_task(ts: TaskSplits, ids: list[str], X: np.ndarray, *, seed: int = 0) -> dict:
    """mean/std (and per-class AP for classification) of one model's embeddings over the repeats."""
    row = {cid: i for i, cid in enumerate(ids)}
    per_repeat, per_class = [], {}
    for r, (train_ids, eval_ids) in enumerate(ts.repeats):
        missing = [c for c in (*train_ids, *eval_ids) if c not in row]
        if missing:
            raise SplitError(f"task {ts.name}: {len(missing)} split clip(s) not embedded, e.g. {missing[0]!r}")
        xt = X[[row[c] for c in train_ids]]
        xe = X[[row[c] for c in eval_ids]]
        yt = [ts.labels[c] for c in train_ids]
        ye = [ts.labels[c] for c in eval_ids]
        if ts.kind == "classification":
            res = linear_probe(xt, yt, xe, ye, seed=seed + r)
            per_repeat.append(res.map)
            for c, ap in res.ap.items():
                per_class.setdefault(c, []).append(ap)
        else:
            per_repeat.append(asd_auroc(xt, yt, xe, ye, seed=seed + r))
    out = _stats(per_repeat)
    if per_class:
        out["per_class"] = {c: _stats(v) for c, v in per_class.items()}
    return out


# ------------------------------------------------------------------------------------------------
# Embedders
# ------------------------------------------------------------------------------------------------
def make_embedders(run_dir, models: Sequence[str], *, device: str = "cpu", pooling: str = "mean",
                   branch: str = "student") -> dict:
    """name -> embedder (`baseline`: log-Mel statistics; `impact`: the run's weights)."""
    from .baseline import LogMelStats
    from .embed import impact_embedder
    from .train import resolve_device

    dev = resolve_device(device)
    out = {}
    for m in models:
        if m == "baseline":
            out[m] = LogMelStats().to(dev)
        elif m == "impact":
            if run_dir is None:
                raise DinosError("the impact model needs a run folder (dinos pretrain --out RUN)")
            out[m] = impact_embedder(run_dir, device=dev, pooling=pooling, branch=branch)
        else:
            raise DinosError(f"unknown model {m!r} (baseline, impact)")
    return out


# ------------------------------------------------------------------------------------------------
# The DINOS benchmark
# ------------------------------------------------------------------------------------------------
@dataclass
class BenchmarkResult:
    out_dir: Path
    results: dict
    seconds: float

    def score(self, task: str, model: str) -> float:
        return self.results["tasks"][task]["models"][model]["mean"]

    def __str__(self) -> str:
        return (self.out_dir / "table3.md").read_text() if (self.out_dir / "table3.md").exists() else repr(self)


def run_benchmark(
    data_dir,
    out_dir,
    *,
    run_dir=None,
    tasks: Sequence[str] | None = None,
    models: Sequence[str] = ("baseline", "impact"),
    repeats: int | None = None,
    cache_dir=None,
    splits_dir=None,
    variant: str | None = None,
    device: str = "cpu",
    pooling: str = "mean",
    branch: str = "student",
    seed: int = 0,
    progress: bool = True,
    task_loader: Callable[..., TaskSplits] | None = None,
    plots: bool = True,
) -> BenchmarkResult:
    """Run the DINOS benchmark (all Monte Carlo tasks by default) and write the results to `out_dir`."""
    from dinos import tasks as T

    from .embed import cached_embeddings

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(tasks) if tasks else [t.name for t in T.all_tasks("dinos") if t.has_split_files]
    loader = task_loader or load_task_splits
    embedders = make_embedders(run_dir, models, device=device, pooling=pooling, branch=branch)
    emb_cache = cache_dir if cache_dir is not None else out / "embeddings"
    results: dict = {"tasks": {}, "models": {m: MODEL_LABELS.get(m, m) for m in models}}
    spectra: dict = {}
    for name in names:
        ts = loader(name, data_dir, cache_dir=cache_dir, splits_dir=splits_dir, variant=variant, repeats=repeats)
        entry = {"dataset": ts.dataset_name, "kind": ts.kind, "metric": ts.metric, "repeats": len(ts.repeats),
                 "models": {}}
        for m, emb in embedders.items():
            ids, X = cached_embeddings(ts.dataset, emb, emb_cache, progress=progress)
            entry["models"][m] = score_task(ts, ids, X, seed=seed)
            if m == "baseline" and ts.kind == "classification":
                spectra[ts.dataset_name] = _class_spectra(ts, ids, X)
        results["tasks"][name] = entry
    results["meta"] = {
        "data_dir": str(data_dir), "run_dir": None if run_dir is None else str(run_dir), "pooling": pooling,
        "branch": branch, "seed": seed, "seconds": round(time.perf_counter() - t0, 2),
        "std": "sample standard deviation (ddof=1) over the repeats",
    }
    write_results(out, results)
    if plots:
        from .plots import plot_class_ap, plot_class_spectra

        plot_class_ap(results, out / "plots")
        plot_class_spectra(spectra, out / "plots")
    return BenchmarkResult(out, results, time.perf_counter() - t0)


def _class_spectra(ts: TaskSplits, ids: list[str], X: np.ndarray) -> dict[str, np.ndarray]:
    """Mean log-Mel spectrum (the first 128 baseline features) per class."""
    by: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        by.setdefault(ts.labels[cid], []).append(i)
    return {c: X[idx, :128].mean(0) for c, idx in by.items()}


# ------------------------------------------------------------------------------------------------
# Result files
# ------------------------------------------------------------------------------------------------
def _fmt(stat: dict | None) -> str:
    if not stat:
        return "-"
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def _bold_best(cells: dict[str, dict | None]) -> dict[str, str]:
    means = {m: s["mean"] for m, s in cells.items() if s}
    best = max(means.values()) if means else None
    return {m: (f"**{_fmt(s)}**" if s and best is not None and math.isclose(s["mean"], best) and len(means) > 1
                else _fmt(s)) for m, s in cells.items()}


def table3(results: dict) -> str:
    """Paper Table 3 layout: one row per machine (and metric), one column per model."""
    models = list(results["models"])
    head = "| Machine | " + " | ".join(results["models"][m] for m in models) + " |"
    lines = [head, "|---|" + "---:|" * len(models)]
    rows = sorted(results["tasks"].items(), key=lambda kv: (kv[1]["metric"] != "mAP",
                  DATASET_ORDER.index(kv[1]["dataset"]) if kv[1]["dataset"] in DATASET_ORDER else 99))
    for _, entry in rows:
        cells = _bold_best({m: entry["models"].get(m) for m in models})
        lines.append(f"| {entry['dataset']} ({entry['metric']}) | " + " | ".join(cells[m] for m in models) + " |")
    return "\n".join(lines) + "\n"


def table4(results: dict) -> str:
    """Paper Table 4 layout: one row per task id (T1..T25 per-class AP, T26/T27 AUROC)."""
    models = list(results["models"])
    lines = ["| Task | " + " | ".join(results["models"][m] for m in models) + " |", "|---|" + "---:|" * len(models)]
    rows = []
    for name, entry in results["tasks"].items():
        if entry["kind"] == "classification":
            classes = {c for m in models if entry["models"].get(m) for c in entry["models"][m].get("per_class", {})}
            for c in classes:
                rows.append((c, {m: entry["models"].get(m, {}).get("per_class", {}).get(c) for m in models}))
        else:
            rows.append((name.split("/", 1)[-1], {m: entry["models"].get(m) for m in models}))
    rows.sort(key=lambda r: (0, int(r[0][1:])) if r[0][1:].isdigit() else (1, r[0]))
    for tid, cells in rows:
        c = _bold_best(cells)
        lines.append(f"| {tid} | " + " | ".join(c[m] for m in models) + " |")
    return "\n".join(lines) + "\n"


def results_rows(results: dict) -> list[dict]:
    """Long form: one row per (model, task, repeat[, class])."""
    rows = []
    for name, entry in results["tasks"].items():
        for m, stat in entry["models"].items():
            for r, v in enumerate(stat["repeats"]):
                rows.append({"model": m, "task": name, "dataset": entry["dataset"], "metric": entry["metric"],
                             "class": "", "repeat": r, "value": v})
            for c, cs in stat.get("per_class", {}).items():
                for r, v in enumerate(cs["repeats"]):
                    rows.append({"model": m, "task": name, "dataset": entry["dataset"], "metric": "AP",
                                 "class": c, "repeat": r, "value": v})
    return rows


def _atomic_text(path: Path, text: str) -> None:
    from ..io import write_text

    write_text(path, text)


def write_results(out: Path, results: dict) -> None:
    """results.json, results.csv, table3.md and table4.md (each written atomically)."""
    import io

    from .train import write_json

    write_json(out / "results.json", results)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["model", "task", "dataset", "metric", "class", "repeat", "value"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(results_rows(results))
    _atomic_text(out / "results.csv", buf.getvalue())
    note = ("\nmean ± sample std over the split repeats; mAP from a linear probe (classification), "
            "AUROC from an autoencoder head (ASD).\n")
    _atomic_text(out / "table3.md", "# Overall performance per machine (paper Table 3 layout)\n\n"
                 + table3(results) + note)
    _atomic_text(out / "table4.md", "# Per-class performance (paper Table 4 layout)\n\n" + table4(results) + note)


# ------------------------------------------------------------------------------------------------
# DCASE Task 2 / MIMII DUE: official split, official metrics
# ------------------------------------------------------------------------------------------------
def _year_of(corpus: str, config: str) -> int:
    if corpus == "mimii_due":
        return 2021
    head = str(config).split("-", 1)[0]
    if not head.isdigit():
        raise DinosError(f"cannot read the challenge year from config {config!r} (expected <year>-<machine>)")
    return int(head)


def run_dcase_benchmark(
    data_dir,
    out_dir,
    *,
    corpus: str = "dcase_task2",
    config: str,
    run_dir=None,
    models: Sequence[str] = ("baseline", "impact"),
    cache_dir=None,
    device: str = "cpu",
    pooling: str = "mean",
    branch: str = "student",
    seed: int = 0,
    progress: bool = True,
    epochs: int = 300,
) -> dict:
    """Official DCASE scores for each model: per machine type, an autoencoder head trained on the normal
    `train` embeddings scores the `test` clips; CSVs in the official form are scored by `dinos.metrics`."""
    from dinos import metrics as M

    from .embed import cached_embeddings, load_corpus, metadata_frame
    from .train import write_json

    year = _year_of(corpus, config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import dinos

    names = list(dinos.load_dataset(corpus, config, data_dir=data_dir, decode=False, cache_dir=cache_dir))
    use = [n for n in names if n.split("_")[-1] in ("train", "test")]  # train, test, dev_train, eval_test ...
    if not any(n.endswith("train") for n in use) or not any(n.endswith("test") for n in use):
        raise DinosError(f"{corpus}/{config} needs train and test splits, has {names}", data_dir)
    ds = load_corpus(corpus, config, data_dir, splits=use, cache_dir=cache_dir)
    meta = metadata_frame(ds)
    plain = ds.with_format(None)
    meta["path"] = list(plain["path"])
    is_test = meta["split"].str.endswith("test").to_numpy()
    unknown = is_test & (meta["label"] == "unknown").to_numpy()
    notes = []
    if unknown.any():
        notes.append(f"{int(unknown.sum())} test clip(s) without ground truth (blind evaluation) are not scored")
    test_mask = is_test & ~unknown
    truth = M.truth_from_dataset(plain.select(np.flatnonzero(test_mask)))
    embedders = make_embedders(run_dir, models, device=device, pooling=pooling, branch=branch)
    emb_cache = cache_dir if cache_dir is not None else out / "embeddings"
    report: dict = {"corpus": corpus, "config": config, "year": year, "notes": notes, "models": {}}
    md = [f"# {corpus} {config}: official DCASE {year} Task 2 scores", "", *[f"Note: {n}" for n in notes], ""]
    for m, emb in embedders.items():
        ids, X = cached_embeddings(ds, emb, emb_cache, progress=progress)
        if ids != list(meta["clip_id"]):
            raise DinosError("embedding rows are out of order with the dataset rows (stale cache?)")
        sub = out / "submissions" / m
        sub.mkdir(parents=True, exist_ok=True)
        for machine in sorted(set(meta.loc[test_mask, "machine"])):
            is_m = (meta["machine"] == machine).to_numpy()
            normal_train = is_m & ~is_test & (meta["label"] == "normal").to_numpy()
            test_rows = np.flatnonzero(is_m & test_mask)
            if normal_train.sum() < 2:
                raise DinosError(f"{machine}: fewer than 2 normal training clips to train the ASD head", data_dir)
            scores = autoencoder_scores(X[normal_train], X[test_rows], seed=seed, epochs=epochs)
            groups: dict[str, dict[str, float]] = {}
            for r, s in zip(test_rows, scores, strict=True):
                row = meta.iloc[r]
                dom = row["domain"] if row["domain"] in ("source", "target") else None
                name = M.submission_file_name(year, machine, int(row["section"]),
                                              dom if M.scheme(year) == "2021" else None)
                groups.setdefault(name, {})[Path(row["path"]).name] = float(s)
            for name, mapping in groups.items():
                M.write_scores(sub / name, mapping)
        result = M.score_submission(year, sub, truth)
        report["models"][m] = result.to_dict()
        md += [f"## {MODEL_LABELS.get(m, m)}", "", result.to_markdown()]
    write_json(out / "dcase_results.json", report)
    _atomic_text(out / "dcase.md", "\n".join(md) + "\n")
    return report


# ------------------------------------------------------------------------------------------------
# The demo (README command 1 calls this through `dinos demo`)
# ------------------------------------------------------------------------------------------------
DEMO_TASKS = ("dinos/T6-T17", "dinos/T26", "dinos/T1-T2", "dinos/T3-T5", "dinos/T18-T25", "dinos/T27")


@dataclass
class DemoSummary:
    pretrain: object
    benchmark: BenchmarkResult
    seconds: float
    note: str

    def __str__(self) -> str:
        return (f"{self.pretrain}\n\n{self.benchmark.out_dir / 'table3.md'}:\n\n"
                f"{(self.benchmark.out_dir / 'table3.md').read_text()}\n{self.note}\n"
                f"Model step wall time: {self.seconds:.1f} s")


def run_demo(
    data_dir,
    out_dir,
    *,
    steps: int = 100,
    batch_size: int = 16,
    lr: float = 1e-3,
    tasks: Sequence[str] = DEMO_TASKS,
    repeats: int | None = None,
    cache_dir=None,
    splits_dir=None,
    seed: int = 0,
    progress: bool = True,
) -> DemoSummary:
    """Pretrain tiny IMPACT on the synthetic DINOS pretraining recordings for `steps` steps, then run the
    benchmark (Yornew first) against the log-Mel baseline. Returns a printable summary."""
    from .impact import ImpactConfig
    from .train import Source, TrainConfig, pretrain, pretraining_dataset

    t0 = time.perf_counter()
    out = Path(out_dir)
    ds = pretraining_dataset([Source("dinos", "pretraining", str(data_dir))], cache_dir=cache_dir)
    tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, seed=seed, checkpoint_every=max(steps, 1),
                     device="cpu", sources=[f"dinos:pretraining:{data_dir}"])
    pre = pretrain(ds, out / "run", ImpactConfig.tiny(), tc, progress=progress)
    bench = run_benchmark(data_dir, out / "results", run_dir=out / "run", tasks=tasks, repeats=repeats,
                          cache_dir=cache_dir, splits_dir=splits_dir, seed=seed, progress=progress)
    yornew = "dinos/T6-T17"
    note = ""
    if yornew in bench.results["tasks"]:
        a, b = bench.score(yornew, "impact"), bench.score(yornew, "baseline")
        note = (f"Yornew mAP: IMPACT {a:.4f} vs baseline {b:.4f} -> "
                + ("IMPACT ahead." if a > b else
                   "IMPACT NOT ahead: a few hundred CPU steps of a tiny model are far from the paper's "
                   "~34k steps of an 18 M-parameter model; see docs/benchmark.md."))
    return DemoSummary(pre, bench, time.perf_counter() - t0, note)
