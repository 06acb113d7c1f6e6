#!/usr/bin/env python
"""Regenerate (or check) the fixed Monte Carlo split files of a corpus.

    # maintainer, real data: write splits/real/dinos/*.json
    python recipes/make_splits.py --corpus dinos --data-dir /data/DINOS --out splits/

    # the committed synthetic files: synthesise `dinos synth dinos` (seed 0, default scale) and write
    python recipes/make_splits.py --corpus dinos --variant synthetic --out splits/

    # CI drift check: regenerate the synthetic files in a temp dir, compare with the committed ones
    python recipes/make_splits.py --corpus dinos --check

Exit 0 on success; 1 with a diff summary when --check finds a difference; 1 on any error
(a `dinos.errors.DinosError` naming the file and the reason).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, choices=("dinos",), help="corpus whose tasks get split files")
    p.add_argument("--data-dir", default=None, help="the corpus on disk (default: synthesise it, variant synthetic)")
    p.add_argument("--out", default=str(REPO / "splits"), help="split-file root (files go to OUT/<variant>/<corpus>/)")
    p.add_argument("--variant", choices=("synthetic", "real"), default=None,
                   help="default: real with --data-dir, synthetic without")
    p.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    p.add_argument("--check", action="store_true",
                   help="regenerate into a temp dir and compare with the files under --out; write nothing")
    p.add_argument("--allow-missing-class", action="store_true",
                   help="write a task's file even when some of its classes have no rows (listed in the file)")
    p.add_argument("--cache-dir", default=None, help="datasets cache (default: a temp dir, removed afterwards)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    variant = args.variant or ("real" if args.data_dir else "synthetic")
    if args.data_dir is None and variant != "synthetic":
        print("make_splits: --variant real needs --data-dir (the real corpus)", file=sys.stderr)
        return 2

    from dinos import splits
    from dinos.errors import DinosError
    from dinos.io import cleanup_on_sigterm, scratch_dir

    # scratch folder removed on exit and on SIGTERM; one left by a SIGKILLed run is removed by the next
    with cleanup_on_sigterm(), scratch_dir("dinos-make-splits") as tmp:
        try:
            if args.data_dir is None:
                from dinos.synth.dinos import write

                data_dir = tmp / "corpus"
                print(f"synthesising {splits.SYNTHETIC_SOURCE} into {data_dir} ...", file=sys.stderr)
                # split files depend on file names only: silent audio, no pretraining recordings
                write(data_dir, seed=splits.SYNTHETIC_SOURCE["seed"], progress=False, silent=True, pretrain_recordings=0)
                source = dict(splits.SYNTHETIC_SOURCE)
            else:
                data_dir = Path(args.data_dir)
                source = dict(splits.SYNTHETIC_SOURCE) if variant == "synthetic" else {
                    "corpus": "DINOS", "rows": "published train and test folders pooled"}
            out = tmp / "regenerated" if args.check else Path(args.out)
            written = splits.make_split_files(
                args.corpus, data_dir, out, variant=variant, source=source, tasks=args.task,
                cache_dir=args.cache_dir or str(tmp / "cache"), allow_missing_class=args.allow_missing_class,
            )
        except DinosError as exc:
            print(f"make_splits: error: {exc}", file=sys.stderr)
            return 1
        if not args.check:
            for p in written:
                rec = splits.load_split_file(p)
                print(f"wrote {p}  ({rec['manifest']['clips']} clips, manifest {rec['manifest']['sha256'][:12]})")
            return 0
        sub = Path(variant) / args.corpus
        committed = Path(args.out) / sub
        if args.task:  # compare only the files regenerated
            names = {p.name for p in written}
            problems = [d for d in splits.compare_split_dirs(committed, out / sub) if d.split(":")[0] in names]
        else:
            problems = splits.compare_split_dirs(committed, out / sub)
        if problems:
            print(f"split files under {committed} differ from a fresh regeneration:", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            print("regenerate with: python recipes/make_splits.py --corpus dinos"
                  + (" --variant synthetic" if variant == "synthetic" else f" --data-dir {args.data_dir}")
                  + f" --out {args.out}", file=sys.stderr)
            return 1
        print(f"{len(written)} split file(s) under {committed} match a fresh regeneration.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
