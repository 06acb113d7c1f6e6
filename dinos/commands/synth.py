"""`dinos synth CORPUS --out DIR`: write a miniature, physically plausible copy of a corpus."""

from __future__ import annotations

import importlib

HELP = "write a miniature synthetic corpus (dinos, mimii_due, dcase, mimii, folder) in its published layout"
SYNTH_MODULES = {"dinos": "dinos.synth.dinos", "mimii_due": "dinos.synth.mimii_due", "dcase": "dinos.synth.dcase",
                 "mimii": "dinos.synth.mimii", "folder": "dinos.synth.folder"}


def add_arguments(p) -> None:
    p.add_argument("corpus", choices=sorted(SYNTH_MODULES), help="which corpus layout to write")
    p.add_argument("--out", required=True, help="output directory (must be empty or absent)")
    p.add_argument("--scale", type=float, default=None, help="size relative to the default miniature")
    p.add_argument("--seed", type=int, default=0, help="random seed (output is deterministic per seed)")
    p.add_argument("--year", type=int, default=None, help="DCASE challenge year (dcase only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    mod = importlib.import_module(SYNTH_MODULES[args.corpus])
    opts = {"seed": args.seed, "progress": not args.quiet}
    if args.scale is not None:
        opts["scale"] = args.scale
    if args.year is not None:
        if args.corpus != "dcase":
            raise SystemExit("--year applies to `dinos synth dcase` only")
        opts["year"] = args.year
    summary = mod.write(args.out, **opts)
    print(summary)
    return 0
