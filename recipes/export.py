"""Maintainer recipe: export every config of a corpus for the Hub, validate, optionally push.

    python recipes/export.py dinos --data-dir /data/DINOS --out /tmp/dinos-hub [--configs yornew vf2]
        [--segment 1] [--max-shard-mb 500] [--overwrite] [--push ORG/NAME [--dry-run]]

Default configs: `dinos.cards.hub_configs(corpus)` (every distinct config, no union duplicating them).
The recipe only chooses the configs: it runs `dinos export`, `dinos validate export` and `dinos push`
(same options, checks and exit codes as the commands).
"""

from __future__ import annotations

import argparse
import sys

from dinos.cli import main as dinos


def main(argv: list[str] | None = None) -> int:
    from dinos.cards import hub_configs
    from dinos.commands._args import corpus_name

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("corpus", type=corpus_name)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--configs", nargs="*", default=None)
    p.add_argument("--segment", default=None)
    p.add_argument("--max-shard-mb", default=None)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--push", metavar="REPO_ID", default=None, help="push the export to this dataset repo")
    p.add_argument("--dry-run", action="store_true", help="with --push: only list what would be uploaded")
    args = p.parse_args(argv)
    cmd = ["export", args.corpus, *(args.configs or hub_configs(args.corpus)), "--data-dir", args.data_dir,
           "--out", args.out]
    cmd += ["--segment", args.segment] if args.segment else []
    cmd += ["--max-shard-mb", args.max_shard_mb] if args.max_shard_mb else []
    cmd += ["--overwrite"] if args.overwrite else []
    code = dinos(cmd) or dinos(["validate", "export", args.out])
    if code or not args.push:
        return code
    return dinos(["push", args.out, "--repo-id", args.push, *(["--dry-run"] if args.dry_run else [])])


if __name__ == "__main__":
    sys.exit(main())
