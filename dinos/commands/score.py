"""`dinos score dcase --year Y --scores DIR --data-dir D`: DCASE Task 2 official metrics of a submission."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

HELP = "score DCASE Task 2 anomaly-score CSVs with the official metrics of a challenge year"
DESCRIPTION = (
    "Score a folder of official submission CSVs (anomaly_score_<machine>_section_SS_test.csv, "
    "2021: ..._<source|target>_test.csv, 2020: anomaly_score_<machine>_id_SS.csv; optional "
    "decision_result_*.csv) against the ground truth: the test split(s) of the built `dcase_task2` "
    "corpus (--data-dir) or the organisers' ground-truth files (--ground-truth). Prints the "
    "per-section table and the official score."
)


def add_arguments(p) -> None:
    p.add_argument("corpus", choices=["dcase", "asd"], help="what to score (DCASE Task 2; asd: own data, thresholds)")
    p.add_argument(
        "--year", type=int, default=None, help="dcase: challenge year, 2020-2026 (selects the metric rules; required)"
    )
    p.add_argument("--scores", required=True, help="folder holding the anomaly_score_*.csv files")
    truth = p.add_mutually_exclusive_group(required=False)
    truth.add_argument(
        "--data-dir", help="unpacked DCASE corpus; ground truth = the test split(s) of its `<year>-all` build"
    )
    truth.add_argument(
        "--ground-truth",
        help="organisers' ground truth: an evaluator folder (ground_truth_data/, ground_truth_domain/, ...) "
        "or a baseline eval_data_list_<year>.csv",
    )
    p.add_argument(
        "--machine", action="append", default=None, help="score only this machine type (repeatable)"
    )
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for --data-dir builds")
    p.add_argument("--out", default=None, help="also write the full result as JSON to this file")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables instead of plain text")
    from ._own import add_score_asd_arguments  # own data (dinos.decisions): `dinos score asd`

    add_score_asd_arguments(p)


def load_truth(year: int, *, data_dir=None, ground_truth=None, cache_dir=None):
    """Ground-truth frame for `year` from a built corpus (`data_dir`) or the organisers' files."""
    from dinos import metrics
    from dinos.errors import DinosError, LayoutError

    if ground_truth is not None:
        return metrics.read_ground_truth(ground_truth, year)
    try:
        from dinos.loaders import builder_class

        builder_class("dcase_task2")
    except (ImportError, AttributeError) as exc:
        raise DinosError(
            f"the dcase_task2 loader is not available ({exc}); use --ground-truth with the organisers' files"
        ) from None
    import datasets

    import dinos

    dd = dinos.load_dataset(
        "dcase_task2", f"{year}-all", data_dir=data_dir, decode=False, cache_dir=cache_dir
    )
    tests = [name for name in dd if name == "test" or name.endswith("_test")]
    if not tests:
        raise LayoutError(f"the built DCASE {year} corpus has no test split (splits: {sorted(dd)})", data_dir)
    ds = datasets.concatenate_datasets([dd[name] for name in sorted(tests)])
    return metrics.truth_from_dataset(ds)


def _plain(result) -> str:
    import pandas as pd

    fmt = {"float_format": lambda v: f"{v:.4f}", "index": False}
    lines = [f"DCASE {result.year} Task 2, per section:", result.sections.to_string(**fmt), ""]
    lines += ["per machine type:", result.machines.to_string(**fmt), ""]
    summary = pd.DataFrame([{"metric": k, "value": v} for k, v in result.summary.items()])
    lines += [summary.to_string(**fmt)]
    lines += [f"note: {n}" for n in result.notes]
    if result.official_score is None:
        lines.append("official score: none defined for DCASE 2020 (per-type means above)")
    else:
        lines.append(f"official score: {result.official_score:.4f}")
    return "\n".join(lines)


def _write_json(path: str, data: dict) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args) -> int:
    if args.corpus == "asd":  # own data (dinos.decisions)
        from ._own import run_score_asd

        return run_score_asd(args)
    if args.year is None or (args.data_dir is None and args.ground_truth is None):
        raise SystemExit("dinos score dcase: --year and one of --data-dir / --ground-truth are required")
    from dinos import metrics

    metrics.scheme(args.year)  # reject an unknown year before any work
    truth = load_truth(
        args.year, data_dir=args.data_dir, ground_truth=args.ground_truth, cache_dir=args.cache_dir
    )
    result = metrics.score_submission(args.year, args.scores, truth, machines=args.machine)
    print(result.to_markdown() if args.markdown else _plain(result))
    if args.out:
        _write_json(args.out, result.to_dict())
    return 0
