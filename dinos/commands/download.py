"""`dinos download CORPUS --out DIR`: the official archives, verified and unpacked into the loader's layout."""

from __future__ import annotations

HELP = "download a corpus' official archives (resumable, verified) and unpack them into the loader's layout"
DESCRIPTION = """Download the official archives of a corpus (DCASE Task 2 per year from Zenodo, MIMII DUE,
DINOS from Harvard Dataverse), verify size and md5 where the publisher gives one, and unpack them into
exactly the layout `dinos.load_dataset` reads. Interrupted downloads resume (HTTP Range); a rerun skips
what is done. --mirror URL fetches the same paths from another server (e.g. a local copy).

Exit codes: 0 done; 1 a download, checksum or unpack failed (the message names the archive); 2 usage."""


def add_arguments(p) -> None:
    from ._args import add_corpus, out_dir, positive_int

    add_corpus(p, positional=True, help="which corpus")
    p.add_argument("--out", required=True, type=out_dir, help="target folder (created; existing files are never replaced)")
    p.add_argument("--year", type=positive_int, default=None, help="challenge year (dcase_task2: required)")
    p.add_argument("--machines", nargs="+", default=None, metavar="MACHINE", help="only these machine types")
    p.add_argument("--part", action="append", default=None, dest="parts",
                   help="only these parts (dev, eval, ...; repeatable)")
    p.add_argument("--mirror", default=None, help="http(s) URL of a mirror serving the same paths")
    p.add_argument("--keep-archives", action="store_true", help="keep the downloaded zip files")
    p.add_argument("--list", action="store_true", help="list the selected archives and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from ..download import download, resolve_url, select
    from ..loaders import corpus_info
    from ._args import corpus_of

    info = corpus_info(corpus_of(args))
    if args.list:
        for a in select(info, year=args.year, machines=args.machines, parts=args.parts):
            size = f"{a.size:,} B" if a.size else "size unpublished"
            md5 = a.md5 or "md5 unpublished"
            print(f"{a.part or '-':<10} {a.machine or '-':<14} {resolve_url(a.url, args.mirror)}  ({size}, {md5}) -> {a.unpack_to or '.'}")
        return 0
    report = download(info, args.out, year=args.year, machines=args.machines, parts=args.parts,
                      mirror=args.mirror, keep_archives=args.keep_archives, progress=not args.quiet)
    print(report)
    return 0
