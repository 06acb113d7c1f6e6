"""`dinos export CORPUS CONFIG... --data-dir D --out DIR`: Hub-ready Parquet shards plus a card."""

from __future__ import annotations

import sys

from ..export import DEFAULT_MAX_SHARD_MB, DEFAULT_ROW_GROUP_MB

HELP = "export configs of a corpus as Parquet shards (audio embedded) with a dataset card"


def add_arguments(p) -> None:
    from ..loaders import corpus_names

    p.add_argument("corpus", choices=[*corpus_names(), "images"], help="which corpus (images: log-Mel PNGs)")
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="config name(s) to export")
    p.add_argument("--data-dir", required=True, help="the unpacked corpus (published layout)")
    p.add_argument("--out", required=True, help="output directory (must be empty unless --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a previous export in --out (only files it wrote are removed)")
    p.add_argument("--max-shard-mb", type=float, default=DEFAULT_MAX_SHARD_MB,
                   help=f"approximate upper bound of one Parquet shard (default {DEFAULT_MAX_SHARD_MB:g})")
    p.add_argument("--row-group-mb", type=float, default=DEFAULT_ROW_GROUP_MB,
                   help=f"approximate upper bound of one row group (default {DEFAULT_ROW_GROUP_MB:g})")
    p.add_argument("--segment", default=None, help="window length (e.g. 1 or 1s); default one row per file")
    p.add_argument("--hop", default=None, help="window hop (default = segment)")
    p.add_argument("--tail", default=None, choices=["drop", "pad", "keep"], help="partial last window policy")
    p.add_argument("--normalize", default=None, help="store per-recording statistics (rms, zscore, rms+zscore)")
    p.add_argument("--no-strict", action="store_true", help="unknown folder names warn instead of failing")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip unreadable/invalid audio instead of failing; every skipped file and the reason "
                        "are printed and listed in the skip report (JSON lines)")
    p.add_argument("--cache-dir", default=None, help="datasets cache directory")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    from ._own import add_export_images_arguments  # `dinos export images CORPUS [CONFIG]` (dinos.images)

    add_export_images_arguments(p)


def run(args) -> int:
    if args.corpus == "images":  # log-Mel PNGs (dinos.images)
        from ._own import run_export_images

        return run_export_images(args)
    from ..export import export

    kwargs = {k: getattr(args, k) for k in ("segment", "hop", "tail", "normalize") if getattr(args, k) is not None}
    if args.no_strict:
        kwargs["strict"] = False
    reports = []
    if args.skip_invalid:
        kwargs["skip_invalid"] = True
        reports = _fresh_skip_reports(args, kwargs)
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
    if reports:
        _print_skips(reports)
    print(f"wrote {args.out} (load with datasets.load_dataset({args.out!r}, {args.configs[0]!r}))")
    return 0


def _fresh_skip_reports(args, kwargs: dict) -> list:
    """The skip-report file of each config's build, emptied so that it lists this run's skips only."""
    from ..api import get_builder
    from ..builder import skip_report_path

    reports = []
    for config in args.configs:
        builder = get_builder(args.corpus, config, data_dir=args.data_dir, cache_dir=args.cache_dir, **kwargs)
        path = skip_report_path(builder)
        path.unlink(missing_ok=True)
        reports.append(path)
    return reports


def _print_skips(reports: list) -> None:
    import json

    for path in reports:
        if not path.is_file():
            continue
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        print(f"skipped {len(lines)} invalid file(s) (report: {path}):", file=sys.stderr)
        for entry in lines:
            print(f"  {entry['path']}: {entry['reason']}", file=sys.stderr)
