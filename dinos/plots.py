"""Figures of anomaly-detection results: ROC curves per section and domain, score histograms.

Core module: matplotlib (in the `[model]` extra) is imported only when a figure is drawn, and a
missing matplotlib is one `DinosError` naming the extra (`require_matplotlib`). Figures are built
as `matplotlib.figure.Figure` objects (no pyplot, no global backend change) and written
atomically (`write_figures`, through `dinos.io`).

The curves come from `dinos.metrics.curves` (the same clip selection and AUC as the year's
evaluator), so the AUC in a legend is the AUC of the scores table.

- `asd_figures(result)`: for a `dinos.metrics.Result` (its `clips`), per machine type one
  `roc_<machine>.png` (a panel per section, a line per AUC column: source / target, or one line
  for 2020) and one `scores_<machine>.png` (a panel per section and domain: normal vs anomalous
  score histograms).
- `palette(n)`: n colours, none repeated (qualitative up to 20, then a sampled colour map).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import DinosError

#: colours of the two ASD classes in every figure (histograms)
CLASS_COLORS = {"normal": "#1f77b4", "anomaly": "#d62728"}
#: colours of the domains in ROC panels (AUC columns without a domain use "all")
DOMAIN_COLORS = {"source": "#1f77b4", "target": "#ff7f0e", "all": "#2ca02c"}
#: and line styles, so that curves that coincide stay visible (dashed over solid)
DOMAIN_STYLES = {"source": ("-", 2.2), "target": ("--", 1.6), "all": ("-.", 1.4)}
DPI = 110


def _distribution() -> str:
    """The installed distribution that provides `dinos` (for the `pip install` line of an error)."""
    from importlib.metadata import packages_distributions

    names = packages_distributions().get("dinos") or []
    return names[0] if names else "dinos"


def require_matplotlib(what: str = "plots") -> None:
    """Import matplotlib, or raise one `DinosError` that names the `[model]` extra (`what` says
    which option or function needed it)."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name not in ("matplotlib", None) and not str(exc.name).startswith("matplotlib."):
            raise
        dist = _distribution()
        raise DinosError(
            f"{what} needs matplotlib, which is not installed; it comes with the [model] extra: "
            f"pip install '{dist}[model]' (or pip install matplotlib)"
        ) from None


def new_figure(width: float, height: float):
    """A `Figure` with constrained layout on its own Agg canvas (no pyplot state, no backend change)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def palette(n: int) -> list[str]:
    """`n` distinct colours (hex): tab10 up to 10, tab20 (its ten dark tones first) up to 20, then
    `n` evenly spaced samples of the `turbo` colour map. No colour repeats within one call."""
    require_matplotlib()
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if n <= 10:
        cols = list(colormaps["tab10"].colors)[:n]
    elif n <= 20:
        tab20 = list(colormaps["tab20"].colors)
        cols = (tab20[0::2] + tab20[1::2])[:n]
    else:
        cmap = colormaps["turbo"]
        cols = [cmap(x) for x in np.linspace(0.03, 0.97, n)]
    return [to_hex(c) for c in cols]


def line_styles(n: int) -> list[str]:
    """Line styles to go with `palette(n)`: solid for the first ten, dashed after (a second cue)."""
    return ["-" if k < 10 else "--" for k in range(n)]


def safe_name(text: str) -> str:
    """`text` as a file-name fragment (letters, digits, `-`, `_`, `.`)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


# ------------------------------------------------------------------------------------------------
# ROC curves and histograms of a DCASE-style result
# ------------------------------------------------------------------------------------------------
def _grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    cols = min(max(n, 1), max_cols)
    return math.ceil(max(n, 1) / cols), cols


def _section_word(year: int) -> str:
    """2020 calls its sections machine IDs (`id_05`); later years call them sections."""
    from .metrics.engine import scheme

    return "machine ID" if scheme(year) == "2020" else "section"


def _clips_of(result):
    clips = getattr(result, "clips", None)
    if clips is None or not len(clips):
        raise DinosError("the result carries no per-clip scores to plot (Result.clips is empty)")
    return clips


def roc_figures(year: int, clips, *, title: str = "") -> dict[str, object]:
    """`{"roc_<machine>.png": Figure}`: per machine type a panel per section, in it one ROC line per
    AUC column of the year (legend: the AUC and the clip counts it was computed on)."""
    from .metrics.curves import section_rocs
    from .metrics.schemes import DOMAIN_NORMALS_ALL_ANOMALIES, MAX_FPR

    curves = section_rocs(year, clips)
    by_machine: dict[str, dict[int, list]] = {}
    for c in curves:
        by_machine.setdefault(c.machine, {}).setdefault(c.section, []).append(c)
    out = {}
    for machine, sections in by_machine.items():
        rows, cols = _grid(len(sections))
        fig = new_figure(3.9 * cols + 0.3, 4.3 * rows + 0.7)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat[len(sections):]:
            ax.set_visible(False)
        order = {"source": 0, "target": 1, None: 2}
        for ax, (section, cs) in zip(axes.flat, sorted(sections.items()), strict=False):
            shared = [ax.axvspan(0, MAX_FPR, color="0.93", zorder=0, label=f"pAUC range (FPR ≤ {MAX_FPR:g})"),
                      *ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="chance")]
            lines = []
            for c in sorted(cs, key=lambda c: order.get(c.domain, 3)):
                ls, lw = DOMAIN_STYLES[c.domain or "all"]
                lines += ax.plot(c.fpr, c.tpr, color=DOMAIN_COLORS[c.domain or "all"], ls=ls, lw=lw,
                                 label=f"{c.column} = {c.auc:.3f} ({c.n_normal} normal, {c.n_anomaly} anomalous)")
            ax.set_xlim(-0.01, 1.01)  # curves along the frame stay visible
            ax.set_ylim(-0.01, 1.01)
            ax.set_title(f"{_section_word(year)} {section:02d}", fontsize=10)
            ax.set_xlabel("false positive rate")
            ax.set_ylabel("true positive rate")
            ax.legend(handles=lines, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        fig.legend(handles=shared, loc="outside lower center", ncol=2, fontsize=8, frameon=False)
        note = ""
        if any(c.clips == DOMAIN_NORMALS_ALL_ANOMALIES for cs in sections.values() for c in cs):
            note = "\na domain's AUC: its normal clips and the anomalous clips of both domains (DCASE 2022+ rule)"
        fig.suptitle(f"{title}{machine}: ROC per section (DCASE {year} metric){note}", fontsize=10)
        out[f"roc_{safe_name(machine)}.png"] = fig
    return out


def histogram_figures(year: int, clips, *, title: str = "", bins: int = 30) -> dict[str, object]:
    """`{"scores_<machine>.png": Figure}`: per machine type a panel per section (rows) and domain
    (columns; one column for years without domains): normal and anomalous score histograms on shared
    bins, the clip counts in each panel's title."""
    require_matplotlib()

    from .metrics.engine import get_scheme

    uses_domains = get_scheme(year).uses_domains
    frame = clips.assign(section=clips["section"].astype(int), label=clips["label"].astype(str))
    if uses_domains:
        frame = frame.assign(domain=frame["domain"].astype(str))
    out = {}
    for machine in sorted({str(m) for m in frame["machine"]}):
        fm = frame[frame["machine"].astype(str) == machine]
        sections = sorted(set(fm["section"]))
        domains = [d for d in ("source", "target") if d in set(fm["domain"])] if uses_domains else [None]
        fig = new_figure(4.0 * len(domains) + 0.4, 2.5 * len(sections) + 0.9)
        axes = fig.subplots(len(sections), len(domains), squeeze=False)
        for i, section in enumerate(sections):
            for j, domain in enumerate(domains):
                ax = axes[i, j]
                t = fm[fm["section"] == section]
                if domain is not None:
                    t = t[t["domain"] == domain]
                scores = t["score"].to_numpy(dtype=float)
                normal = scores[(t["label"] == "normal").to_numpy()]
                anomaly = scores[(t["label"] == "anomaly").to_numpy()]
                draw_histograms(ax, normal, anomaly, bins=bins)
                where = f"{_section_word(year)} {section:02d}" + ("" if domain is None else f", {domain}")
                ax.set_title(f"{where}: {normal.size} normal, {anomaly.size} anomalous", fontsize=9)
                ax.set_xlabel("anomaly score", fontsize=8)
                ax.set_ylabel("clips", fontsize=8)
                ax.tick_params(labelsize=7)
        _class_legend(fig)
        fig.suptitle(f"{title}{machine}: anomaly scores, normal vs anomalous", fontsize=10)
        out[f"scores_{safe_name(machine)}.png"] = fig
    return out


def draw_histograms(ax, normal, anomaly, *, bins: int = 30, counts_in_labels: bool = False) -> None:
    """Normal and anomalous score histograms on shared bins in `ax` (integer count ticks). Positive
    scores with a max/min ratio above 20 (skewed reconstruction errors) get log-spaced bins and a log axis."""
    from matplotlib.ticker import MaxNLocator

    normal = np.asarray(normal, dtype=float)
    anomaly = np.asarray(anomaly, dtype=float)
    scores = np.concatenate([normal, anomaly])
    if scores.size:
        n_bins = min(bins, max(5, scores.size // 3))
        lo, hi = float(scores.min()), float(scores.max())
        if lo > 0 and hi / lo > 20:
            edges = np.geomspace(lo, hi, n_bins + 1)
            ax.set_xscale("log")
        else:
            edges = np.histogram_bin_edges(scores, bins=n_bins)
        for name, values in (("normal", normal), ("anomaly", anomaly)):
            label = f"{name} ({values.size})" if counts_in_labels else name
            ax.hist(values, bins=edges, color=CLASS_COLORS[name], alpha=0.55, label=label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _class_legend(fig) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=CLASS_COLORS[k], alpha=0.55, label=k) for k in ("normal", "anomaly")]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8, frameon=False)


def asd_figures(result, *, title: str = "") -> dict[str, object]:
    """ROC and score-histogram figures of a `dinos.metrics.Result` (see the module docstring)."""
    clips = _clips_of(result)
    return {**roc_figures(result.year, clips, title=title), **histogram_figures(result.year, clips, title=title)}


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------
def write_figures(figures: Mapping[str, object], out, *, prefix: str = "") -> list[Path]:
    """Write each figure as PNG: `out` is a folder path (files replaced atomically, the folder
    created) or a `dinos.io.OutputDir` (files recorded in its marker). Returns the paths written."""
    from .io import OutputDir, write_with

    written = []
    for name, fig in figures.items():
        rel = f"{prefix}{name}"
        if isinstance(out, OutputDir):
            path = out.path_for(rel)
            write_with(path, lambda tmp, f=fig: f.savefig(tmp, dpi=DPI, bbox_inches="tight"))
            out.record(rel)
        else:
            path = write_with(Path(os.fspath(out)) / rel, lambda tmp, f=fig: f.savefig(tmp, dpi=DPI, bbox_inches="tight"))
        written.append(path)
    return written


def plot_result(result, out, *, title: str = "", prefix: str = "") -> list[Path]:
    """`asd_figures(result)` written to `out` (see `write_figures`); returns the PNG paths."""
    return write_figures(asd_figures(result, title=title), out, prefix=prefix)
