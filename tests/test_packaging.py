"""The wheel carries every module, the loaders (as `dinos.loaders`), the split files and the documentation the
README links to, installs a working CLI, and installs offline into a fresh virtual environment that holds only
its core dependencies, where the README's blocks run as written and `dinos docs` prints the shipped pages."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from .test_readme_blocks import run_blocks

ROOT = Path(__file__).resolve().parents[1]


#: What a source copy for the wheel build leaves out: build output, environments, caches (.gitignore).
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.so",
                                     ".cache", ".demo", ".hypothesis", ".pytest_cache", ".ruff_cache",
                                     "emb", "results", "runs")


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> tuple[Path, str]:
    """(the wheel built from a copy of this checkout's sources, the build's log).

    Built from a copy: pip builds in the source tree (its `build/` folder), and two pytest-xdist
    workers building the checkout at once collided there ("File exists: build/bdist...")."""
    out, src = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("wheel-src") / "dinos"
    shutil.copytree(ROOT, src, ignore=_NOT_SOURCE)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(src)],
                          check=True, capture_output=True, text=True)
    return next(out.glob("dinos_audio-*.whl")), proc.stdout + proc.stderr


@pytest.mark.slow
def test_wheel_contains_loaders_and_split_files(built_wheel):
    wheel, log = built_wheel
    # the build is clean: no setuptools deprecation or "absent from the packages configuration" warnings
    assert "BuildBackendWarning" not in log, log[-3000:]
    # the distribution name is `dinos-audio` (`dinos` on PyPI is an unrelated project); the import is `dinos`
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("dinos/loaders/__init__.py", "dinos/loaders/dinos.py", "dinos/cli.py", "dinos/schema.py"):
        assert module in names, module
    assert any(n.startswith("dinos/split_files/") and n.endswith(".md") for n in names)
    assert {"dinos/card_templates/dinos.md", "dinos/card_templates/mimii_due.md"} <= names  # cards render from them
    assert not any(n.startswith("loaders/") for n in names), "loaders must ship inside the dinos package"
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dinos = dinos.cli:main" in entry
    # every module of the source tree ships (a package missing from pyproject's list once left out dinos.metrics)
    source = {f"dinos/{p.relative_to(ROOT / 'dinos').as_posix()}" for p in (ROOT / "dinos").rglob("*.py")}
    source |= {f"dinos/loaders/{p.relative_to(ROOT / 'loaders').as_posix()}" for p in (ROOT / "loaders").rglob("*.py")}
    assert source - names == set()
    # the optional native loop ships compiled wherever this checkout's own install could build it
    from dinos import wav

    native = [n for n in names if n.startswith("dinos/_pcm16") and n.endswith((".so", ".pyd"))]
    assert len(native) == 1 or not wav.NATIVE, native


def _doc_dir() -> str:
    """pyproject.toml's data-files folder of the documentation (`share/doc/<distribution>`)."""
    import tomllib

    files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]
    folders = sorted(k for k in files if k.startswith("share/doc/"))
    assert all(f.startswith(folders[0] + "/") for f in folders[1:]), folders  # one tree, the repository's layout
    return folders[0]


@pytest.mark.slow
def test_wheel_ships_every_doc_the_readme_links(built_wheel):
    """PyPI shows the README, where its relative links do not resolve: every Markdown page it links to is in
    the wheel's data (installed under <prefix>/share/doc/...), and `dinos docs` in this checkout lists the same pages."""
    from dinos.commands import docs

    wheel, _ = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.data/data/{_doc_dir()}/"
    shipped = {n.removeprefix(data) for n in names if n.startswith(data)}
    linked = {target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
              if "://" not in target and not target.startswith("#")}
    pages = {t for t in linked if t.endswith(".md")}
    assert {t for t in pages if t.startswith("docs/")} >= {"docs/quickstart.md", "docs/model.md"}
    assert pages | {"README.md"} <= shipped, sorted(pages - shipped)
    for t in pages | {"README.md"}:  # shipped as written, not a stale copy
        assert zipfile.ZipFile(wheel).read(data + t) == (ROOT / t).read_bytes(), t
    for t in linked - pages:  # a linked source file ships as code (`loaders/dinos.py` as `dinos/loaders/dinos.py`)
        assert f"dinos/{t}" in names, t
    # in the installed tree, every page's links to other pages resolve (the README's, BENCHMARKS.md's, ../ links)
    for page in sorted(p for p in shipped if p.endswith(".md")):
        text = zipfile.ZipFile(wheel).read(data + page).decode()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            target = target.split("#")[0]
            if "://" in target or not target.endswith(".md"):
                continue
            resolved = os.path.normpath(os.path.join(os.path.dirname(page), target))
            assert resolved in shipped, f"{page} links to {target}: {resolved} is not installed"
    assert shipped == {p.relative_to(ROOT).as_posix() for p in docs.pages().values()}  # what `dinos docs` lists


def _core_closure(wheel: Path) -> dict[str, metadata.Distribution]:
    """The installed distributions the wheel's core requirements (no extras) pull, transitively."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def needed(reqs, extras=()):
        return [r for r in reqs if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in ("", *extras))]

    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    todo = needed([Requirement(line.split(":", 1)[1]) for line in meta.splitlines() if line.startswith("Requires-Dist:")])
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        if canonicalize_name(req.name) not in seen:
            dist = metadata.distribution(req.name)
            seen[canonicalize_name(req.name)] = dist
            todo += needed([Requirement(r) for r in dist.requires or []], req.extras)
    return seen


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs_the_readme(built_wheel, tmp_path):
    """Offline: a fresh venv sees only the wheel's core dependency closure (symlinked from this environment),
    `pip install --no-index` of the wheel succeeds there, and the README's blocks run from that install
    (the lhotse block aside: lhotse is not a dinos dependency)."""
    wheel, _ = built_wheel
    closure = _core_closure(wheel)
    assert "soxr" in closure and not {"librosa", "numba", "llvmlite", "torch"} & set(closure)
    view = tmp_path / "core-site"
    view.mkdir()
    for dist in closure.values():
        for f in dist.files or []:
            top = f.parts[0]
            if top != ".." and not (view / top).exists() and Path(dist.locate_file(top)).exists():
                (view / top).symlink_to(dist.locate_file(top))
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "core-deps.pth").write_text(f"{view}\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "--isolated", "--python", str(venv / "bin" / "python"),
                           "install", "--no-index", str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    check = ("import importlib, pkgutil, dinos, dinos.loaders; print(dinos.__file__)\n"
             "for pkg in (dinos, dinos.loaders):\n"
             "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
             "        if not m.name.startswith('dinos.model') and not m.name.endswith('__main__'):\n"
             "            importlib.import_module(m.name)\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", check], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith(str(site)), out.stdout  # the installed wheel, not this checkout
    ran = run_blocks("README.md", tmp_path / "work", venv / "bin", select=lambda b: "lhotse" not in b.body)
    assert any("dinos synth dcase" in b.body for b in ran) and any("python -c" in b.body for b in ran)
    # the README's linked pages print from the installed data files (outside any checkout)
    out = subprocess.run([str(venv / "bin" / "dinos"), "docs", "quickstart"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    out = subprocess.run([str(venv / "bin" / "dinos"), "docs", "--path"], cwd=tmp_path, capture_output=True, text=True)
    paths = [Path(line.split()[-1]) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and len(paths) > 10, out.stdout + out.stderr[-3000:]
    assert all(p.is_relative_to((venv / _doc_dir()).resolve()) for p in paths), paths
