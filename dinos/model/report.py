"""Benchmark result files: results.json, results.csv, table3.md and table4.md (pure formatting + atomic writes).

table3.md / table4.md show two clearly separated tables: OURS (the data the benchmark ran on, synthetic
unless a real DINOS was given) with a "pretraining beat init?" column, and the PAPER's numbers on the
real DINOS (all ten model columns of Table 3 / Table 4, from `dinos.tasks`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from dinos.io import write_text

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


def table3(results: dict) -> str:
    """Table 3 layout: ours (one column per model, plus whether pretraining beat init) and the paper's."""
    models = list(results["models"])
    control = "impact" in models and "impact_init" in models
    head = "| Machine (metric) | " + " | ".join(results["models"][m] for m in models) + " |"
    lines = ["## Ours (" + results.get("meta", {}).get("data_label", "data as given by --data-dir") + ")", "",
             head + (" pretraining beat init? |" if control else ""),
             "|---|" + "---:|" * len(models) + ("---|" if control else "")]
    rows = _task_rows(results)
    for _, entry in rows:
        cells = _bold_best({m: entry["models"].get(m) for m in models})
        beat = f" {_beat(entry['models'].get('impact'), entry['models'].get('impact_init'))} |" if control else ""
        lines.append(f"| {entry['dataset']} ({entry['metric']}) | " + " | ".join(cells[m] for m in models)
                     + " |" + beat)
    paper = _paper_models(e.get("paper", {}) for _, e in rows)
    if paper:
        lines += ["", "## Paper, real DINOS (Table 3; not comparable with synthetic data)", "",
                  "| Machine (metric) | " + " | ".join(paper) + " |", "|---|" + "---:|" * len(paper)]
        for _, entry in rows:
            cells = _bold_best({m: entry.get("paper", {}).get(m) for m in paper})
            lines.append(f"| {entry['dataset']} ({entry['metric']}) | " + " | ".join(cells[m] for m in paper) + " |")
    return "\n".join(lines) + "\n"


def _id_key(tid: str):
    return (0, int(tid[1:])) if tid[1:].isdigit() else (1, tid)


def table4(results: dict) -> str:
    """Table 4 layout: one row per task id (T1..T25 per-class AP, T26/T27 AUROC): ours, then the paper's."""
    models = list(results["models"])
    rows, paper_rows = [], []
    for name, entry in results["tasks"].items():
        if entry["kind"] == "classification":
            classes = {c for m in models if entry["models"].get(m) for c in entry["models"][m].get("per_class", {})}
            for c in classes:
                rows.append((c, {m: entry["models"].get(m, {}).get("per_class", {}).get(c) for m in models}))
        else:
            rows.append((name.split("/", 1)[-1], {m: entry["models"].get(m) for m in models}))
        paper_rows += list(entry.get("paper_per_class", {}).items())
    rows.sort(key=lambda r: _id_key(r[0]))
    lines = ["## Ours", "", "| Task | " + " | ".join(results["models"][m] for m in models) + " |",
             "|---|" + "---:|" * len(models)]
    for tid, cells in rows:
        c = _bold_best(cells)
        lines.append(f"| {tid} | " + " | ".join(c[m] for m in models) + " |")
    paper = _paper_models(p for _, p in paper_rows)
    if paper:
        lines += ["", "## Paper, real DINOS (Table 4; not comparable with synthetic data)", "",
                  "| Task | " + " | ".join(paper) + " |", "|---|" + "---:|" * len(paper)]
        for tid, cells in sorted(paper_rows, key=lambda r: _id_key(r[0])):
            c = _bold_best({m: cells.get(m) for m in paper})
            lines.append(f"| {tid} | " + " | ".join(c[m] for m in paper) + " |")
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
