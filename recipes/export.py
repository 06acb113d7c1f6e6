"""Maintainer recipe: export every config of a corpus for the Hub, validate, optionally push.

    python recipes/export.py dinos --data-dir /data/DINOS --out /tmp/dinos-hub [--configs yornew vf2]
        [--segment 1] [--max-shard-mb 500] [--overwrite] [--push ORG/NAME [--dry-run]]

Default configs: `dinos.cards.hub_configs(corpus)` (every distinct config, no union duplicating them).
"""

from __future__ import annotations

import argparse
import sys

from dinos.cards import hub_configs
from dinos.errors import DinosError
from dinos.export import DEFAULT_MAX_SHARD_MB, export, validate_export
from dinos.loaders import corpus_names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", choices=corpus_names())
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--configs", nargs="*", default=None)
    p.add_argument("--segment", default=None)
    p.add_argument("--max-shard-mb", type=float, default=DEFAULT_MAX_SHARD_MB)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--push", metavar="REPO_ID", default=None, help="push the export to this dataset repo")
    p.add_argument("--dry-run", action="store_true", help="with --push: only list what would be uploaded")
    args = p.parse_args(argv)
    configs = args.configs or hub_configs(args.corpus)
    kwargs = {"segment": args.segment} if args.segment else {}
    try:
        export(args.corpus, configs, data_dir=args.data_dir, out=args.out, overwrite=args.overwrite,
               max_shard_mb=args.max_shard_mb, progress=lambda line: print(line, file=sys.stderr), **kwargs)
        problems = validate_export(args.out)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        if args.push:
            from dinos.hub import push_export

            result = push_export(args.out, args.push, dry_run=args.dry_run)
            print(result.plan.describe())
    except DinosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
