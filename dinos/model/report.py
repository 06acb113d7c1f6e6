"""Benchmark result files: results.json, results.csv, table3.md and table4.md (pure formatting + atomic writes).

table3.md / table4.md each hold ONE table with every model: ours (the data the benchmark ran on,
synthetic unless a real DINOS was given; marked "ours, synthetic DINOS") with a "pretraining beat
init?" row, and the paper's ten models on the real DINOS (marked "paper, real data"; from `dinos.tasks`).
`asd_table` does the same for the ASD benchmarks (MIMII DUE / DCASE): the log-Mel statistics, IMPACT
(init), IMPACT and your own embedders (`dcase_results.json`) beside the seeds' baselines
(`baselines.json`) and the papers' figures.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

from dinos.io import write_text

#: how the paper's rows and columns are marked in every table
PAPER_DATA = "paper, real data"
MODEL_LABELS = {"baseline": "Log-Mel stats (baseline)", "impact_init": "IMPACT (init)", "impact": "IMPACT"}
DATASET_ORDER = ("RenishawL", "VF2", "Yornew", "ColdSpray")


def _fmt(stat: dict | None) -> str:
    if not stat:
        return "-"
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def _bold_best(cells: dict[str, dict | None]) -> dict[str, str]:
    means = {m: s["mean"] for m, s in cells.items() if s}
    best = max(means.values()) if means else None
    return {m: (f"**{_fmt(s)}**" if s and best is not None and math.isclose(s["mean"], best) and len(means) > 1
                else _fmt(s)) for m, s in cells.items()}


def _beat(a: dict | None, b: dict | None) -> str:
    if not a or not b:
        return ""
    verdict = "tie" if a["mean"] == b["mean"] else "yes" if a["mean"] > b["mean"] else "NO"
    return f"{verdict} ({a['mean'] - b['mean']:+.4f})"


def _task_rows(results: dict) -> list[tuple[str, dict]]:
    return sorted(results["tasks"].items(), key=lambda kv: (kv[1]["metric"] != "mAP",
                  DATASET_ORDER.index(kv[1]["dataset"]) if kv[1]["dataset"] in DATASET_ORDER else 99))


def _paper_models(entries) -> list[str]:
    seen: list[str] = []
    for e in entries:
        for m in e:
            if m not in seen:
                seen.append(m)
    return seen


def _ours_label(results: dict) -> str:
    return "ours, " + results.get("meta", {}).get("data_label", "data as given by --data-dir")


def table3(results: dict) -> str:
    """Table 3 as ONE table, a row per model: ours (the data the benchmark ran on) with the "pretraining
    beat init?" row, then the paper's ten models on the real DINOS, each row marked in the `data` column.
    Best value in bold within ours and within the paper's rows (never across the two)."""
    models = list(results["models"])
    rows = _task_rows(results)
    ours = _ours_label(results)
    head = "| Model | data | " + " | ".join(f"{e['dataset']} ({e['metric']})" for _, e in rows) + " |"
    lines = ["## Every model, ours and the paper's (" + ours + "; paper: real DINOS, Table 3)", "",
             head, "|---|---|" + "---:|" * len(rows)]

    def block(names: list[str], label: Callable[[str], str], data: str, get: Callable[[dict, str], dict | None]):
        cells = [_bold_best({m: get(e, m) for m in names}) for _, e in rows]
        for m in names:
            lines.append(f"| {label(m)} | {data} | " + " | ".join(c[m] for c in cells) + " |")

    block(models, lambda m: results["models"][m], ours, lambda e, m: e["models"].get(m))
    if "impact" in models and "impact_init" in models:
        lines.append("| pretraining beat init? (IMPACT - IMPACT (init)) | " + ours.split(",")[0] + " | "
                     + " | ".join(_beat(e["models"].get("impact"), e["models"].get("impact_init")) or "-"
                                  for _, e in rows) + " |")
    paper = _paper_models(e.get("paper", {}) for _, e in rows)
    block(paper, str, PAPER_DATA, lambda e, m: e.get("paper", {}).get(m))
    if paper:
        lines += ["", f"Rows marked \"{PAPER_DATA}\" are the paper's Table 3 on the real DINOS: not comparable "
                  "in value with ours unless ours ran on the real DINOS too."]
    return "\n".join(lines) + "\n"


def _id_key(tid: str):
    return (0, int(tid[1:])) if tid[1:].isdigit() else (1, tid)


def table4(results: dict) -> str:
    """Table 4 as ONE table: a row per task id (T1..T25 per-class AP, T26/T27 AUROC), a column per model,
    ours first, then the paper's ten models on the real DINOS; each column header says whose data."""
    models = list(results["models"])
    ours_rows: dict[str, dict] = {}
    paper_rows: dict[str, dict] = {}
    for name, entry in results["tasks"].items():
        if entry["kind"] == "classification":
            classes = {c for m in models if entry["models"].get(m) for c in entry["models"][m].get("per_class", {})}
            for c in classes:
                ours_rows[c] = {m: entry["models"].get(m, {}).get("per_class", {}).get(c) for m in models}
        else:
            ours_rows[name.split("/", 1)[-1]] = {m: entry["models"].get(m) for m in models}
        paper_rows.update(entry.get("paper_per_class", {}))
    paper = _paper_models(paper_rows.values())
    ours = _ours_label(results)
    cols = [f"{results['models'][m]} [{ours}]" for m in models] + [f"{m} [{PAPER_DATA}]" for m in paper]
    lines = ["## Every model, ours and the paper's (" + ours + "; paper: real DINOS, Table 4)", "",
             "| Task | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for tid in sorted(set(ours_rows) | set(paper_rows), key=_id_key):
        a = _bold_best(ours_rows.get(tid, dict.fromkeys(models)))
        b = _bold_best({m: paper_rows.get(tid, {}).get(m) for m in paper})
        lines.append(f"| {tid} | " + " | ".join([a[m] for m in models] + [b[m] for m in paper]) + " |")
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
    write_text(path, text)


def write_results(out: Path, results: dict) -> None:
    """results.json, results.csv, table3.md and table4.md (each written atomically)."""
    from .train import write_json

    write_json(out / "results.json", results)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["model", "task", "dataset", "metric", "class", "repeat", "value"],
                       lineterminator="\n")
    w.writeheader()
    w.writerows(results_rows(results))
    write_text(out / "results.csv", buf.getvalue())
    meta = results.get("meta", {})
    note = (f"\nmean ± sample std over the split repeats; mAP from a {meta.get('probe', 'linear')} probe "
            f"(classification), AUROC from an autoencoder head ({meta.get('asd_head', 'linear-out')}, ASD). "
            "IMPACT (init) is the same network and seed before any training step.\n")
    write_text(out / "table3.md", "# Overall performance per machine (paper Table 3 layout)\n\n" + table3(results) + note)
    write_text(out / "table4.md", "# Per-class performance (paper Table 4 layout)\n\n" + table4(results) + note)


# ------------------------------------------------------------------------------------------------
# The ASD benchmarks (MIMII DUE, DCASE Task 2): one table with every model
# ------------------------------------------------------------------------------------------------
ASD_TABLE = "table.md"


def _section_means(result: dict) -> dict[str, float]:
    """Mean over the scored sections of every AUC / pAUC column of a `Result.to_dict()`."""
    cols: dict[str, list[float]] = {}
    for rec in result.get("sections", []):
        for k, v in rec.items():
            if (k.startswith("AUC") or k.startswith("pAUC")) and v is not None and not math.isnan(float(v)):
                cols.setdefault(k, []).append(float(v))
    return {k: sum(v) / len(v) for k, v in cols.items()}


def asd_table(*, baselines: dict | None = None, embedders: dict | None = None, data_label: str = "data as given",
              labels: dict[str, str] | None = None) -> str:
    """ONE markdown table per ASD benchmark, a row per model: the embedding models of
    `run_dcase_benchmark` (`embedders`: its `dcase_results.json`; log-Mel stats, IMPACT (init), IMPACT,
    your own) and the seeds' baselines (`baselines`: `AsdReport.to_dict()`), marked "ours, <data_label>",
    then the source paper's figures for the same sections and domains (MIMII DUE Table 4, from the
    task registry), marked "paper, real data". Columns: the year's official score, the mean over the
    scored sections of each AUC / pAUC column, training seconds per epoch (baselines). Pure."""
    labels = {**MODEL_LABELS, **(labels or {})}
    ours = f"ours, {data_label}"
    rows: list[tuple[str, str, dict]] = []  # (label, data, cells)
    meta = next((d for d in (embedders, baselines) if d), None)
    if meta is None:
        raise ValueError("asd_table needs the results of at least one benchmark")
    order = list(MODEL_LABELS)  # baseline, IMPACT (init), IMPACT first (a JSON file may hold them sorted)
    for src in (embedders, baselines):
        models = (src or {}).get("models", {})
        for m in sorted(models, key=lambda k: order.index(k) if k in order and src is embedders else len(order)):
            res = models[m]
            cells: dict = {"official score": res.get("summary", {}).get(_official_name(res)), **_section_means(res)}
            timing = (src.get("timing") or {}).get(m)
            if timing:
                cells["train s / epoch"] = timing["seconds_per_epoch"]
            rows.append((labels.get(m, m), ours, cells))
    comparison = (baselines or {}).get("comparison", [])
    for m in dict.fromkeys(r["model"] for r in comparison):
        refs = [r for r in comparison if r["model"] == m]
        if any(r["paper_auc"] is None for r in refs):
            continue  # the paper has no figure for some scored cell: a mean over other cells would mislead
        cells = {}
        for dom in ("source", "target"):
            vals = [r["paper_auc"] for r in refs if r["domain"] == dom]
            if vals:
                cells[f"AUC ({dom})"] = sum(vals) / len(vals)
        rows.append((labels.get(m, m), f"{PAPER_DATA} (MIMII DUE Table 4, same sections)", cells))
    cols = list(dict.fromkeys(k for _, _, c in rows for k in c))
    title = f"{meta.get('corpus', '')} {meta.get('config', '')}".strip()
    lines = [f"## Every model: {title} (DCASE {meta.get('year', '?')} metrics; {ours}; {PAPER_DATA})", "",
             "| Model | data | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
    for label, data, cells in rows:
        lines.append(f"| {label} | {data} | " + " | ".join(
            "-" if cells.get(c) is None else f"{cells[c]:.3f}" if c == "train s / epoch" else f"{cells[c]:.4f}"
            for c in cols) + " |")
    lines += ["", "AUC / pAUC columns: the mean over the scored sections (per domain where the year scores "
              "domains apart). Rows marked \"" + PAPER_DATA + "\" are the source paper's figures on the real "
              "corpus, averaged over the same sections and domains as ours; ours on synthetic data are not "
              "comparable in value. Per-section tables: dcase.md (embedding models) and baselines.md "
              "(the seeds' baselines)."]
    if not comparison and baselines:
        lines.append("No published figures of these baselines for this corpus are in the project "
                     "(only MIMII DUE Table 4), so there are no paper rows.")
    return "\n".join(lines) + "\n"


def _official_name(result: dict) -> str | None:
    from dinos.metrics.schemes import scheme_for

    return scheme_for(int(result["year"])).official_score


def write_asd_table(out: Path, data_label: str, labels: dict[str, str] | None = None) -> Path:
    """Merge `dcase_results.json` and `baselines.json` of a results folder into `table.md` (either may
    be missing, not both; `labels` default to the baselines' registry labels); returns its path."""
    import json

    loaded = {}
    for key, name in (("embedders", "dcase_results.json"), ("baselines", "baselines.json")):
        path = Path(out) / name
        if path.exists():
            loaded[key] = json.loads(path.read_text(encoding="utf-8"))
    if not loaded:
        from dinos.errors import DinosError

        raise DinosError("no dcase_results.json or baselines.json to merge", out)
    if labels is None:  # the seeds' baselines by their table labels (the registry is torch-free)
        from .baselines.registry import MODELS

        labels = {m: spec.label for m, spec in MODELS.items()}
    path = Path(out) / ASD_TABLE
    write_text(path, "# One table per benchmark: every model\n\n" + asd_table(data_label=data_label, labels=labels,
                                                                            **loaded))
    return path
