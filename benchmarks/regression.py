"""Performance regression check for CI: ratios (never times) against the recorded reference.

    python -m benchmarks.regression            # measure, compare, exit 1 on a regression
    python -m benchmarks.regression --update --rounds 3   # record the worst of 3 runs as the reference

Runs the cheap, ratio-valued figures of the benchmarks on small corpora (about a minute on 2 cores):
clip loading against the plain soundfile baselines, shuffled access at 4 k vs 1.2 M rows, a
DataLoader with 2 workers against the in-process loop, and the build against a bare header scan.
Every figure with a goal is compared with its value in `regression_reference.json` (recorded by
`--update --rounds 3` on the development machine: the worst of three runs per ratio; the committed
file keeps, per ratio, the worse of two such recordings, 2026-11-30 and 2026-12-01): a ratio that must be high fails when it falls below
`MARGIN` x its reference, one that must be low (build time / scan time, RSS growth) when it rises
above reference / `MARGIN`. The margin is generous (0.5) on purpose: ratios measured side by side
move by 10-30 % on a shared machine, a real regression (a per-batch permutation, a second file
open per window, a per-row pydantic object) moves them by 2x or more. Absolute rates are printed
but never compared. The export ratio is left out: on a corpus small enough for a minute its fixed
costs dominate (see `benchmarks/bench_export.py`); so is the DataLoader ratio (`NOT_COMPARED`: it
depends on free cores, not on the code), and any ratio whose baseline took under
`MIN_BASELINE_S` (the 1,000-clip build: a 0.05-s scan), and times are never compared.

`.ci/run` calls this after the test suite; `make test` does not (its result must not depend on
machine load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from .common import Figure, goal_of, summary_table

REFERENCE = Path(__file__).with_name("regression_reference.json")
#: A ratio may be this much worse than its reference before the check fails.
MARGIN = 0.5


def measure(work: Path) -> list[Figure]:
    """The ratio figures of the check, measured in `work` (a scratch folder)."""
    from dinos.loaders.dinos import PRETRAIN_DIR

    from . import bench_loading, bench_prepare, bench_training
    from .corpus import write_pretrain_corpus

    for sub in ("loading", "prepare"):
        (work / sub).mkdir()
    figs = [f for f in bench_loading.run(work / "loading", quick=True, repeats=3) if f.met is not None]
    root = work / "training_corpus"
    write_pretrain_corpus(root, 0.05)
    sources = sorted((root / PRETRAIN_DIR).rglob("*.wav"))[:4]
    figs += [f for f in bench_training.shuffle_figures(work, sources, True, 3) if f.met is not None]
    figs += [f for f in bench_training.loader_figures(work, sources, True, 3)[0] if f.met is not None]
    figs += [f for f in bench_prepare.run(work / "prepare", quick=True, repeats=1) if f.met is not None]
    return figs


#: A ratio whose baseline took less than this (seconds) is printed but not compared: too short to time.
MIN_BASELINE_S = 0.25


#: Printed, never compared: the DataLoader ratio depends on how many cores are free (2 workers and the
#: main process on a 2-core runner): it moved from 0.52 to 2.28 x between runs of the same code.
NOT_COMPARED = frozenset({"ratio DataLoader 2 workers / in-process loop"})


def comparable(f: Figure) -> bool:
    """A ratio (unit "x") with a numeric goal whose baseline is long enough to time (not in `NOT_COMPARED`)."""
    if f.unit != "x" or goal_of(f.target) is None or f.name in NOT_COMPARED:
        return False
    return not (f.basis == "s" and f.baseline is not None and f.baseline < MIN_BASELINE_S)


def compare(figures: list[Figure], reference: dict[str, float], margin: float = MARGIN) -> list[str]:
    """Lines naming each comparable figure that regressed beyond `margin` against `reference`."""
    bad = []
    for f in figures:
        if not comparable(f):
            continue
        ref, goal = reference.get(f.name), goal_of(f.target)
        if ref is None or goal is None:
            continue
        higher_is_better = goal[0].startswith(">")
        limit = ref * margin if higher_is_better else ref / margin
        if (f.value < limit) if higher_is_better else (f.value > limit):
            bad.append(f"{f.name}: {f.value:.3g} {f.unit}, reference {ref:.3g}, limit {limit:.3g} "
                       f"({'at least' if higher_is_better else 'at most'}; goal {f.target})")
    return bad


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="record the measured ratios as the new reference")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --update: measure this many times and record each ratio's worst value")
    parser.add_argument("--reference", default=str(REFERENCE), help="reference JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    warnings.filterwarnings("ignore")
    import datasets

    datasets.disable_progress_bars()
    worst: dict[str, float] = {}
    for _ in range(max(1, args.rounds) if args.update else 1):
        work = Path(tempfile.mkdtemp(prefix="dinos-regression-"))
        t0 = time.perf_counter()
        try:
            figures = measure(work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(summary_table(figures))
        print(f"({time.perf_counter() - t0:.0f} s)")
        for f in figures:
            up = (goal_of(f.target) or (">=", 0))[0].startswith(">")
            old = worst.get(f.name)
            worst[f.name] = f.value if old is None else (min(old, f.value) if up else max(old, f.value))
    path = Path(args.reference)
    if args.update:
        path.write_text(json.dumps({k: round(v, 4) for k, v in worst.items()}, indent=1) + "\n", encoding="utf-8")
        print(f"reference written (worst of {max(1, args.rounds)} run(s) per ratio): {path}")
        return 0
    reference = json.loads(path.read_text(encoding="utf-8"))
    missing = sorted({f.name for f in figures if comparable(f)} - set(reference))
    if missing:
        print(f"not in the reference (not compared; run --update): {missing}")
    bad = compare(figures, reference)
    if bad:
        print("performance regression (ratio worse than the reference by more than the margin):", file=sys.stderr)
        for line in bad:
            print("  " + line, file=sys.stderr)
        return 1
    n = sum(comparable(f) for f in figures) - len(missing)
    print(f"no regression: {n} ratios within {MARGIN:g}x of their reference (times and ratios of sub-"
          f"{MIN_BASELINE_S:g}-s baselines are printed, not compared)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
