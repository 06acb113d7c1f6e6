"""`dinos validate {dinos,splits,export}`, `dinos splits {verify,list,tasks}` and recipes/make_splits.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from dinos import splits
from dinos.cli import main
from dinos.conformance import check_dinos

from .conftest import make_dinos_tree

REPO = Path(__file__).resolve().parents[1]


def _recipe():
    spec = importlib.util.spec_from_file_location("make_splits", REPO / "recipes" / "make_splits.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def small_tree(tmp_path):
    return make_dinos_tree(tmp_path / "dinos", datasets=("VF2", "RenishawL"), per_class=2, pretrain_seconds=1.0)


# --------------------------------------------------------------------------------------------
# dinos validate dinos
# --------------------------------------------------------------------------------------------
def test_check_dinos_counts_and_durations(small_tree):
    rep = check_dinos(small_tree)
    rows = {r.check: r for r in rep.rows}
    t3 = rows["Table 2 T3 VF2 On"]
    assert (t3.expected, t3.found, t3.diff) == (260, 4, "-256")  # 2 clips x (train + test)
    assert rows["Table 1 VF2 stethoscope"].found == 12
    assert rows["Table 2 T6 Yornew CD0.3 MRR7.62 8K no chatter"].found == 0
    assert rows["Table 1 pretraining Shop floor recordings"].found == 1
    assert rows["downstream: files not 1 s long"].found == 0
    assert rows["downstream: files not at 48000 Hz"].found == 0
    bad = [r for r in rep.rows if r.check.startswith("pretraining: files not 59 s long")]
    assert bad and bad[0].found == 4 and "e.g. DINOS_Pretrain/" in bad[0].check  # 1-s stand-ins
    assert not rep.corrupt


def test_validate_dinos_cli_reports_differences(small_tree, capsys):
    assert main(["validate", "dinos", "--data-dir", str(small_tree)]) == 0
    out = capsys.readouterr().out
    assert "Table 2 T3 VF2 On" in out and "differ from the paper" in out
    assert main(["validate", "dinos", "--data-dir", str(small_tree), "--strict"]) == 1
    capsys.readouterr()
    assert main(["validate", "dinos", "--data-dir", str(small_tree), "--quick"]) == 0
    assert "files not 1 s long" not in capsys.readouterr().out


def test_validate_dinos_sample_rate_difference(small_tree):
    from .conftest import write_tone

    write_tone(small_tree / "DINOS_Downstreams_train" / "VF2" / "1-on" / "odd.wav", sr=44_100)
    rows = {r.check: r for r in check_dinos(small_tree).rows}
    assert rows["downstream: files not at 48000 Hz"].found == 1
    assert rows["Table 2 T3 VF2 On"].found == 5


def test_validate_dinos_corrupt_file_fails(small_tree, capsys):
    victim = next((small_tree / "DINOS_Downstreams_test" / "VF2" / "2-off").glob("*.wav"))
    victim.write_bytes(victim.read_bytes()[:100])
    assert main(["validate", "dinos", "--data-dir", str(small_tree)]) == 1
    err = capsys.readouterr().err
    assert "1 unreadable or corrupt file(s)" in err and victim.name in err and "truncated" in err


def test_validate_dinos_bad_layout(tmp_path, small_tree, capsys):
    assert main(["validate", "dinos", "--data-dir", str(tmp_path / "missing")]) == 2  # usage error
    assert "no such directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["validate", "dinos", "--data-dir", str(tmp_path / "empty")]) == 1
    assert "not a DINOS tree" in capsys.readouterr().err
    (small_tree / "DINOS_Downstreams_train" / "VF2" / "9-exploded").mkdir()
    assert main(["validate", "dinos", "--data-dir", str(small_tree)]) == 1
    assert "9-exploded" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# dinos validate splits / export
# --------------------------------------------------------------------------------------------
def test_validate_splits_cli(tmp_path, capsys):
    assert main(["validate", "splits"]) == 0  # the committed files
    assert "0 failed" in capsys.readouterr().out
    root = tmp_path / "splits"
    shutil.copytree(splits.split_files_root(), root)
    files = sorted(root.rglob("*.json"))
    assert files, "split files ship with the package"
    rec = json.loads(files[0].read_text())
    rec["train_fraction"] = "0.2"  # a hand edit
    files[0].write_text(splits.canonical_json(rec))
    assert main(["validate", "splits", "--splits-dir", str(root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "checksum mismatch" in out and files[0].name in out


def test_validate_export_target(tmp_path, capsys):
    assert main(["validate", "export", str(tmp_path / "nothing-here")]) == 2  # usage error: no such folder
    assert "nothing-here: no such directory" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("x")
    assert main(["validate", "export", str(tmp_path / "a-file")]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    code = main(["validate", "export", str(tmp_path)])  # a folder that is not an export: a data error
    captured = capsys.readouterr()
    assert code == 1 and "no export manifest" in captured.out


# --------------------------------------------------------------------------------------------
# Recipe and `dinos splits verify`
# --------------------------------------------------------------------------------------------
def test_recipe_write_check_and_verify(small_tree, tmp_path, capsys):
    recipe = _recipe()
    out = tmp_path / "splits"
    args = ["--corpus", "dinos", "--data-dir", str(small_tree), "--out", str(out), "--task", "dinos/T3-T5",
            "--task", "dinos/T1-T2", "--cache-dir", str(tmp_path / "cache")]
    assert recipe.main(args) == 0
    files = sorted((out / "real" / "dinos").glob("*.json"))
    assert [f.name for f in files] == ["T1-T2.json", "T3-T5.json"]
    assert splits.load_split_file(files[0])["source"]["corpus"] == "DINOS"
    before = {f: f.read_bytes() for f in files}

    assert recipe.main([*args, "--check"]) == 0  # unchanged data -> identical files
    assert {f: f.read_bytes() for f in files} == before

    # CLI verify: matches
    assert main(["splits", "verify", "--data-dir", str(small_tree), "--splits-dir", str(out),
                 "--task", "dinos/T3-T5", "--task", "dinos/T1-T2", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "2 task(s) verified, 0 failed" in capsys.readouterr().out
    assert main(["splits", "list", "--splits-dir", str(out)]) == 0
    assert "task=dinos/T3-T5" in capsys.readouterr().out

    # the data changes: --check fails with a summary; verify names the missing clip
    gone = next((small_tree / "DINOS_Downstreams_train" / "VF2" / "3-warmup").glob("*.wav"))
    gone.unlink()
    assert recipe.main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "T3-T5.json: clip manifest changed (12 -> 11 clips" in err and "T1-T2" not in err.split("regenerate")[0]
    assert main(["splits", "verify", "--data-dir", str(small_tree), "--splits-dir", str(out),
                 "--task", "dinos/T3-T5", "--cache-dir", str(tmp_path / "cache")]) == 1
    out_text = capsys.readouterr().out
    assert "FAIL dinos/T3-T5" in out_text and gone.name in out_text and "missing from data_dir" in out_text


def test_recipe_check_detects_an_edited_committed_file(small_tree, tmp_path, capsys):
    recipe = _recipe()
    out = tmp_path / "splits"
    args = ["--corpus", "dinos", "--data-dir", str(small_tree), "--out", str(out), "--task", "dinos/T3-T5",
            "--variant", "synthetic", "--cache-dir", str(tmp_path / "cache")]
    assert recipe.main(args) == 0
    path = out / "synthetic" / "dinos" / "T3-T5.json"
    rec = json.loads(path.read_text())
    rec["repeats"][2]["seed"] = "0" * 64
    rec["seeds"][2] = "0" * 64
    splits.write_split_file(path, rec)  # consistent but different
    assert recipe.main([*args, "--check"]) == 1
    assert "T3-T5.json: same clips, different assignment in repeats [2]" in capsys.readouterr().err


def test_splits_tasks_cli(capsys):
    assert main(["splits", "tasks", "--corpus", "dinos", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in records][:2] == ["dinos/T1-T2", "dinos/T3-T5"]
    assert main(["splits", "tasks"]) == 0
    assert "dinos/T26" in capsys.readouterr().out
