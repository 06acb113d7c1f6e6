"""`dinos docs`: the pages the README links to, listed with their titles and printed as written, from the
source checkout here (tests/test_packaging.py checks the same command from an installed wheel)."""

from __future__ import annotations

import re
from pathlib import Path

from dinos.cli import main
from dinos.commands import docs

ROOT = Path(__file__).resolve().parents[1]


def test_listing_names_every_shipped_page_with_its_first_heading(capsys):
    assert main(["docs"]) == 0
    table, hint = capsys.readouterr().out.split("\n\n")
    assert hint == "`dinos docs NAME` prints a page.\n"
    listed = dict(re.findall(r"^(\S+) +(.+)$", table, re.M))
    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "BENCHMARKS.md", ROOT / "README.md"]:
        heading = next(line for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
        assert listed.pop(page.stem.lower()) == heading.lstrip("#").strip(), page
    assert listed == {}


def test_a_page_prints_exactly_as_written_whatever_form_of_its_name(capsys):
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    for name in ("quickstart", "Quickstart", "quickstart.md", "docs/quickstart.md"):
        assert main(["docs", name]) == 0
        assert capsys.readouterr().out == text, name
    assert main(["docs", "model", "--path"]) == 0
    assert capsys.readouterr().out == f"{ROOT / 'docs' / 'model.md'}\n"


def test_unknown_page_is_a_usage_error_with_the_closest_name(capsys):
    assert main(["docs", "modle"]) == 2
    err = capsys.readouterr().err
    assert "usage: dinos docs" in err and "unknown page 'modle'; did you mean 'model'?" in err
    assert "quickstart" in err  # the known names are listed


def test_no_pages_anywhere_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setattr(docs, "_checkout_root", lambda: None)
    monkeypatch.setattr(docs, "_installed_pages", lambda: [])
    assert main(["docs"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "dinos: error: the documentation is not installed: no pages in this source checkout and none in the "
        "installed distribution's data files (share/doc/); reinstall with pip"]


def test_checkout_pages_are_those_pyproject_ships():
    """The source checkout lists what pyproject.toml's data-files entry installs (its one home)."""
    import tomllib

    files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]
    patterns = [g for k, v in files.items() if k.startswith("share/doc/") for g in v]
    expected = {p for pattern in patterns for p in ROOT.glob(pattern)}
    assert set(docs.pages().values()) == expected and len(expected) > 10
