"""Pictures of the benchmark (PNG, under the results folder's `plots/`).

- `ap_<dataset>.png`: per-class AP of each classification task (mean, std error bars over the repeats),
  one horizontal bar per model and class; classes named as in `dinos.tasks` ("T6 CD0.3 MRR7.62 8K no
  chatter"), legend outside the bars.
- `spectra_<dataset>.png`: mean log-Mel spectrum per class (like the paper's Figure 4), one colour per
  class (`dinos.plots.palette`: none repeated), legend outside.
- `roc_<task>.png` / `scores_<task>.png` (DINOS T26, T27): ROC curves of every repeat per model (AUROC
  mean ± std in the legend) and normal vs anomalous score histograms of the first repeat per model.
- `<model>/roc_<machine>.png` / `<model>/scores_<machine>.png` (DCASE, MIMII DUE): `dinos.plots.asd_figures`
  of each model's official result (per section and domain).

Figures are drawn on `matplotlib.figure.Figure` objects (`dinos.plots`), never through pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dinos.plots import draw_histograms, line_styles, new_figure, palette, safe_name, write_figures


def _id_key(c: str):
    return (0, int(c[1:]), c) if c[1:].isdigit() else (1, 0, c)


def class_names() -> dict[str, str]:
    """Class id -> readable name of every DINOS task class (from the task registry)."""
    from dinos import tasks as T

    return {c.id: c.name for t in T.all_tasks("dinos") if t.kind == "classification" for c in t.classes}


def class_label(cid: str, names: Mapping[str, str]) -> str:
    """`T6 CD0.3 MRR7.62 8K no chatter` (the id alone when the registry has no name for it)."""
    name = names.get(cid)
    return f"{cid} {name}" if name and name != cid else cid


def ap_figure(entry: dict, model_labels: Mapping[str, str], names: Mapping[str, str]):
    """The per-class AP figure of one classification task's results entry (None without per-class AP)."""
    models = [m for m in model_labels if entry["models"].get(m, {}).get("per_class")]
    classes = sorted({c for m in models for c in entry["models"][m]["per_class"]}, key=_id_key)
    if not classes:
        return None
    n_models = len(models)
    group = 0.8
    height = group / n_models
    fig = new_figure(9.0, 0.9 + len(classes) * max(0.32, 0.17 * n_models) + 0.3)
    ax = fig.subplots()
    y = np.arange(len(classes))[::-1]  # first class at the top
    for k, (m, color) in enumerate(zip(models, palette(n_models), strict=True)):
        pc = entry["models"][m]["per_class"]
        means = [pc.get(c, {}).get("mean", np.nan) for c in classes]
        stds = [pc.get(c, {}).get("std", 0.0) for c in classes]
        offset = (k - (n_models - 1) / 2) * height
        ax.barh(y - offset, means, height * 0.92, xerr=stds, color=color, capsize=2,
                error_kw={"elinewidth": 0.8, "ecolor": "0.25"},
                label=f"{model_labels[m]} (mAP {entry['models'][m]['mean']:.3f})")
    ax.set_yticks(y, [class_label(c, names) for c in classes], fontsize=8)
    upper = max((s["mean"] + s.get("std", 0.0) for m in models for s in entry["models"][m]["per_class"].values()),
                default=1.0)
    ax.set_xlim(0, max(1.0, upper) + 0.02)  # error bars past 1 stay visible
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel("average precision (mean ± std over the repeats)")
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)
    ax.set_title(f"{entry['dataset']}: per-class AP over {entry['repeats']} repeats", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def plot_class_ap(results: dict, out_dir) -> list[Path]:
    """One `ap_<dataset>.png` per classification task of a `run_benchmark` results dict."""
    names = class_names()
    figs = {}
    for _name, entry in results["tasks"].items():
        if entry["kind"] != "classification":
            continue
        fig = ap_figure(entry, results["models"], names)
        if fig is not None:
            figs[f"ap_{safe_name(entry['dataset'])}.png"] = fig
    return write_figures(figs, out_dir)


def spectra_figure(dataset: str, by_class: Mapping[str, np.ndarray], names: Mapping[str, str], *,
                   sample_rate: int = 48_000):
    """Mean log-Mel spectrum (dB) of each class against frequency, one distinct colour per class."""
    import librosa

    classes = sorted(by_class, key=_id_key)
    n = len(next(iter(by_class.values())))
    freqs = librosa.mel_frequencies(n_mels=n + 2, fmax=sample_rate / 2)[1:-1]
    fig = new_figure(9.0, 4.2)
    ax = fig.subplots()
    for c, color, ls in zip(classes, palette(len(classes)), line_styles(len(classes)), strict=True):
        ax.plot(freqs, by_class[c], label=class_label(c, names), color=color, ls=ls, linewidth=1.1)
    ax.set_xscale("log")
    ax.set_xlabel("frequency (Hz, Mel band centres)")
    ax.set_ylabel("mean log-Mel power (dB)")
    ax.set_title(f"{dataset}: mean spectrum per class", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def plot_class_spectra(spectra: dict[str, dict[str, np.ndarray]], out_dir, *, sample_rate: int = 48_000) -> list[Path]:
    """One `spectra_<dataset>.png` per dataset: the mean log-Mel spectrum (dB) of each class."""
    names = class_names()
    figs = {f"spectra_{safe_name(d)}.png": spectra_figure(d, by, names, sample_rate=sample_rate)
            for d, by in spectra.items() if by}
    return write_figures(figs, out_dir)


# ------------------------------------------------------------------------------------------------
# DINOS anomaly-detection tasks (T26, T27): repeats of the Monte Carlo protocol
# ------------------------------------------------------------------------------------------------
def asd_repeat_figures(task: str, entry: dict, scores: Mapping[str, list], model_labels: Mapping[str, str]) -> dict:
    """`roc_<task>.png` (per model, every repeat's ROC in the model's colour; legend: AUROC mean ±
    std) and `scores_<task>.png` (per model, normal vs anomalous scores of the first repeat)."""
    from dinos.metrics.curves import roc_curve

    models = [m for m in model_labels if scores.get(m)]
    if not models:
        return {}
    tid = task.split("/", 1)[-1]
    stem = safe_name(f"{entry['dataset']}_{tid}")
    fig = new_figure(7.6, 5.0)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="chance")
    for m, color in zip(models, palette(len(models)), strict=True):
        stat = entry["models"][m]
        for r, (labels, s) in enumerate(scores[m]):
            fpr, tpr = roc_curve(labels, s, where=f"{task} {m} repeat {r}")
            label = (f"{model_labels[m]}: AUROC {stat['mean']:.3f} ± {stat['std']:.3f} ({len(scores[m])} repeats)"
                     if r == 0 else None)
            ax.plot(fpr, tpr, color=color, lw=1.0, alpha=0.55 if len(scores[m]) > 1 else 1.0, label=label)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"{entry['dataset']} {tid}: ROC of every repeat (one line each)", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    out = {f"roc_{stem}.png": fig}

    fig = new_figure(4.0 * len(models) + 0.4, 3.4)
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, m in zip(axes, models, strict=True):
        labels, s = scores[m][0]
        labels = np.asarray(labels)
        s = np.asarray(s, dtype=float)
        draw_histograms(ax, s[labels == "normal"], s[labels == "anomaly"], counts_in_labels=True)
        ax.set_title(model_labels[m], fontsize=9)
        ax.set_xlabel("anomaly score (AE reconstruction error)", fontsize=8)
        ax.set_ylabel("clips", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, fontsize=7, frameon=False)
    fig.suptitle(f"{entry['dataset']} {tid}: anomaly scores of the evaluation clips, repeat 1 of "
                 f"{len(scores[models[0]])}", fontsize=10)
    out[f"scores_{stem}.png"] = fig
    return out


def plot_asd_tasks(results: dict, scores: Mapping[str, Mapping[str, list]], out_dir) -> list[Path]:
    """The T26/T27 figures (`asd_repeat_figures`) of every anomaly-detection task in `results`;
    `scores[task][model]` = per repeat `(eval labels, eval scores)` (as `score_task(clip_scores=...)`)."""
    figs = {}
    for task, entry in results["tasks"].items():
        if entry["kind"] == "classification" or not scores.get(task):
            continue
        figs.update(asd_repeat_figures(task, entry, scores[task], results["models"]))
    return write_figures(figs, out_dir)


# ------------------------------------------------------------------------------------------------
# DCASE Task 2 / MIMII DUE: one official result per model
# ------------------------------------------------------------------------------------------------
def plot_asd_results(results: Mapping[str, object], out_dir, *, labels: Mapping[str, str] | None = None,
                     corpus: str = "") -> list[Path]:
    """`dinos.plots.asd_figures` of each model's `dinos.metrics.Result` (with its clips), written to
    `out_dir/<model>/roc_<machine>.png` and `scores_<machine>.png`."""
    from dinos.plots import asd_figures

    written = []
    for m, result in results.items():
        title = f"{(labels or {}).get(m, m)} on {corpus + ' ' if corpus else ''}".replace("  ", " ")
        written += write_figures(asd_figures(result, title=f"{title}— "), Path(out_dir) / safe_name(m))
    return written
