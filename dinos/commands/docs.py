"""`dinos docs [NAME]`: the documentation the README links to, shipped with the package.

PyPI shows the README, whose relative links (`docs/model.md`) do not resolve there. The wheel therefore
installs the README and those pages (pyproject.toml, `[tool.setuptools.data-files]`, their one home) under
`<prefix>/share/doc/<distribution>/`, in the repository's layout (links between pages resolve there),
and this command lists or prints them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HELP = "list the documentation shipped with dinos, or print one page (dinos docs quickstart)"

DESCRIPTION = """\
List the documentation pages that ship with dinos (the pages the README links to), or print one.

  dinos docs                  every page: its NAME and its title
  dinos docs quickstart       print docs/quickstart.md (install, a tiny corpus, load, split, score)
  dinos docs model --path     print where that page is installed, to open it in a viewer
  dinos docs benchmarks       BENCHMARKS.md, the recorded figures

The pages are read from the installed package (<prefix>/share/doc/<distribution>/); when dinos runs from a
source checkout, from the checkout's docs/ folder, so that they match the code that runs."""

#: pyproject.toml's data-files key the documentation is installed under starts with this.
DOC_PREFIX = "share/doc/"


def add_arguments(p) -> None:
    p.add_argument("name", nargs="?", default=None, type=_doc_name, metavar="NAME",
                   help="the page to print (its file name without .md, e.g. quickstart, model); "
                        "omitted: list every page")
    p.add_argument("--path", action="store_true", help="print the page's file path instead of its text "
                   "(without NAME: each page's path instead of its title)")


def _checkout_root() -> Path | None:
    """The source checkout `dinos` is imported from (its pyproject.toml and docs/ next to the package), or None."""
    import dinos

    root = Path(dinos.__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "docs").is_dir() else None


def _checkout_pages(root: Path) -> list[Path]:
    """The pages pyproject.toml ships (the globs of its share/doc data-files entries), read from the checkout."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            tomllib = None
    patterns = ["docs/*.md"]
    if tomllib is not None:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        files = data.get("tool", {}).get("setuptools", {}).get("data-files", {})
        patterns = [g for k, v in files.items() if k.startswith(DOC_PREFIX) for g in v] or patterns
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def _installed_pages() -> list[Path]:
    """The pages installed with the distribution that provides `dinos` (found through its RECORD, so
    wherever the installer put the data files: a venv, --user, --prefix)."""
    from importlib import metadata

    for dist_name in metadata.packages_distributions().get("dinos", []):
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue
        pages = [Path(dist.locate_file(f)).resolve() for f in dist.files or []
                 if f.suffix == ".md" and DOC_PREFIX in f.as_posix()]
        pages = sorted(p for p in pages if p.is_file())
        if pages:
            return pages
    return []


def pages() -> dict[str, Path]:
    """{name: file} of the shipped documentation pages, the name being the file's stem in lower case
    (`quickstart`, `model`, `benchmarks`). From the source checkout when `dinos` runs from one, else from
    the installed data files. Raises `DinosError` when neither holds any page."""
    from ..errors import DinosError

    root = _checkout_root()
    found = _checkout_pages(root) if root is not None else []
    found = found or _installed_pages()
    if not found:
        raise DinosError("the documentation is not installed: no pages in this source checkout and none in "
                         "the installed distribution's data files (share/doc/); reinstall with pip")
    return dict(sorted((p.stem.lower(), p) for p in found))


def title(path: Path) -> str:
    """The first Markdown heading of a page (`# Title` -> `Title`), or '' when it has none."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#+\s+(.*\S)", line)
            if m:
                return m.group(1)
    return ""


def _doc_name(text: str) -> str:
    """`type=` of NAME: a known page, given as `model`, `Model`, `model.md` or `docs/model.md`."""
    from ._args import did_you_mean

    name = Path(text).name.lower().removesuffix(".md")
    known = sorted(pages())
    if name not in known:
        raise argparse.ArgumentTypeError(
            f"unknown page {text!r}{did_you_mean(name, known)} (known: {', '.join(known)})")
    return name


def listing(found: dict[str, Path], *, paths: bool = False) -> str:
    """One line per page: its name, then its title (or, with `paths`, its file)."""
    width = max(map(len, found))
    return "".join(f"{name:<{width}}  {path if paths else title(path)}\n" for name, path in found.items())


def run(args) -> int:
    import os
    import sys

    found = pages()
    if args.name is None:
        text = listing(found, paths=args.path) + ("" if args.path else "\n`dinos docs NAME` prints a page.\n")
    else:
        path = found[args.name]
        text = f"{path}\n" if args.path else path.read_text(encoding="utf-8")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `dinos docs model | head`: the reader stopped, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
