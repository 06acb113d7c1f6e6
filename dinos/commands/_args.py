"""Shared `argparse` validators: every option is checked by the parser, so bad arguments are usage
errors (exit 2, with the usage line) before any work starts. Each is a `type=` callable that raises
`argparse.ArgumentTypeError` with the reason.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import DinosError

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class UsageError(DinosError):
    """A combination of arguments the parser cannot check on its own; the CLI exits 2 with the usage."""


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def number(kind: type, *, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False, name: str | None = None) -> Callable[[str], int | float]:
    """A `type=` for an int or a finite float within the given bounds (each optional, closed unless
    `*_open`): `number(int, low=0, low_open=True)` accepts 1, 2, ... and refuses '0' with the reason."""
    noun = "integer" if kind is int else "number"
    if low is not None and high is not None:
        rule = f"must be in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low == 0 and low_open:
        rule = f"must be a positive {noun}"
    elif low is not None:
        rule = f"must be {'an' if kind is int else 'a'} {noun} {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        rule = f"must be {'an' if kind is int else 'a'} {noun} {'<' if high_open else '<='} {high:g}"
    else:
        rule = ""

    def check(text: str) -> int | float:
        value = _number(text, kind)
        if (low is not None and (value <= low if low_open else value < low)) or (
                high is not None and (value >= high if high_open else value > high)):
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
        return value

    check.__name__ = name or kind.__name__
    check.__doc__ = f"{'An integer' if kind is int else 'A finite number'}{': ' + rule[len('must be '):] if rule else ''}."
    return check


positive_int = number(int, low=0, low_open=True, name="positive_int")
nonnegative_int = number(int, low=0, name="nonnegative_int")
finite_float = number(float, name="finite_float")
positive_float = number(float, low=0, low_open=True, name="positive_float")
nonnegative_float = number(float, low=0, name="nonnegative_float")
unit_fraction = number(float, low=0, high=1, low_open=True, name="unit_fraction")  # a target recall, a max FPR
fraction = number(float, low=0, high=1, high_open=True, name="fraction")  # a share of a split


def device(text: str) -> str:
    """A PyTorch device name: auto, cpu, mps, cuda or cuda:N."""
    if not _DEVICE_RE.match(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r} (expected auto, cpu, mps, cuda or cuda:N)")
    return text


def existing_dir(text: str) -> str:
    """A folder that exists."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such directory")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, not a directory")
    return text


def out_dir(text: str) -> str:
    """An output folder: absent (it will be created) or a folder; never an existing file (or under one)."""
    if not text:
        raise argparse.ArgumentTypeError("empty output path")
    path = Path(text).expanduser()
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {'is' if p == path else f'{p} is'} a file, not a directory")
            break
    return text


def out_file(text: str) -> str:
    """An output file: its parent folder is not a file and it is not a folder."""
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a directory, not a file")
    out_dir(str(path.parent) if str(path.parent) else ".")
    return text


def duration(text: str) -> str:
    """A window length or hop (`1`, `1s`, `500ms`), > 0; kept as given (the builder records it)."""
    from ..segment import parse_seconds

    try:
        seconds = parse_seconds(text)
    except DinosError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None
    if not seconds or seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive duration, got {text!r}")
    return text


def normalization(text: str) -> str:
    """A `normalize=` option of the builder (rms, zscore, rms+zscore, none)."""
    from ..segment import NORMALIZATIONS

    return choice("normalization", [n for n in NORMALIZATIONS if n] + ["none"])(text)


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest known name, or ''."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def choice(what: str, names: Callable[[], Iterable[str]] | Iterable[str]) -> Callable[[str], str]:
    """A `type=` accepting one of `names` (a list, or a function giving it), with a did-you-mean hint."""

    def check(text: str) -> str:
        known = list(names() if callable(names) else names)
        if text not in known:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}{did_you_mean(text, known)} (known: {', '.join(known)})")
        return text

    check.__name__ = what  # argparse names the type in its messages
    return check


#: Short names accepted wherever a corpus is named (`dinos synth dcase`, `--corpus dcase`).
CORPUS_ALIASES = {"dcase": "dcase_task2"}


def corpus_name(text: str, names: Iterable[str] | None = None) -> str:
    """One of the project's corpora (`dinos.loaders.corpus_names()`, or the subset `names` a command
    supports), `dcase` meaning `dcase_task2`; else an `ArgumentTypeError` with a did-you-mean hint."""
    from ..loaders import corpus_names

    known = list(names) if names is not None else list(corpus_names())
    return choice("corpus", [*known, *(a for a, c in CORPUS_ALIASES.items() if c in known)])(
        CORPUS_ALIASES.get(text, text) if CORPUS_ALIASES.get(text) in known else text)


def add_corpus(p, *, help: str, positional: bool = False, required: bool = True,
               names: Iterable[str] | None = None, default: str | None = None) -> None:
    """The corpus argument, the same in every command: `--corpus NAME` (validated by `corpus_name`,
    restricted to `names` when given). With `positional`, the name may also come first, as in the
    older spelling `dinos synth dinos ...`; `corpus_of(args)` then gives the one that was used."""
    from ..loaders import corpus_names

    names = tuple(names) if names is not None else None
    shown = list(names or corpus_names())
    shown += [f"{a} = {c}" for a, c in CORPUS_ALIASES.items() if c in shown]
    help = f"{help} [{', '.join(shown)}]"

    def check(text: str) -> str:
        return corpus_name(text, names)

    check.__name__ = "corpus"
    if positional:
        p.add_argument("corpus", nargs="?", default=None, metavar="CORPUS", help=f"{help} (or --corpus)")
        p.add_argument("--corpus", dest="corpus_option", type=check, default=None, metavar="NAME", help=help)
        p.set_defaults(_corpus_check=check, _corpus_required=required)
    else:
        p.add_argument("--corpus", type=check, required=required and default is None, default=default,
                       metavar="NAME", help=help)


def corpus_of(args, rest: list[str] | None = None) -> str | None:
    """The corpus of a command declared with `add_corpus(positional=True)`: `--corpus` or the first
    positional, never both. When `--corpus` is given, a positional value belongs to `rest` (the
    positionals that follow, e.g. export's configs) and is put back at its front. Raises `UsageError`."""
    option, first = args.corpus_option, args.corpus
    if option is not None:
        if first is not None:
            if rest is None:
                raise UsageError(f"the corpus is given twice: {first!r} and --corpus {option!r}")
            rest.insert(0, first)
        return option
    if first is None:
        if args._corpus_required:
            raise UsageError("name the corpus: --corpus NAME (or as the first argument)")
        return None
    try:
        return args._corpus_check(first)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"argument corpus: {exc}") from None
