"""Issue 11 point 8: `dinos validate export` checks the whole card, not only its `configs:` block."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from dinos.export import export, validate_export

from .conftest import make_dinos_tree


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("tx")
    tree = make_dinos_tree(base / "tree", datasets=("VF2",), per_class=1)
    out = base / "hub"
    export("dinos", ["vf2"], data_dir=tree, out=out, cache_dir=str(base / "cache"))
    assert validate_export(out) == []
    return out


def _edit_card(src, dst, edit):
    shutil.copytree(src, dst)
    card = dst / "README.md"
    text = card.read_text(encoding="utf-8")
    _, head, body = text.split("---\n", 2)
    header = yaml.safe_load(head)
    edit(header)
    card.write_text("---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n" + body,
                    encoding="utf-8")
    return dst


def _task_class(header):
    feats = header["dataset_info"][0]["features"]
    return next(f for f in feats if f["name"] == "task_class")["dtype"]["class_label"]["names"]


def test_swapped_label_names_are_caught(exported, tmp_path):
    def swap(header):
        names = _task_class(header)
        names["3"], names["4"] = names["4"], names["3"]  # T3 <-> T4

    out = _edit_card(exported, tmp_path / "swapped", swap)
    problems = validate_export(out)
    assert len(problems) == 1 and "task_class" in problems[0] and "README.md" in problems[0]


def test_changed_num_examples_is_caught(exported, tmp_path):
    def bump(header):
        header["dataset_info"][0]["splits"][0]["num_examples"] += 1

    problems = validate_export(_edit_card(exported, tmp_path / "bumped", bump))
    assert len(problems) == 1 and "vf2/" in problems[0] and "rows" in problems[0]


def test_removed_dataset_info_and_extra_split_are_caught(exported, tmp_path):
    def drop(header):
        del header["dataset_info"]

    assert "no `dataset_info`" in validate_export(_edit_card(exported, tmp_path / "noinfo", drop))[0]

    def extra(header):
        header["dataset_info"][0]["splits"].append({"name": "validation", "num_bytes": 1, "num_examples": 1})

    assert "splits" in validate_export(_edit_card(exported, tmp_path / "extra", extra))[0]


def test_cli_validate_export_exits_1_on_tampered_card(exported, tmp_path):
    def swap(header):
        names = _task_class(header)
        names["3"], names["4"] = names["4"], names["3"]

    out = _edit_card(exported, tmp_path / "cli", swap)
    proc = subprocess.run([sys.executable, "-m", "dinos", "validate", "export", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "task_class" in proc.stdout + proc.stderr


def test_export_refuses_a_symlink_leaving_data_dir(tmp_path):
    from dinos.errors import UnsafePathError

    from .conftest import write_tone

    tree = make_dinos_tree(tmp_path / "tree", datasets=("VF2",), per_class=1)
    secret = write_tone(tmp_path / "secret" / "private.wav")
    (tree / "DINOS_Downstreams_train/VF2/1-on/link.wav").symlink_to(secret)
    with pytest.raises(UnsafePathError, match="link.wav"):
        export("dinos", ["vf2"], data_dir=tree, out=tmp_path / "out", cache_dir=str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert not out.exists() or not any(out.rglob("*.parquet"))
