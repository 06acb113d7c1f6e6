"""`dinos demo`: the main job end to end on the built-in synthetic corpora."""

from __future__ import annotations

from ._args import out_dir, positive_int

HELP = "synthesise every corpus, build every config, print a summary, short IMPACT pretraining + benchmark"


def add_arguments(p) -> None:
    p.add_argument("--out", default=".demo", type=out_dir, help="working directory (default .demo)")
    p.add_argument("--force", action="store_true", help="replace a previous demo in --out")
    p.add_argument("--no-model", action="store_true", help="skip the IMPACT pretraining and benchmark")
    p.add_argument("--steps", type=positive_int, default=None, help="pretraining steps (default: the demo preset)")
    p.add_argument("--cache-dir", default=None, help="datasets cache (default <out>/cache)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from ..demo import run_demo

    text = run_demo(args.out, force=args.force, model=not args.no_model, steps=args.steps,
                    cache_dir=args.cache_dir, progress=not args.quiet)
    print(text)
    return 0
