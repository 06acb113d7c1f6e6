"""Maintainer entry point: pretrain (optional) and benchmark IMPACT against the log-Mel baseline.

    python recipes/benchmark.py --data-dir DINOS --run runs/impact --out results/          # existing run
    python recipes/benchmark.py --data-dir DINOS --pretrain --preset paper --out results/   # pretrain first
    python recipes/benchmark.py --demo --data-dir SYNTH --out demo/                         # the CPU demo

Writes results.json, results.csv, table3.md, table4.md and plots/ under --out (see docs/benchmark.md).
The recipe runs `dinos pretrain` and `dinos benchmark` (same options, checks and exit codes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True, help="DINOS tree (real or `dinos synth dinos`)")
    p.add_argument("--out", required=True)
    p.add_argument("--run", default=None, help="existing IMPACT run folder")
    p.add_argument("--pretrain", action="store_true", help="pretrain on DINOS_Pretrain first (run in OUT/run)")
    p.add_argument("--preset", choices=["paper", "tiny"], default="paper")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--demo", action="store_true", help="the short CPU demo (tiny model, few steps)")
    p.add_argument("--steps", type=int, default=100, help="demo pretraining steps")
    p.add_argument("--device", default="auto")
    p.add_argument("--splits-dir", default=None)
    p.add_argument("--cache-dir", default=None)
    args = p.parse_args(argv)

    from dinos.cli import main as dinos

    out = Path(args.out)
    if args.demo:  # the short CPU demo of the model (no CLI command of its own: `dinos demo` runs it too)
        from dinos.model.benchmark import run_demo

        print(run_demo(args.data_dir, out, steps=args.steps, cache_dir=args.cache_dir, splits_dir=args.splits_dir))
        return 0
    common = [*(["--cache-dir", args.cache_dir] if args.cache_dir else [])]
    run = args.run
    if args.pretrain:
        run = str(out / "run")
        code = dinos(["pretrain", "--corpus", "dinos", "--config", "pretraining", "--data-dir", args.data_dir,
                      "--out", run, "--preset", args.preset, "--device", args.device, *common,
                      *(["--max-steps", str(args.max_steps)] if args.max_steps else [])])
        if code:
            return code
    device = args.device
    if device == "auto":
        from dinos.model.train import resolve_device

        device = str(resolve_device(device))
    return dinos(["benchmark", *([str(run)] if run else []), "--data-dir", args.data_dir, "--out", str(out),
                  "--device", device, *common, *(["--splits-dir", args.splits_dir] if args.splits_dir else [])])


if __name__ == "__main__":
    sys.exit(main())
