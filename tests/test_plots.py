"""Figures of anomaly-detection results (`dinos.plots`, `dinos.metrics.curves`, `dinos score --plots`).

The curves must be the ones whose area the metrics report; every figure is drawn and inspected
(panels, legend text and placement, both classes in every histogram); a missing matplotlib is one
clear error naming the extra.
"""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pandas as pd
import pytest

from dinos import metrics as M
from dinos.cli import main
from dinos.errors import DinosError
from dinos.metrics.curves import roc_curve, section_rocs

MACHINES = ("fan", "ToyCar")
SECTIONS = (0, 1, 2)


def _frame(year: int, n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Per machine, section and domain: n (source) or n // 3 (target) normal and anomalous clips."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in MACHINES:
        for s in SECTIONS:
            for dom, k in (("source", n), ("target", n // 3)):
                for lab in ("normal", "anomaly"):
                    for i in range(k):
                        rows.append({"machine": m, "section": s, "domain": dom if year > 2020 else "source",
                                     "label": lab, "file": f"{m}_{s}_{dom}_{lab}_{i}.wav",
                                     "score": rng.normal(1.0 if lab == "anomaly" else 0.0, 1.0)})
    return pd.DataFrame(rows)


def _draw(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


# ------------------------------------------------------------------------------------------------
# the curves (no matplotlib needed)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("year", [2020, 2021, 2023])
def test_section_rocs_are_the_curves_of_the_reported_aucs(year):
    frame = _frame(year)
    result = M.evaluate(year, frame)
    curves = section_rocs(year, result.clips)
    auc_cols = [m.column for m in M.get_scheme(year).section_metrics if m.metric == "auc"]
    assert len(curves) == len(MACHINES) * len(SECTIONS) * len(auc_cols)
    table = result.sections.set_index(["machine", "section"])
    for c in curves:
        assert c.auc == table.loc[(c.machine, f"{c.section:02d}"), c.column]  # the very AUC of the table
        assert np.trapezoid(c.tpr, c.fpr) == pytest.approx(c.auc, abs=1e-12)  # and the area under the curve
        assert c.fpr[0] == 0 and c.tpr[0] == 0 and c.fpr[-1] == 1 and c.tpr[-1] == 1
    if year >= 2022:  # a domain's AUC: its normals and the anomalies of both domains
        src = next(c for c in curves if c.column == "AUC (source)")
        assert (src.n_normal, src.n_anomaly) == (30, 40)


def test_result_carries_its_clips_but_not_in_to_dict():
    frame = _frame(2023)
    result = M.evaluate(2023, frame)
    assert len(result.clips) == len(frame) and "score" in result.clips
    assert "clips" not in result.to_dict()


def test_roc_curve_needs_both_classes():
    with pytest.raises(M.ScoreError, match="normal and anomalous"):
        roc_curve(["normal", "normal"], [0.1, 0.2])
    y, s = [0, 1, 0, 1, 1], [0.1, 0.9, 0.2, 0.15, 0.8]
    fpr, tpr = roc_curve(y, s)
    assert np.trapezoid(tpr, fpr) == pytest.approx(M.auc(y, s)) and M.auc(y, s) == pytest.approx(5 / 6)


# ------------------------------------------------------------------------------------------------
# the figures
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("year", [2020, 2021, 2023])
def test_asd_figures_one_roc_and_one_histogram_per_machine(year):
    pytest.importorskip("matplotlib")
    from dinos.plots import asd_figures

    result = M.evaluate(year, _frame(year))
    figs = asd_figures(result, title="test: ")
    assert sorted(figs) == sorted([f"roc_{m}.png" for m in MACHINES] + [f"scores_{m}.png" for m in MACHINES])
    table = result.sections.set_index(["machine", "section"])
    auc_cols = [m.column for m in M.get_scheme(year).section_metrics if m.metric == "auc"]
    for m in MACHINES:
        roc = figs[f"roc_{m}.png"]
        renderer = _draw(roc)
        panels = [ax for ax in roc.axes if ax.get_visible()]
        assert len(panels) == len(SECTIONS)
        for ax, s in zip(panels, SECTIONS, strict=True):
            assert ax.get_title().endswith(f"{s:02d}")
            texts = [t.get_text() for t in ax.get_legend().get_texts()]
            assert len(texts) == len(auc_cols)  # one line per section x AUC column (domain)
            for col, text in zip(auc_cols if year < 2022 else [*auc_cols[1:], auc_cols[0]], texts, strict=True):
                assert text.startswith(f"{col} = {table.loc[(m, f'{s:02d}'), col]:.3f}")
            # the legend sits below its panel, outside the axes
            assert ax.get_legend().get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0
        hist = figs[f"scores_{m}.png"]
        domains = 2 if year > 2020 else 1
        axes = [ax for ax in hist.axes if ax.get_visible()]
        assert len(axes) == len(SECTIONS) * domains
        for ax in axes:
            labels = [c.patches[0].get_label() for c in ax.containers]
            assert labels == ["normal", "anomaly"]  # both classes in every panel
            n_normal, n_anomaly = (int(sum(p.get_height() for p in c)) for c in ax.containers)
            assert n_normal > 0 and n_anomaly > 0
            assert f"{n_normal} normal, {n_anomaly} anomalous" in ax.get_title()


def test_palette_never_repeats_a_colour():
    pytest.importorskip("matplotlib")
    from dinos.plots import palette

    for n in (1, 2, 9, 10, 11, 12, 20, 21, 40):
        cols = palette(n)
        assert len(cols) == n and len(set(cols)) == n, n
    assert len(set(palette(12))) == 12  # the 12 Yornew classes


def test_plots_folder_is_guarded_and_recorded(tmp_path):
    pytest.importorskip("matplotlib")
    from dinos.io import OutputDir, OutputError, read_marker
    from dinos.plots import plot_result

    result = M.evaluate(2021, _frame(2021, n=6))
    out = OutputDir.open(tmp_path / "figs", tool="score")
    paths = plot_result(result, out, prefix="dev_")
    assert sorted(p.name for p in paths) == sorted(f"dev_{k}_{m}.png" for k in ("roc", "scores") for m in MACHINES)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert set(read_marker(tmp_path / "figs")["files"]) == {p.name for p in paths}
    with pytest.raises(OutputError, match="--overwrite"):
        OutputDir.open(tmp_path / "figs", tool="score")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "mine.txt").write_text("keep")
    with pytest.raises(OutputError, match="not empty"):
        OutputDir.open(tmp_path / "user", tool="score")


# ------------------------------------------------------------------------------------------------
# matplotlib missing
# ------------------------------------------------------------------------------------------------
def test_missing_matplotlib_is_one_error_naming_the_extra(monkeypatch):
    from dinos.plots import palette, require_matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    with pytest.raises(DinosError, match=r"\[model\] extra: pip install '[^']+\[model\]'"):
        require_matplotlib("dinos score --plots")
    with pytest.raises(DinosError, match=r"needs matplotlib"):
        palette(3)


def test_cli_score_plots_without_matplotlib_fails_before_any_build(tmp_path, monkeypatch, capsys):
    sub = tmp_path / "sub"
    M.write_scores(sub / M.submission_file_name(2023, "fan", 0), {"section_00_source_test_normal_0000.wav": 0.1})
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    data = tmp_path / "data"
    data.mkdir()  # an empty tree: a build would fail with another message
    code = main(["score", "dcase", "--year", "2023", "--scores", str(sub), "--data-dir", str(data),
                 "--plots", str(tmp_path / "figs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and "dinos score --plots needs matplotlib" in err[0] and "[model]" in err[0]
    assert not (tmp_path / "figs").exists()



def test_cli_score_plots_failed_build_leaves_no_plots_folder(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    sub = tmp_path / "sub"
    M.write_scores(sub / M.submission_file_name(2023, "fan", 0), {"section_00_source_test_normal_0000.wav": 0.1})
    data = tmp_path / "data"
    data.mkdir()  # an empty tree: the build fails after --plots was opened
    code = main(["score", "dcase", "--year", "2023", "--scores", str(sub), "--data-dir", str(data),
                 "--plots", str(tmp_path / "figs"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 1 and capsys.readouterr().err.strip()
    assert not (tmp_path / "figs").exists()  # neither an empty folder nor one holding only the marker
    (tmp_path / "mine").mkdir()  # an existing empty folder stays, without a marker
    code = main(["score", "dcase", "--year", "2023", "--scores", str(sub), "--data-dir", str(data),
                 "--plots", str(tmp_path / "mine"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 1 and list((tmp_path / "mine").iterdir()) == []

# ------------------------------------------------------------------------------------------------
# dinos score dcase --plots, end to end on a synthetic tree
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_score_plots_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from dinos.synth import dcase

    dcase.write(tmp_path / "data", year=2021, scale=0.5)
    truth = M.truth_from_corpus(2021, tmp_path / "data", cache_dir=str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    truth["score"] = (truth["label"] == "anomaly") + rng.normal(0, 0.5, len(truth))
    for (m, s, d), g in truth.groupby(["machine", "section", "domain"]):
        scores = dict(zip(g["file"], g["score"], strict=True))
        M.write_scores(tmp_path / "sub" / M.submission_file_name(2021, m, s, d), scores)
    args = ["score", "dcase", "--year", "2021", "--scores", str(tmp_path / "sub"), "--data-dir", str(tmp_path / "data"),
            "--cache-dir", str(tmp_path / "cache"), "--plots", str(tmp_path / "figs"), "--out", str(tmp_path / "r.json")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert re.search(r"wrote \d+ figure\(s\) of the dev part to", printed)
    machines = {p: sorted(set(truth.loc[truth["part"] == p, "machine"])) for p in ("dev", "eval")}
    expected = {f"{p}_{k}_{m}.png" for p, ms in machines.items() for m in ms for k in ("roc", "scores")}
    assert {p.name for p in (tmp_path / "figs").glob("*.png")} == expected
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["parts"]) == {"dev", "eval"}
    # a second run replaces only its own figures, and only with --overwrite
    assert main(args[:-2]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args[:-2], "--overwrite"]) == 0
    assert {p.name for p in (tmp_path / "figs").glob("*.png")} == expected
