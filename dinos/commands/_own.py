"""Options and runners of the own-data commands, kept out of the shared command modules (whose hunks
only add a choice and dispatch here):

    dinos score asd --scores CSV [--splits FILE] [--data-dir D] [--rule R] [--positive P] ...
    dinos splits make --corpus C [--config N] --data-dir D --protocol asd|holdout|kfold --out FILE ...
    dinos export images CORPUS [CONFIG] --data-dir D --out DIR [--splits FILE] [--channel 0] ...

The work is in `dinos.metrics.decisions`, `dinos.protocols` and `dinos.images`. Not a command itself (the
leading underscore keeps `dinos.cli` from registering it).
"""

from __future__ import annotations

import json
import sys

from ._args import (
    UsageError,
    corpus_name,
    finite_float,
    fraction,
    nonnegative_int,
    positive_int,
    unit_fraction,
)


# ------------------------------------------------------------------------------------------------
# dinos score asd
# ------------------------------------------------------------------------------------------------
def add_score_asd_arguments(p) -> None:
    from ..metrics.decisions import POSITIVE_CLASSES, RULES

    g = p.add_argument_group("asd (own data: dinos.metrics.decisions)")
    g.add_argument("--splits", default=None, help="asd: protocol split file (threshold on validation, applied to test)")
    g.add_argument("--corpus", "--dataset", dest="dataset", type=corpus_name, default="folder", metavar="NAME",
                   help="asd without --splits: the corpus built from --data-dir (default folder)")
    g.add_argument("--config", default=None, help="asd without --splits: its config")
    g.add_argument("--fold", type=nonnegative_int, default=0, help="asd: fold of the split file")
    g.add_argument("--rule", choices=RULES, default="min-error", help="asd: how the threshold is chosen")
    g.add_argument("--target", type=unit_fraction, default=None, help="asd: target recall of the positive class (--rule recall)")
    g.add_argument("--threshold", type=finite_float, default=None, help="asd: a given threshold (--rule value)")
    g.add_argument("--positive", choices=POSITIVE_CLASSES, default="anomaly",
                   help="asd: the positive class of precision/recall/F1 (the AWS blog's figures use normal)")
    g.add_argument("--tune-on-test", action="store_true",
                   help="asd without a validation side: choose the threshold on the test clips (optimistic)")
    g.add_argument("--max-fpr", type=unit_fraction, default=0.1, help="asd: pAUC range")
    g.add_argument("--sweep", type=_sweep, default=None, metavar="LO:HI:STEP",
                   help="asd: choose the threshold by --rule among LO, LO+STEP, ..., HI only (a sweep; the AWS "
                        "blog swept 5:10:0.1 and kept 6.3), instead of every midpoint between scores; counted on "
                        "the decimals as written; a negative LO goes after '=': --sweep=-2:1:0.5")
    g.add_argument("--section", type=nonnegative_int, action="append", default=None,
                   help="asd without --splits: only the test clips of this section (repeatable; e.g. MIMII DUE's "
                        "00-02, which `dinos benchmark --model` scores)")


def _sweep(text: str) -> str:
    """`--sweep` checked by the parser (a bad grid is a usage error, exit 2)."""
    import argparse

    from ..metrics.decisions import DecisionError, threshold_grid

    try:
        threshold_grid(text)
    except DecisionError as exc:
        raise argparse.ArgumentTypeError(exc.reason if hasattr(exc, "reason") else str(exc)) from None
    return text


def run_score_asd(args) -> int:
    from ..io import write_json
    from ..metrics.decisions import score_asd, threshold_grid

    rule = "value" if args.threshold is not None and args.rule == "min-error" else args.rule
    grid = None
    if args.splits and getattr(args, "section", None):
        raise UsageError("--section selects test clips without --splits (a split file names its own)")
    if getattr(args, "sweep", None) is not None:
        if rule == "value":
            raise UsageError("--sweep chooses the threshold; it cannot be combined with --threshold")
        grid = threshold_grid(args.sweep)
    reports = score_asd(args.scores, split_file=args.splits, data_dir=args.data_dir, corpus=args.dataset,
                        config=args.config, fold=args.fold, rule=rule, target=args.target, value=args.threshold,
                        positive=args.positive, tune_on_test=args.tune_on_test, max_fpr=args.max_fpr,
                        cache_dir=args.cache_dir, grid=grid, sections=getattr(args, "section", None))
    if grid is not None:
        print(f"threshold swept over {len(grid)} values {grid[0]:g} .. {grid[-1]:g} (rule {rule})")
    for side, rep in reports.items():
        print(rep.to_text(side))
        print()
    if args.out:
        sweep = {} if grid is None else {"sweep": {"spec": args.sweep, "thresholds": len(grid)}}
        write_json(args.out, {**{side: rep.to_dict() for side, rep in reports.items()}, **sweep})
    return 0


# ------------------------------------------------------------------------------------------------
# dinos splits make
# ------------------------------------------------------------------------------------------------
def add_splits_make_parser(sub) -> None:
    from ..protocols import PROTOCOLS

    m = sub.add_parser("make", help="write a protocol split file (asd, holdout, kfold) for a corpus without splits")
    from ._args import add_corpus

    add_corpus(m, help="corpus to build (folder, mimii, ...)")
    m.add_argument("--config", default=None, help="builder config (default: the corpus' only/first one)")
    m.add_argument("--data-dir", required=True, help="the corpus folder")
    m.add_argument("--protocol", choices=PROTOCOLS, required=True, help="how clips are split (docs/protocols.md)")
    m.add_argument("--out", required=True, help="split file to write (JSON)")
    m.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the split (default 0)")
    m.add_argument("--test-fraction", type=fraction, default=0.2, help="holdout: share of each stratum in test")
    m.add_argument("--folds", type=positive_int, default=5, help="kfold: number of folds")
    m.add_argument("--validation", type=fraction, default=0.0, help="asd: share of the anomalies used for validation")
    m.add_argument("--segment", default=None, help="window length (e.g. 1s); default one row per file")
    m.add_argument("--hop", default=None, help="window hop (default = --segment)")
    m.add_argument("--tail", default=None, choices=["drop", "pad", "keep"], help="partial last window policy")
    m.add_argument("--manifest", default=None, help="folder corpus: a manifest CSV/Parquet")
    m.add_argument("--label-map", default=None, help='folder corpus: JSON, e.g. {"cavitation": "anomaly"}')
    m.add_argument("--cache-dir", default=None, help="datasets cache folder")
    m.add_argument("--overwrite", action="store_true", help="replace an existing split file")
    m.add_argument("--quiet", action="store_true", help="no progress bars while the corpus is built")


def folder_options(args) -> dict:
    """Builder options of the own-data commands (only those given)."""
    out = {k: getattr(args, k, None) for k in ("segment", "hop", "tail", "manifest")}
    if getattr(args, "label_map", None):
        out["labels"] = json.loads(args.label_map)
    return {k: v for k, v in out.items() if v is not None}


def run_splits_make(args) -> int:
    from ..protocols import make, side_clips

    record = make(args.corpus, args.data_dir, args.out, protocol=args.protocol, config=args.config, seed=args.seed,
                  test_fraction=args.test_fraction, folds=args.folds, validation_fraction=args.validation,
                  cache_dir=args.cache_dir, overwrite=args.overwrite, **folder_options(args))
    for k, _ in enumerate(record["folds"]):
        sizes = []
        for side in ("train", "validation", "test"):
            clips = side_clips(record, side, k)
            if clips:
                n_anom = sum(v == "anomaly" for v in clips.values())
                sizes.append(f"{side} {len(clips)} ({n_anom} anomalous)")
        print(f"fold {k}: " + ", ".join(sizes))
    print(f"wrote {args.out} (protocol {record['protocol']}, manifest {record['manifest']['sha256'][:12]})")
    return 0


# ------------------------------------------------------------------------------------------------
# dinos export images
# ------------------------------------------------------------------------------------------------
def add_export_images_arguments(p) -> None:
    g = p.add_argument_group("images (log-Mel PNGs: dinos.images)")
    g.add_argument("--splits", default=None, help="images: a protocol split file; its sides become a `side` column")
    g.add_argument("--side", action="append", default=None, help="images: only this split/side (repeatable)")
    g.add_argument("--fold", type=nonnegative_int, default=0, help="images: fold of the split file (default 0)")
    g.add_argument("--channel", type=nonnegative_int, default=0, help="images: which channel (default 0)")
    g.add_argument("--n-mels", type=positive_int, default=64, help="images: Mel bands (default 64)")
    g.add_argument("--n-fft", type=positive_int, default=1024, help="images: FFT length in samples (default 1024)")
    g.add_argument("--hop-samples", type=positive_int, default=512, help="images: STFT hop in samples (default 512)")


def run_export_images(args) -> int:
    from ..images import export_corpus_images

    if not args.configs:
        raise SystemExit("dinos export images: name the corpus (and optionally a config)")
    corpus, config = args.configs[0], (args.configs[1] if len(args.configs) > 1 else None)
    path = export_corpus_images(corpus, args.out, data_dir=args.data_dir, config=config, split_file=args.splits,
                                sides=args.side, fold=args.fold, channel=args.channel, cache_dir=args.cache_dir,
                                overwrite=args.overwrite, n_mels=args.n_mels, n_fft=args.n_fft, hop=args.hop_samples)
    n = sum(1 for _ in open(path, encoding="utf-8")) - 1
    print(f"wrote {n} images and {path}", file=sys.stdout)
    return 0
