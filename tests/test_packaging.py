"""The wheel carries the loaders (as `dinos.loaders`) and the split files, and installs a working CLI."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_loaders_and_split_files(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(ROOT)],
                          check=True, capture_output=True, text=True)
    # the build is clean: no setuptools deprecation or "absent from the packages configuration" warnings
    assert "BuildBackendWarning" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    # the distribution name is `dinos-audio` (`dinos` on PyPI is an unrelated project); the import is `dinos`
    wheel = next(tmp_path.glob("dinos_audio-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("dinos/loaders/__init__.py", "dinos/loaders/dinos.py", "dinos/cli.py", "dinos/schema.py"):
        assert module in names, module
    assert any(n.startswith("dinos/split_files/") and n.endswith(".md") for n in names)
    assert {"dinos/card_templates/dinos.md", "dinos/card_templates/mimii_due.md"} <= names  # cards render from them
    assert not any(n.startswith("loaders/") for n in names), "loaders must ship inside the dinos package"
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dinos = dinos.cli:main" in entry
