"""Pictures of the benchmark: per-class AP bars and mean spectra per class (like the paper's Figure 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    from ..io import write_with

    return write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, bbox_inches="tight"))


def plot_class_ap(results: dict, out_dir) -> list[Path]:
    """One PNG per classification task: per-class AP (mean with std error bars), models side by side."""
    plt = _pyplot()
    written = []
    models = list(results["models"])
    for _name, entry in results["tasks"].items():
        if entry["kind"] != "classification":
            continue
        classes = sorted({c for m in models for c in entry["models"].get(m, {}).get("per_class", {})},
                         key=lambda c: int(c[1:]) if c[1:].isdigit() else 0)
        if not classes:
            continue
        x = np.arange(len(classes))
        width = 0.8 / max(len(models), 1)
        fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(classes) + 2), 3.6))
        for k, m in enumerate(models):
            pc = entry["models"].get(m, {}).get("per_class", {})
            means = [pc.get(c, {}).get("mean", np.nan) for c in classes]
            stds = [pc.get(c, {}).get("std", 0.0) for c in classes]
            mAP = entry["models"][m]["mean"]
            ax.bar(x + (k - (len(models) - 1) / 2) * width, means, width, yerr=stds, capsize=2,
                   label=f"{results['models'][m]} (mAP {mAP:.3f})")
        ax.set_xticks(x, classes)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("average precision")
        ax.set_title(f"{entry['dataset']}: per-class AP over {entry['repeats']} repeats")
        ax.legend(fontsize=8, loc="lower right")
        written.append(_save(fig, Path(out_dir) / f"ap_{entry['dataset']}.png"))
        plt.close(fig)
    return written


def plot_class_spectra(spectra: dict[str, dict[str, np.ndarray]], out_dir, *, sample_rate: int = 48_000) -> list[Path]:
    """One PNG per dataset: the mean log-Mel spectrum (dB) of each class against frequency."""
    import librosa

    plt = _pyplot()
    written = []
    for dataset, by_class in spectra.items():
        if not by_class:
            continue
        n = len(next(iter(by_class.values())))
        freqs = librosa.mel_frequencies(n_mels=n + 2, fmax=sample_rate / 2)[1:-1]
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for c in sorted(by_class, key=lambda c: int(c[1:]) if c[1:].isdigit() else 0):
            ax.plot(freqs, by_class[c], label=c, linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("frequency (Hz, Mel band centres)")
        ax.set_ylabel("mean log-Mel power (dB)")
        ax.set_title(f"{dataset}: mean spectrum per class")
        ax.legend(fontsize=7, ncol=2)
        written.append(_save(fig, Path(out_dir) / f"spectra_{dataset}.png"))
        plt.close(fig)
    return written
