"""`dinos score dcase --year Y --scores DIR --data-dir D`: DCASE Task 2 official metrics of a submission.

The command parses arguments, checks the submission folder and the output path before any build,
and prints; ground truth and scoring live in `dinos.metrics`.
"""

from __future__ import annotations

from pathlib import Path

from ._args import UsageError, existing_dir, positive_int

HELP = "score DCASE Task 2 anomaly-score CSVs with the official metrics of a challenge year"
DESCRIPTION = """Score a folder of official submission CSVs against the ground truth:
  2022+   anomaly_score_<machine>_section_SS_test.csv
  2021    anomaly_score_<machine>_section_SS_<source|target>_test.csv
  2020    anomaly_score_<machine>_id_SS.csv
(optional decision_result_*.csv beside them). The ground truth is the test split(s) of the built
`dcase_task2` corpus (--data-dir) or the organisers' ground-truth files (--ground-truth). Each part
(dev, eval) is scored and printed separately: per-section table, per-machine means, summary,
official score.

Own data: dinos score asd --scores CSV [--splits FILE | --corpus NAME --data-dir D] (docs/own-data.md)."""


def add_arguments(p) -> None:
    p.add_argument("corpus", choices=["dcase", "asd"], help="what to score (DCASE Task 2; asd: own data, thresholds)")
    p.add_argument(
        "--year", type=positive_int, default=None, help="dcase: challenge year, 2020-2026 (selects the metric rules; required)"
    )
    p.add_argument("--scores", required=True, help="dcase: folder holding the anomaly_score_*.csv files; asd: a scores CSV")
    truth = p.add_mutually_exclusive_group(required=False)
    truth.add_argument(
        "--data-dir", type=existing_dir, help="unpacked DCASE corpus; ground truth = the test split(s) of its `<year>-all` build"
    )
    truth.add_argument(
        "--ground-truth",
        help="organisers' ground truth (eval part): an evaluator folder (ground_truth_data/, "
        "ground_truth_domain/, ...) or a baseline eval_data_list_<year>.csv",
    )
    p.add_argument(
        "--part", choices=["dev", "eval"], default=None,
        help="score only this part (default: every part the ground truth covers, each separately)",
    )  # fmt: skip
    p.add_argument(
        "--machine", action="append", default=None, help="score only this machine type (repeatable)"
    )
    p.add_argument("--ci95", action="store_true",
                   help="also compute the evaluators' jackknife 95%% interval of the official score (2022+; slow)")  # fmt: skip
    p.add_argument("--cache-dir", default=None, help="datasets cache folder for --data-dir builds")
    p.add_argument("--out", default=None, help="also write the full result as JSON to this file")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--markdown", action="store_true", help="print Markdown tables instead of plain text")
    p.add_argument("--quiet", action="store_true", help="no progress bars while the ground truth is built")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="dcase: also write per machine type ROC curves per section/domain (AUC in the legend) and "
                        "normal-vs-anomaly score histograms as PNGs to DIR (needs matplotlib: the [model] extra)")
    from ._own import add_score_asd_arguments  # own data (dinos.metrics.decisions): `dinos score asd`

    add_score_asd_arguments(p)


def _plain(result) -> str:
    import pandas as pd

    fmt = {"float_format": lambda v: f"{v:.4f}", "index": False}
    head = f"DCASE {result.year} Task 2" + (f", {result.part} part" if result.part else "")
    lines = [f"{head}, per section:", result.sections.to_string(**fmt), ""]
    lines += ["per machine type:", result.machines.to_string(**fmt), ""]
    summary = pd.DataFrame([{"metric": k, "value": v} for k, v in result.summary.items()])
    lines += [summary.to_string(**fmt)]
    lines += [f"note: {n}" for n in result.notes]
    if result.own_numbers():
        lines.append(f"note: not written by the DCASE {result.year} evaluator: {', '.join(result.own_numbers())}")
    if result.official_score is None:
        lines.append(f"official score: none defined for DCASE {result.year} (per-type means above)")
    else:
        lines.append(f"official score: {result.official_score:.4f}")
    return "\n".join(lines)


def run(args) -> int:
    import json

    scores = Path(args.scores).expanduser()
    if args.corpus == "asd":  # own data (dinos.metrics.decisions)
        if not scores.is_file():  # checked before any build
            raise UsageError(f"argument --scores: {args.scores}: " + ("is a directory, not a scores CSV"
                             if scores.is_dir() else "no such file"))
        from ._own import run_score_asd

        if args.plots:
            raise UsageError("--plots: figures are drawn for `dinos score dcase` only (not yet for asd)")

        return run_score_asd(args)
    if args.year is None or (args.data_dir is None and args.ground_truth is None):
        raise UsageError("dinos score dcase: --year and one of --data-dir / --ground-truth are required")
    if not scores.is_dir():
        raise UsageError(f"argument --scores: {args.scores}: no such directory")

    from dinos import metrics
    from dinos.io import OutputError

    metrics.get_scheme(args.year)  # an unknown year, a missing or empty --scores, an existing --out:
    metrics.check_submission_folder(args.scores)  # all refused before any build
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise OutputError("--out is a directory; give a file name", out)
        if out.exists() and not args.overwrite:
            raise OutputError("--out file exists; pass --overwrite to replace it", out)
    plots = None
    if args.plots:  # matplotlib and the folder checked before any build
        from dinos.io import OutputDir
        from dinos.plots import require_matplotlib

        require_matplotlib("dinos score --plots")
        plots = OutputDir.open(args.plots, tool="score", overwrite=args.overwrite)
    try:
        if args.ground_truth is not None:
            truth = metrics.read_ground_truth(args.ground_truth, args.year)
        else:
            truth = metrics.truth_from_corpus(args.year, args.data_dir, part=args.part, cache_dir=args.cache_dir)
        results = metrics.score_parts(
            args.year, args.scores, truth, part=args.part, machines=args.machine, ci95=args.ci95
        )
        texts = [r.to_markdown() if args.markdown else _plain(r) for r in results.values()]
        print("\n\n".join(texts))
        if args.out:
            data = {"year": args.year, "parts": {p or "all": r.to_dict() for p, r in results.items()}}
            from dinos.metrics.submission import write_file

            write_file(args.out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        if plots is not None:
            from dinos.plots import plot_result

            for p, r in results.items():
                paths = plot_result(r, plots, title=f"DCASE {args.year}{' ' + p if p else ''}: ", prefix=f"{p}_" if p else "")
                print(f"wrote {len(paths)} figure(s){' of the ' + p + ' part' if p else ''} to {args.plots}")
            plots.remove_previous()
    except BaseException:  # a failed or interrupted run leaves no empty marked --plots folder behind
        if plots is not None:
            plots.discard_new()
        raise
    return 0
