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

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dinos.errors import DinosError, SplitError

from .probes import asd_auroc, autoencoder_scores, linear_probe
from .report import MODEL_LABELS, _atomic_text, table3, table4, write_results  # noqa: F401  (re-exported)

#: the models a benchmark of a run folder scores: the baseline, the same network untrained (same seed,
#: the control that shows whether pretraining helped) and the pretrained weights
RUN_MODELS = ("baseline", "impact_init", "impact")


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
    split_variant: str = ""  # synthetic | real: which split files matched the data


def _dataset_name(task) -> str:
    from dinos.loaders import dinos as D

    folder = D.DATASET_FOLDERS.get(task.config, task.config)
    return D.DATASET_MACHINE.get(folder, folder)


def load_task_splits(task_name: str, data_dir, *, cache_dir=None, splits_dir=None, variant=None,
                     repeats: int | None = None, normalize: str | None = None) -> TaskSplits:
    """Rows and split repeats of a DINOS task from `dinos.tasks` + the matching `dinos.splits` file;
    `normalize` (a `dinos.load_dataset` option) normalises every recording when decoded."""
    import dinos
    from dinos import splits as S
    from dinos import tasks as T

    task = T.get_task(task_name)
    if not task.has_split_files:
        raise SplitError(f"task {task_name} uses the official split; use run_dcase_benchmark")
    data = S.task_manifest(task, data_dir, cache_dir=cache_dir, **({"normalize": normalize} if normalize else {}))
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
        classes=list(task.class_ids), split_variant=str(record.get("variant") or path.parent.parent.name),
    )


# ------------------------------------------------------------------------------------------------
# Scoring one task for one model
# ------------------------------------------------------------------------------------------------
def _stats(values: Sequence[float]) -> dict:
    v = [float(x) for x in values]
    std = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
    return {"repeats": v, "mean": float(np.mean(v)), "std": std}


def score_task(ts: TaskSplits, ids: list[str], X: np.ndarray, *, seed: int = 0, probe: str = "linear",
               asd_head: str = "linear-out", clip_scores: list | None = None) -> dict:
    """mean/std (and per-class AP for classification) of one model's embeddings over the repeats.
    `probe`: `linear` | `mlp`; `asd_head`: `linear-out` | `table5` (`dinos.model.probes`).
    `clip_scores` (ASD tasks): a list that receives, per repeat, `(eval labels, eval anomaly scores)`."""
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
            res = linear_probe(xt, yt, xe, ye, seed=seed + r, probe=probe)
            per_repeat.append(res.map)
            for c, ap in res.ap.items():
                per_class.setdefault(c, []).append(ap)
        else:
            got: list = []
            per_repeat.append(asd_auroc(xt, yt, xe, ye, seed=seed + r, head=asd_head, scores_out=got))
            if clip_scores is not None:
                clip_scores.append((ye, got[0]))
    out = _stats(per_repeat)
    if per_class:
        out["per_class"] = {c: _stats(v) for c, v in per_class.items()}
    return out


# ------------------------------------------------------------------------------------------------
# Embedders
# ------------------------------------------------------------------------------------------------
def make_embedders(run_dir, models: Sequence[str], *, device: str = "cpu", pooling: str = "mean",
                   branch: str = "student", custom: dict | None = None) -> dict:
    """name -> embedder. `baseline`: log-Mel statistics; `impact`: the run's weights; `impact_init`: the
    run's network as initialised before training (same configuration and seed, no step taken);
    `custom`: extra name -> embedder (e.g. `dinos.model.external.load_embedder`)."""
    from .baseline import LogMelStats
    from .embed import impact_embedder, init_embedder
    from .train import resolve_device

    dev = resolve_device(device)
    out = {}
    for m in models:
        if m == "baseline":
            out[m] = LogMelStats().to(dev)
        elif m in ("impact", "impact_init"):
            if run_dir is None:
                raise DinosError(f"the {m} model needs a run folder (dinos pretrain --out RUN)")
            make = impact_embedder if m == "impact" else init_embedder
            out[m] = make(run_dir, device=dev, pooling=pooling, branch=branch)
        elif custom and m in custom:
            out[m] = custom[m]
        else:
            raise DinosError(f"unknown model {m!r} ({', '.join([*RUN_MODELS, *(custom or {})])})")
    return out


def _run_normalize(run_dir) -> str | None:
    """`ImpactConfig.normalize` of a run folder (None without a run)."""
    if run_dir is None:
        return None
    import json

    from .train import CONFIG_FILE

    try:
        return json.loads((Path(run_dir) / CONFIG_FILE).read_text())["model"].get("normalize")
    except (OSError, ValueError, KeyError, TypeError):
        return None  # load_run reports a broken run folder with its own error


def init_comparison(results: dict) -> dict[str, dict]:
    """Per task: did pretraining beat the untrained network? (`impact` vs `impact_init` means; pure)."""
    out = {}
    for name, entry in results["tasks"].items():
        a, b = entry["models"].get("impact"), entry["models"].get("impact_init")
        if a and b:
            out[name] = {"pretrained": a["mean"], "init": b["mean"], "delta": a["mean"] - b["mean"],
                         "beat_init": bool(a["mean"] > b["mean"])}
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
    models: Sequence[str] = RUN_MODELS,
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
    probe: str = "linear",
    asd_head: str = "linear-out",
    custom: dict | None = None,
    normalize: str | None = "run",
) -> BenchmarkResult:
    """Run the DINOS benchmark (all Monte Carlo tasks by default) and write the results to `out_dir`.

    results.json: `tasks.<task>.models.<model>` = mean, sample std, per-repeat values (and per-class AP);
    `tasks.<task>.paper` = the paper's Table 3 row (real data); `init_comparison` = per task whether
    `impact` beat `impact_init`."""
    from dinos import tasks as T

    from .embed import cached_embeddings

    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(tasks) if tasks else [t.name for t in T.all_tasks("dinos") if t.has_split_files]
    loader = task_loader or load_task_splits
    if normalize == "run":  # the run's own preprocessing (paper preset: RMS + z-score), for every model
        normalize = _run_normalize(run_dir)
    embedders = make_embedders(run_dir, models, device=device, pooling=pooling, branch=branch, custom=custom)
    emb_cache = cache_dir if cache_dir is not None else out / "embeddings"
    results: dict = {"tasks": {}, "models": {m: MODEL_LABELS.get(m, m) for m in models}}
    spectra: dict = {}
    asd_scores: dict = {}  # task -> model -> [(eval labels, scores) per repeat], for the ROC figures
    variants: set[str] = set()
    for name in names:
        extra = {"normalize": normalize} if normalize else {}
        ts = loader(name, data_dir, cache_dir=cache_dir, splits_dir=splits_dir, variant=variant, repeats=repeats,
                    **extra)
        task = T.get_task(name)
        variants.add(getattr(ts, "split_variant", "") or "unknown")
        entry = {"dataset": ts.dataset_name, "kind": ts.kind, "metric": ts.metric, "repeats": len(ts.repeats),
                 "models": {}, "paper": {r.model: {"mean": r.mean, "std": r.std} for r in task.paper_table3},
                 "paper_per_class": {tid: {r.model: {"mean": r.mean, "std": r.std} for r in rs}
                                     for tid, rs in task.paper_table4}}
        for m, emb in embedders.items():
            ids, X = cached_embeddings(ts.dataset, emb, emb_cache, progress=progress)
            sink = asd_scores.setdefault(name, {}).setdefault(m, []) if ts.kind != "classification" else None
            entry["models"][m] = score_task(ts, ids, X, seed=seed, probe=probe, asd_head=asd_head, clip_scores=sink)
            if m == "baseline" and ts.kind == "classification":
                spectra[ts.dataset_name] = _class_spectra(ts, ids, X)
        results["tasks"][name] = entry
    results["meta"] = {
        "data_dir": str(data_dir), "run_dir": None if run_dir is None else str(run_dir), "pooling": pooling,
        "branch": branch, "seed": seed, "seconds": round(time.perf_counter() - t0, 2), "probe": probe,
        "asd_head": asd_head, "normalize": normalize, "std": "sample standard deviation (ddof=1) over the repeats",
        "data": "ours: synthetic or local data as given by data_dir; paper: the real DINOS (Table 3/4)",
        "data_label": {"synthetic": "synthetic DINOS", "real": "real DINOS"}.get(
            next(iter(variants)) if len(variants) == 1 else "", "split variants " + ", ".join(sorted(variants))),
    }
    results["init_comparison"] = init_comparison(results)
    write_results(out, results)
    if plots:
        from .plots import plot_asd_tasks, plot_class_ap, plot_class_spectra

        plot_class_ap(results, out / "plots")
        plot_class_spectra(spectra, out / "plots")
        plot_asd_tasks(results, asd_scores, out / "plots")
    return BenchmarkResult(out, results, time.perf_counter() - t0)


def _class_spectra(ts: TaskSplits, ids: list[str], X: np.ndarray) -> dict[str, np.ndarray]:
    """Mean log-Mel spectrum (the first 128 baseline features) per class."""
    by: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        by.setdefault(ts.labels[cid], []).append(i)
    return {c: X[idx, :128].mean(0) for c, idx in by.items()}


# ------------------------------------------------------------------------------------------------
# DCASE Task 2 / MIMII DUE: official split, official metrics
# ------------------------------------------------------------------------------------------------
def _year_of(corpus: str, config: str) -> int:
    """The challenge year of a config: a fact of the corpus (`CorpusInfo.configs[...].year`)."""
    from ..loaders import corpus_info

    year = corpus_info(corpus).config(config).year
    if year is None:
        raise DinosError(f"{corpus} config {config!r} has no challenge year (DCASE-style scoring needs one)")
    return int(year)


def run_dcase_benchmark(
    data_dir,
    out_dir,
    *,
    corpus: str = "dcase_task2",
    config: str,
    run_dir=None,
    models: Sequence[str] = RUN_MODELS,
    cache_dir=None,
    device: str = "cpu",
    pooling: str = "mean",
    branch: str = "student",
    seed: int = 0,
    progress: bool = True,
    epochs: int = 300,
    custom: dict | None = None,
    plots: bool = True,
) -> dict:
    """Official DCASE scores for each model: per machine type, an autoencoder head trained on the normal
    `train` embeddings scores the `test` clips; CSVs in the official form are scored by `dinos.metrics`.
    `plots`: ROC curves and score histograms per machine type in `plots/<model>/` (`dinos.model.plots`)."""
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
    embedders = make_embedders(run_dir, models, device=device, pooling=pooling, branch=branch, custom=custom)
    emb_cache = cache_dir if cache_dir is not None else out / "embeddings"
    report: dict = {"corpus": corpus, "config": config, "year": year, "notes": notes, "models": {}}
    md = [f"# {corpus} {config}: official DCASE {year} Task 2 scores", "", *[f"Note: {n}" for n in notes], ""]
    scored: dict = {}
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
                name = M.submission_file_name(year, machine, int(row["section"]), dom)
                groups.setdefault(name, {})[Path(row["path"]).name] = float(s)
            for name, mapping in groups.items():
                M.write_scores(sub / name, mapping)
        result = M.score_submission(year, sub, truth)
        scored[m] = result
        report["models"][m] = result.to_dict()
        md += [f"## {MODEL_LABELS.get(m, m)}", "", result.to_markdown()]
    write_json(out / "dcase_results.json", report)
    _atomic_text(out / "dcase.md", "\n".join(md) + "\n")
    if plots:
        from .plots import plot_asd_results

        plot_asd_results(scored, out / "plots", labels=MODEL_LABELS, corpus=f"{corpus} {config}")
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


#: the demo's pretraining recipe (tiny preset, CPU): steps, batch, learning rate, objective. 2500 steps
#: are 185 s on one quiet core (issue 15's budget: 5 minutes); measured in docs/model.md, "Measured"
DEMO_STEPS = 2500
DEMO_BATCH = 16
DEMO_LR = 1e-3
DEMO_OBJECTIVE = "eat"


def init_verdict(results: dict) -> str:
    """Plain-language lines: per task, did pretraining beat the untrained network (pure)."""
    comp = results.get("init_comparison", {})
    if not comp:
        return ""
    lines = ["Did pretraining beat the untrained network (IMPACT (init), same seed)?"]
    for name, c in comp.items():
        entry = results["tasks"][name]
        verdict = "yes" if c["beat_init"] else "tie" if c["delta"] == 0 else "NO"
        lines.append(f"- {entry['dataset']} ({entry['metric']}): {verdict} "
                     f"(pretrained {c['pretrained']:.4f} vs init {c['init']:.4f}, {c['delta']:+.4f})")
    wins = sum(c["beat_init"] for c in comp.values())
    ties = sum(c["delta"] == 0 for c in comp.values())
    lines.append(f"Pretraining beat initialisation on {wins} of {len(comp)} task(s)"
                 + (f" ({ties} tied)." if ties else "."))
    return "\n".join(lines)


def run_demo(
    data_dir,
    out_dir,
    *,
    steps: int = DEMO_STEPS,
    batch_size: int = DEMO_BATCH,
    lr: float = DEMO_LR,
    objective: str = DEMO_OBJECTIVE,
    tasks: Sequence[str] = DEMO_TASKS,
    repeats: int | None = None,
    cache_dir=None,
    splits_dir=None,
    seed: int = 0,
    progress: bool = True,
) -> DemoSummary:
    """Pretrain tiny IMPACT on the synthetic DINOS pretraining recordings for `steps` steps, then run the
    benchmark (Yornew first) with the log-Mel baseline and the untrained control. Returns a printable
    summary that says, per task, whether pretraining beat the untrained network."""
    import dataclasses

    from .impact import ImpactConfig
    from .train import Source, TrainConfig, pretrain, pretraining_dataset

    t0 = time.perf_counter()
    out = Path(out_dir)
    if splits_dir is None:  # split files for exactly this corpus (same algorithm as the shipped ones)
        from dinos import splits as S

        splits_dir = out / "splits"
        S.make_split_files("dinos", data_dir, splits_dir, variant="synthetic", tasks=list(tasks),
                           cache_dir=cache_dir, source={"generator": "dinos demo", "data_dir": str(data_dir)})
    ds = pretraining_dataset([Source("dinos", "pretraining", str(data_dir))], cache_dir=cache_dir)
    tc = TrainConfig(lr=lr, batch_size=batch_size, max_steps=steps, seed=seed, checkpoint_every=max(steps, 1),
                     device="cpu", sources=[f"dinos:pretraining:{data_dir}"])
    cfg = dataclasses.replace(ImpactConfig.tiny(), objective=objective)
    pre = pretrain(ds, out / "run", cfg, tc, progress=progress)
    bench = run_benchmark(data_dir, out / "results", run_dir=out / "run", tasks=tasks, repeats=repeats,
                          cache_dir=cache_dir, splits_dir=splits_dir, seed=seed, progress=progress)
    note = init_verdict(bench.results)
    if getattr(pre, "collapse", None):
        note += "\nCollapse warning during pretraining: " + "; ".join(pre.collapse)
    return DemoSummary(pre, bench, time.perf_counter() - t0, note)
