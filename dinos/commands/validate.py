"""`dinos validate TARGET`: conformance checks.

    dinos validate dinos --data-dir D [--strict] [--quick]   a local DINOS copy vs the paper's Tables 1-2
    dinos validate splits [--splits-dir S]                    the split files' checksums and invariants
    dinos validate export DIR                                 an export's shards (dinos.export.validate_export)

Exit codes: 0 checked (differences from the paper are reported, not errors, unless --strict);
1 corrupt/unreadable files, wrong layout, or (with --strict) any difference; 2 bad arguments
(e.g. a folder that does not exist, or a file where a folder is expected).
The checks live in the library: `dinos.conformance`, `dinos.splits.check_split_files`,
`dinos.export.validate_export`.
"""

from __future__ import annotations

import sys

from ..conformance import check_dinos, format_table  # noqa: F401 - check_dinos re-exported for callers
from ._args import existing_dir

HELP = "check a local DINOS copy against the paper, the split files, or an export"
DESCRIPTION = __doc__


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="target", metavar="TARGET", required=True)
    d = sub.add_parser("dinos", help="compare a local DINOS copy with the paper's Tables 1-2")
    d.add_argument("--data-dir", required=True, type=existing_dir, help="the unpacked DINOS folder")
    d.add_argument("--strict", action="store_true", help="exit 1 on any difference from the paper")
    d.add_argument("--quick", action="store_true", help="count files only; do not read audio headers")
    m = sub.add_parser("mimii_due", help="compare a local MIMII DUE copy's clip counts with the paper's Table 1")
    m.add_argument("--data-dir", required=True, type=existing_dir, help="the unpacked MIMII DUE folder")
    m.add_argument("--strict", action="store_true", help="exit 1 on any difference that is not a known one")
    s = sub.add_parser("splits", help="check every split file's checksum and invariants")
    s.add_argument("--splits-dir", default=None, type=existing_dir, help="split-file root (default: the shipped files)")
    e = sub.add_parser("export", help="check an export directory's shards and checksums")
    e.add_argument("path", type=existing_dir, help="directory written by `dinos export`")


def _run_dinos(args) -> int:
    report = check_dinos(args.data_dir, read_headers=not args.quick)
    print(format_table(report.rows))
    n = len(report.differences)
    print(f"\n{len(report.rows)} figures compared, {n} differ from the paper (marked *)."
          + (" A synthetic copy differs by design." if n else ""))
    if report.corrupt:
        print(f"\n{len(report.corrupt)} unreadable or corrupt file(s):", file=sys.stderr)
        for line in report.corrupt:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 1 if (args.strict and n) else 0


def _run_mimii_due(args) -> int:
    from ..conformance import check_mimii_due, format_count_checks

    checks = check_mimii_due(args.data_dir)
    print(format_count_checks(checks))
    differ = [c for c in checks if c.status == "differs"]
    known = [c for c in checks if c.status not in ("ok", "differs")]
    print(f"\n{len(checks)} figures compared: {len(differ)} differ from Table 1 (marked *), "
          f"{len(known)} match a known discrepancy of the source (the paper is wrong there, not your copy).")
    return 1 if (args.strict and differ) else 0


def _run_splits(args) -> int:
    from ..splits import check_split_files

    results = check_split_files(args.splits_dir)
    bad = [(p, why) for p, why in results if why]
    for p, why in results:
        print(f"{'ok  ' if not why else 'FAIL'} {p}" + (f"\n     {why}" if why else ""))
    print(f"{len(results)} split file(s) checked, {len(bad)} failed.")
    return 1 if bad else 0


def _run_export(args) -> int:
    from ..export import validate_export

    problems = validate_export(args.path)
    for line in problems:
        print(f"FAIL {line}")
    print(f"{args.path}: " + (f"{len(problems)} problem(s)." if problems else "ok."))
    return 1 if problems else 0


def run(args) -> int:
    """Layout and grammar faults raise `DinosError`; the CLI prints file and reason and exits 1."""
    runs = {"dinos": _run_dinos, "mimii_due": _run_mimii_due, "splits": _run_splits, "export": _run_export}
    return runs[args.target](args)
