"""The seeds' baselines on the DINOS benchmark: the anomaly-detection tasks (T26 Yornew, T27 ColdSpray).

They are anomaly detectors trained on normal clips, so of the DINOS tasks only the ASD ones apply (the
classification tasks T1-T25 are left to the embedding models: their cells stay "-"). The protocol is
the DINOS one (`dinos.model.benchmark`): for each of the task's Monte Carlo repeats (split files, 15 %
train / 85 % evaluation) a fresh model (seed + repeat) is trained on the NORMAL clips of the training
side and scores the evaluation side; AUROC per repeat, mean and sample std over the repeats. The
clips are DINOS' 1-s windows at their native 48 kHz (channel 0).

`add_dinos_rows(results, ...)` puts the rows into a `run_benchmark` results dict, so that
table3.md / table4.md hold them beside the log-Mel stats, IMPACT (init), IMPACT and the paper's models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dinos.errors import DinosError

from .registry import MODELS, build_model
from .trainer import Clip, FitConfig, fit, score


def _task_clips(ts) -> dict[str, Clip]:
    out = {}
    for row in ts.dataset:
        audio = row["audio"]
        cid = row["clip_id"]
        out[cid] = Clip(wave=np.asarray(audio["array"], dtype=np.float32), sample_rate=int(audio["sampling_rate"]),
                        label=ts.labels[cid], clip_id=cid)
    return out


def score_dinos_task(ts, model: str, *, preset: str = "paper", epochs: int | None = None, seed: int = 0,
                     device: str = "cpu") -> dict:
    """`{repeats, mean, std}` AUROC of one baseline on one DINOS ASD task (`TaskSplits`)."""
    from dinos.metrics.core import auc

    from ..benchmark import _stats

    if ts.kind != "anomaly_detection":
        raise DinosError(f"{model} is an anomaly detector; task {ts.name} is {ts.kind}")
    clips = _task_clips(ts)
    per_repeat = []
    for r, (train_ids, eval_ids) in enumerate(ts.repeats):
        train = [clips[c] for c in train_ids if clips[c].label == "normal"]
        test = [clips[c] for c in eval_ids]
        if not train:
            raise DinosError(f"task {ts.name} repeat {r}: no normal training clips for {model}")
        m = build_model(model, preset, seed + r)
        base = m.default_fit()
        fit(m, train, FitConfig(epochs=base.epochs if epochs is None else int(epochs), batch_size=base.batch_size,
                                lr=base.lr, weight_decay=base.weight_decay, seed=seed + r), device=device)
        s = score(m, test, seed=seed + r)
        per_repeat.append(auc([c.label for c in test], s, where=f"{ts.name} repeat {r}"))
    return _stats(per_repeat)


def check_models(models: Sequence[str], preset: str = "paper") -> None:
    """`DinosError` unless every name is a baseline that applies to the DINOS ASD tasks, with `preset`."""
    for m in models:
        if m not in MODELS:
            raise DinosError(f"unknown baseline {m!r}; known: {', '.join(MODELS)}")
        if MODELS[m].needs_sections:
            raise DinosError(f"{m} classifies sections; DINOS ASD tasks have none (use an anomaly detector)")
        if preset not in MODELS[m].presets:
            raise DinosError(f"baseline {m} has no preset {preset!r}; presets: {', '.join(MODELS[m].presets)}")


def add_dinos_rows(results: dict, data_dir, models: Sequence[str], *, preset: str = "paper",
                   epochs: int | None = None, seed: int = 0, cache_dir=None, splits_dir=None, variant=None,
                   repeats: int | None = None, normalize: str | None = None, device: str = "cpu") -> dict:
    """Add each baseline's AUROC on every ASD task of `results` (a `run_benchmark` results dict) in place;
    `results["models"]` gains the baselines' labels. Returns `results`."""
    from ..benchmark import load_task_splits

    check_models(models, preset)
    names = [n for n, e in results["tasks"].items() if e["kind"] == "anomaly_detection"]
    if not names:
        raise DinosError("no DINOS anomaly-detection task (T26, T27) in this benchmark for the seed baselines")
    for name in names:
        extra = {"normalize": normalize} if normalize else {}
        ts = load_task_splits(name, data_dir, cache_dir=cache_dir, splits_dir=splits_dir, variant=variant,
                              repeats=repeats, **extra)
        for m in models:
            results["tasks"][name]["models"][m] = score_dinos_task(ts, m, preset=preset, epochs=epochs, seed=seed,
                                                                   device=device)
    for m in models:
        results["models"][m] = MODELS[m].label
    results.setdefault("meta", {})["seed_baselines"] = {"models": list(models), "preset": preset, "epochs": epochs,
                                                        "tasks": names}
    return results
