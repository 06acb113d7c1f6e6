"""Regenerate the generated blocks of README.md (dependencies, schema fields, ClassLabel names, DINOS configs, CLI).

    python recipes/make_readme.py           # rewrite README.md in place (only between the markers)
    python recipes/make_readme.py --check   # exit 1 if README.md differs from what would be written
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
PYPROJECT = README.parent / "pyproject.toml"


def dependencies(pyproject: Path = PYPROJECT) -> str:
    """The README's dependency table, read from pyproject.toml (its one home): core, then each extra."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    rows = ["| install | adds |", "|---|---|",
            "| `pip install .` (core) | " + ", ".join(f"`{r}`" for r in project["dependencies"]) + " |"]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        rows.append(f'| `pip install ".[{extra}]"` | ' + ", ".join(f"`{r}`" for r in reqs) + " |")
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    from dinos import schema
    from dinos.cli import build_parser
    from dinos.loaders import dinos as D

    fields = ["| field | meaning |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in schema.field_docs().items()]
    cats = ["| field | ClassLabel names, in code order |", "|---|---|"]
    for k, names in schema.categorical_names().items():
        shown = ", ".join(f"`{n}`" for n in names)
        cats.append(f"| `{k}` | {shown} |")
    configs = ["| config | contents |", "|---|---|"] + [f"| `{k}` | {v} |" for k, v in ((c.name, c.description) for c in D.INFO.configs)]
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    cli = ["| command | what it does |", "|---|---|"] + [
        f"| `dinos {c.dest}` | {c.help} |" for c in sub._choices_actions
    ]
    from dinos.loaders import dcase_task2, mimii_due

    mimii = ", ".join(f"`{c.name}`" for c in mimii_due.MimiiDue.BUILDER_CONFIGS)
    dcase = dcase_task2.markdown_tables() + f"\n\nMIMII DUE configs: {mimii}."
    return {"dependencies": dependencies(), "dcase-years": dcase, "schema-fields": "\n".join(fields), "schema-classlabels": "\n".join(cats),
            "dinos-configs": "\n".join(configs), "cli": "\n".join(cli)}


def render(text: str) -> str:
    for name, body in blocks().items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md: marker block {name!r} is missing")
        text = pattern.sub(lambda m, b=body: m.group(1) + b + "\n" + m.group(2), text)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    old = README.read_text()
    new = render(old)
    if args.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "README.md", "generated"))
            print("README.md is out of date: run python recipes/make_readme.py", file=sys.stderr)
            return 1
        return 0
    if new != old:
        from dinos.io import write_text

        write_text(README, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
