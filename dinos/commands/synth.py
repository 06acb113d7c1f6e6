"""`dinos synth CORPUS --out DIR`: write a miniature, physically plausible copy of a corpus.

The generator of a corpus is named by its `CorpusInfo.synth_module`; every registered corpus has one.
`dcase` is accepted as a short name of `dcase_task2`.
"""

from __future__ import annotations

import importlib
import inspect

from ._args import UsageError, add_corpus, corpus_of, nonnegative_int, out_dir, positive_float, positive_int

HELP = "write a miniature synthetic corpus of any registered corpus in its published layout"
def add_arguments(p) -> None:
    add_corpus(p, positional=True, help="which corpus layout to write")
    p.add_argument("--out", required=True, type=out_dir, help="output directory (must be empty or absent)")
    p.add_argument("--scale", type=positive_float, default=None, help="size relative to the default miniature")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (output is deterministic per seed)")
    p.add_argument("--year", type=positive_int, default=None, help="challenge year (per-year corpora, e.g. dcase)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..loaders import corpus_info

    corpus = corpus_of(args)
    mod = importlib.import_module(corpus_info(corpus).synth_module)
    params = inspect.signature(mod.write).parameters
    opts = {"seed": args.seed, "progress": not args.quiet}
    if args.scale is not None:
        opts["scale"] = args.scale
    if args.year is not None:
        if "year" not in params:
            raise UsageError(f"--year does not apply to `dinos synth {corpus}`")
        opts["year"] = args.year
    summary = mod.write(args.out, **opts)
    print(summary)
    return 0
