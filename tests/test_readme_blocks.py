"""Every code block of README.md and docs/quickstart.md runs as written.

The blocks of one document run in order, in one empty folder (as a reader following it top to bottom):
bash blocks with `bash -euo pipefail` and the virtual environment's bin first on PATH (so `dinos` and
`python` are the installed ones), python blocks as scripts in a fresh interpreter. A block that cannot
run here (PyPI, the real corpora, Zenodo, a placeholder standing for the reader's own files) carries
`<!-- no-run: reason -->` on the line before its fence; `NO_RUN` below lists every one of them, so a
block is never skipped silently and a new one must be added here on purpose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/quickstart.md")
RUNNABLE = ("bash", "python")

#: (document, first line of the block) of every block marked no-run. The reason is in the Markdown.
NO_RUN = {
    ("README.md", "make demo    # sets up .venv, writes the synthetic corpora, builds every config, prints a summary,"),
    ("README.md", "pip install .                          # from a clone: the core"),
    ("README.md", "dinos score dcase --year 2023 --scores DIR_OF_anomaly_score_CSVs --data-dir dcase23   # official metrics"),
    ("README.md", "dinos download dcase_task2 --year 2023 --machines fan valve --out /data/dcase2023   # official Zenodo archives"),
    ("README.md", "import dinos"),  # dinos.splits.get: needs a DINOS copy the split files describe
    ("README.md", "dinos splits verify --data-dir DIR      # does my copy match the split files (clip ids, manifest checksum)?"),
    ("docs/quickstart.md", "pip install .     # from a clone of this repository (Python >= 3.10); the distribution is `dinos-audio`"),
}

_FENCE = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
_NO_RUN = re.compile(r"<!--\s*no-run:(?P<reason>.*?)-->")


@dataclass(frozen=True)
class Block:
    doc: str
    line: int  # 1-based line of the opening fence
    lang: str
    body: str
    no_run: str | None  # the reason, when the block is marked no-run

    @property
    def first_line(self) -> str:
        return self.body.splitlines()[0] if self.body.strip() else ""


def parse_blocks(doc: str, text: str | None = None) -> list[Block]:
    """The fenced code blocks of `doc` (a path relative to the repository root), in document order."""
    text = (ROOT / doc).read_text(encoding="utf-8") if text is None else text
    out = []
    for m in _FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = _NO_RUN.fullmatch(before)
        out.append(Block(doc, text.count("\n", 0, m.start()) + 1, m.group("lang").strip(), m.group("body"),
                         marker.group("reason").strip() if marker else None))
    return out


def run_blocks(doc: str, workdir: Path, bindir: Path, *, select=None, timeout: int = 300) -> list[Block]:
    """Run the runnable blocks of `doc` in order in `workdir` with `bindir` first on PATH; return them.

    `select(block)` may narrow the blocks. Fails, naming the document line, on the first non-zero exit.
    """
    assert (bindir / "python").exists() and (bindir / "dinos").exists(), f"{bindir}: no python/dinos (make install)"
    workdir.mkdir(parents=True, exist_ok=True)
    scripts = workdir.parent / f"{workdir.name}-scripts"
    scripts.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    cache = workdir.parent / f"{workdir.name}-hf"
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", HF_HOME=str(cache),
               HF_DATASETS_CACHE=str(cache / "datasets"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    ran = []
    for b in parse_blocks(doc):
        if b.no_run is not None or (select is not None and not select(b)):
            continue
        if b.lang == "bash":
            argv = ["bash", "-euo", "pipefail", "-c", b.body]
        elif b.lang == "python":
            script = scripts / f"line{b.line}.py"
            script.write_text(b.body, encoding="utf-8")
            argv = [str(bindir / "python"), str(script)]
        else:
            raise AssertionError(f"{doc}:{b.line}: a ```{b.lang} block cannot run; mark it no-run with a reason")
        done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, (
            f"{doc}:{b.line}: block exited {done.returncode}\n{b.body}\n--- stdout\n{done.stdout[-3000:]}"
            f"\n--- stderr\n{done.stderr[-3000:]}"
        )
        ran.append(b)
    return ran


def test_parse_blocks_reads_fences_and_no_run_markers():
    text = "x\n\n```bash\necho a\n```\n\n<!-- no-run: needs PyPI -->\n```python\nimport x\n```\n```\nplain\n```\n"
    blocks = parse_blocks("X.md", text)
    assert [(b.line, b.lang, b.body, b.no_run) for b in blocks] == [
        (3, "bash", "echo a\n", None), (8, "python", "import x\n", "needs PyPI"), (11, "", "plain\n", None)]


def test_every_block_runs_or_is_listed_as_no_run_with_a_reason():
    marked = set()
    for doc in DOCS:
        blocks = parse_blocks(doc)
        assert blocks, doc
        for b in blocks:
            assert b.lang in RUNNABLE or b.no_run is not None, f"{doc}:{b.line}: ```{b.lang} block"
            if b.no_run is not None:
                assert len(b.no_run) > 15, f"{doc}:{b.line}: a no-run marker needs its reason"
                marked.add((doc, b.first_line))
    assert marked == NO_RUN  # a new no-run block is added to NO_RUN on purpose, never silently


def test_no_run_reasons_name_tests_that_exist():
    """A reason saying another test covers the block names that test, and the test is there."""
    for doc in DOCS:
        for b in parse_blocks(doc):
            for path, name in re.findall(r"(tests/[\w/]+\.py)(?:::(\w+))?", b.no_run or ""):
                assert (ROOT / path).is_file(), f"{doc}:{b.line}: {path}"
                if name:
                    assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.M), f"{doc}:{b.line}: {name}"


def test_readme_links_the_quickstart():
    assert "](docs/quickstart.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def _requirements_in_readme() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- BEGIN dependencies -->\n", 1)[1].split("<!-- END dependencies -->", 1)[0]
    out = {}
    for row in table.splitlines()[2:]:
        install, adds = (c.strip() for c in row.strip("|").split("|"))
        m = re.search(r'\.\[(\w+)\]', install)
        out["core" if "(core)" in install else m.group(1)] = re.findall(r"`([^`]+)`", adds)
    return out


def test_readme_dependency_list_matches_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert _requirements_in_readme() == {"core": project["dependencies"], **project["optional-dependencies"]}


@pytest.mark.slow
def test_readme_blocks_run_as_written(tmp_path):
    ran = run_blocks("README.md", tmp_path / "work", Path(sys.executable).parent)
    assert {b.lang for b in ran} == {"bash", "python"}
    assert (tmp_path / "work" / "af" / "metadata.csv").is_file()  # the blocks wrote where they say


@pytest.mark.slow
def test_quickstart_blocks_run_as_written(tmp_path):
    ran = run_blocks("docs/quickstart.md", tmp_path / "work", Path(sys.executable).parent)
    assert len(ran) >= 6
    assert sorted(p.name for p in (tmp_path / "work" / "scores").iterdir()) == [
        "anomaly_score_fan_section_00_test.csv", "anomaly_score_valve_section_00_test.csv"]
