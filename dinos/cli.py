"""The `dinos` command. Each sub-command lives in `dinos/commands/<name>.py` and exposes

    HELP: str                       one-line help
    add_arguments(parser) -> None   its options (validated by `dinos.commands._args` types)
    run(args) -> int | None         the work (exit code; None = 0)

Commands are discovered from the package, so adding one never touches this file. The CLI only
parses arguments and prints; the work is done by the library.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys
import traceback

from . import __version__
from .errors import DinosError

EXIT_CODES = """exit status:
  0    success
  1    data error: a file is missing, unreadable or not what the corpus documents (the message
       names the file and the reason), or a check found problems; also a command that needs an
       optional extra that is not installed (the message names the pip command)
  2    usage error: a bad option or argument (the message says which)
  130  interrupted (Ctrl-C)"""


def _commands():
    from . import commands

    for mod in pkgutil.iter_modules(commands.__path__):
        if not mod.name.startswith("_"):
            yield mod.name, importlib.import_module(f"{commands.__name__}.{mod.name}")


#: Every parser's help keeps the line breaks of its description and epilog (tables, examples).
FORMATTER = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dinos",
        description="Loaders, splits, cards and the IMPACT reference model for industrial machine sound corpora.",
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"dinos {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an error, also print the full traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in sorted(_commands()):
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _parser=p)
    for p in subparsers(parser):  # the same formatter and exit-status epilog on every level
        p.formatter_class = FORMATTER
        p.epilog = p.epilog or EXIT_CODES
    return parser


def subparsers(parser: argparse.ArgumentParser):
    """Yield every (nested) sub-command parser of `parser`, giving each without a description its help line."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for sub_name, p in action.choices.items():
                if p.description is None:
                    p.description = helps.get(sub_name)
                yield p
                yield from subparsers(p)


def missing_extra(exc: BaseException) -> str | None:
    """The one-line message for an import of a package of the `[model]` extra that is not installed,
    or None. The extra's packages and the distribution name are read from the installed metadata
    (their home is pyproject.toml)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    from importlib import metadata

    dist = (metadata.packages_distributions().get(__package__) or [None])[0]
    try:
        requires = metadata.requires(dist) if dist else None
    except metadata.PackageNotFoundError:
        requires = None
    for extra, names in _extras(requires or []).items():
        if exc.name.split(".")[0] in names:
            target = f"'{dist}[{extra}]'" if dist else f"the [{extra}] extra of dinos"
            return f"{exc.name.split('.')[0]} is not installed: this command needs the [{extra}] extra: " \
                   f"pip install {target}"
    return None


def _extras(requires: list[str]) -> dict[str, set[str]]:
    """{extra: import names of its packages} from `Requires-Dist` lines (`torch>=2.1; extra == "model"`)."""
    import re

    out: dict[str, set[str]] = {}
    for line in requires:
        m = re.match(r"\s*([A-Za-z0-9_.-]+).*;.*extra\s*==\s*[\'\"]([^\'\"]+)", line)
        if m:
            out.setdefault(m.group(2), set()).add(m.group(1).lower().replace("-", "_"))
    return out


def dinos_error(exc: BaseException) -> DinosError | None:
    """The first `DinosError` in `exc`'s chain of causes (`__cause__`, then `__context__`), or None.

    Libraries such as `datasets` wrap the error raised inside a build (`DatasetGenerationError`
    from a `dinos.errors.AudioError`); the user needs the inner one, which names the file.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, DinosError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    from .commands._args import UsageError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)  # usage errors: argparse prints the usage and the reason
    except SystemExit as exc:  # --help, --version (0) or a usage error (2): returned, not raised
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    from .io import cleanup_on_sigterm

    try:
        with cleanup_on_sigterm(), _quiet(getattr(args, "quiet", False)):
            code = args._run(args)  # a terminated run removes its temporary files and folders
    except KeyboardInterrupt:
        print("dinos: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        args._parser.print_usage(sys.stderr)
        print(f"dinos {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line naming file and reason
        found, extra = dinos_error(exc), missing_extra(exc)
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        if extra is not None:  # torch & co. not installed: the pip command, not a traceback
            print(f"dinos {args.command}: error: {extra}", file=sys.stderr)
            return 1
        if found is not None:
            message = str(found)
        elif isinstance(exc, OSError) and exc.filename is not None:
            message = f"{exc.filename}: {exc.strerror or exc}"
        elif isinstance(exc, (OSError, MemoryError)):
            message = f"{type(exc).__name__}: {exc}"
        else:  # not a data error: a bug -- say so, and how to see where
            message = (f"unexpected {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
                       + ("" if args.debug else " (run `dinos --debug ...` for the traceback)"))
        print(f"dinos: error: {message}", file=sys.stderr)
        return 1
    return int(code or 0)


@contextlib.contextmanager
def _quiet(quiet: bool):
    """With `quiet`, no progress bars of `datasets` and `huggingface_hub` while the command runs
    (restored afterwards, so that a caller of `main` keeps its own setting)."""
    if not quiet:
        yield
        return
    import datasets
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    ds_was, hub_was = datasets.is_progress_bar_enabled(), are_progress_bars_disabled()
    datasets.disable_progress_bars()
    disable_progress_bars()
    try:
        yield
    finally:
        if ds_was:
            datasets.enable_progress_bars()
        if not hub_was:
            enable_progress_bars()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
