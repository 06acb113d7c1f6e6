"""The wheel carries the loaders (as `dinos.loaders`) and the split files, and installs a working CLI."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_loaders_and_split_files(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("dinos-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("dinos/loaders/__init__.py", "dinos/loaders/dinos.py", "dinos/cli.py", "dinos/schema.py"):
        assert module in names, module
    assert any(n.startswith("dinos/split_files/") and n.endswith(".md") for n in names)
    assert {"dinos/card_templates/dinos.md", "dinos/card_templates/mimii_due.md"} <= names  # cards render from them
    assert not any(n.startswith("loaders/") for n in names), "loaders must ship inside the dinos package"
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "dinos = dinos.cli:main" in entry
