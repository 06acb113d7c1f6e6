"""`dinos export CORPUS CONFIG... --data-dir D --out DIR`: Hub-ready Parquet shards plus a card."""

from __future__ import annotations

import sys

from ..export import DEFAULT_MAX_SHARD_MB, DEFAULT_ROW_GROUP_MB
from ._args import (
    UsageError,
    add_corpus,
    corpus_of,
    did_you_mean,
    duration,
    existing_dir,
    normalization,
    out_dir,
    positive_float,
)

HELP = "export configs of a corpus as Parquet shards (audio embedded) with a dataset card"


def add_arguments(p) -> None:
    from ..loaders import corpus_names

    add_corpus(p, positional=True, names=[*corpus_names(), "images"],
               help="which corpus (images: log-Mel PNGs of a corpus, see `dinos export images --help`)")
    p.add_argument("configs", nargs="*", metavar="CONFIG", help="config name(s) to export (at least one)")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="the unpacked corpus (published layout)")
    p.add_argument("--out", required=True, type=out_dir,
                   help="output directory: new, empty, or a previous export (with --overwrite); never inside "
                        "--data-dir")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a previous export in --out (only files it wrote, and only if not edited since)")
    p.add_argument("--max-shard-mb", type=positive_float, default=DEFAULT_MAX_SHARD_MB,
                   help=f"approximate upper bound of one Parquet shard (default {DEFAULT_MAX_SHARD_MB:g})")
    p.add_argument("--row-group-mb", type=positive_float, default=DEFAULT_ROW_GROUP_MB,
                   help=f"approximate upper bound of one row group (default {DEFAULT_ROW_GROUP_MB:g})")
    p.add_argument("--segment", default=None, type=duration, help="window length (e.g. 1 or 1s); default one row per file")
    p.add_argument("--hop", default=None, type=duration, help="window hop (default = segment)")
    p.add_argument("--tail", default=None, choices=["drop", "pad", "keep"], help="partial last window policy")
    p.add_argument("--normalize", default=None, type=normalization, help="store per-recording statistics (rms, zscore, rms+zscore)")
    p.add_argument("--no-strict", action="store_true", help="unknown folder names warn instead of failing")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip unreadable/invalid audio instead of failing; every skipped file and the reason "
                        "are printed")
    p.add_argument("--cache-dir", default=None, type=out_dir, help="datasets cache directory")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    from ._own import add_export_images_arguments  # `dinos export images CORPUS [CONFIG]` (dinos.images)

    add_export_images_arguments(p)


def run(args) -> int:
    configs = list(args.configs)
    args.corpus = corpus_of(args, configs)
    args.configs = configs
    if not configs:
        raise UsageError("name at least one CONFIG to export")
    if args.corpus == "images":  # log-Mel PNGs (dinos.images)
        from ._own import run_export_images

        return run_export_images(args)
    from ..export import export
    from ..loaders import builder_class

    known = [c.name for c in builder_class(args.corpus).BUILDER_CONFIGS]
    for c in args.configs:
        if c not in known:
            raise UsageError(f"{args.corpus} has no config {c!r}{did_you_mean(c, known)} (known: {', '.join(known)})")
    kwargs = {k: getattr(args, k) for k in ("segment", "hop", "tail", "normalize") if getattr(args, k) is not None}
    if args.no_strict:
        kwargs["strict"] = False
    if args.skip_invalid:
        kwargs["skip_invalid"] = True
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    manifest = export(
        args.corpus,
        args.configs,
        data_dir=args.data_dir,
        out=args.out,
        overwrite=args.overwrite,
        max_shard_mb=args.max_shard_mb,
        row_group_mb=args.row_group_mb,
        cache_dir=args.cache_dir,
        progress=progress,
        **kwargs,
    )
    for config, splits in manifest.configs.items():
        for split, info in splits.items():
            print(f"{config}/{split}: {info.num_rows} rows, {len(info.shards)} shard(s), {info.num_bytes:,} bytes")
    for config, skipped in manifest.skipped.items():
        if skipped:
            print(f"{config}: skipped {len(skipped)} invalid file(s):", file=sys.stderr)
            for entry in skipped:
                print(f"  {entry['path']}: {entry['reason']}", file=sys.stderr)
    print(f"wrote {args.out} (load with datasets.load_dataset({args.out!r}, {args.configs[0]!r}))")
    return 0
