"""MIMII DUE: the paper's Table 1 as metadata, the synthetic tree, layouts and ground truth."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import dinos
from dinos import schema
from dinos.errors import LayoutError
from dinos.loaders import mimii_due as md
from dinos.synth import mimii_due as synth

SEED_PAPER = Path("/work/shared/seeds/001_8400bd6ffa7f9523.txt")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("mimii") / "data"
    synth.write(root)
    return root


def _load(root, name, tmp_path, **kw):
    return dinos.load_dataset("mimii_due", name, data_dir=root, cache_dir=str(tmp_path / "cache"), **kw)


def _names(d, col):
    return schema.decoded_column(d, col)


def test_section_table_matches_paper():
    assert len(md.SECTION_TABLE) == 30 and {s.machine for s in md.SECTION_TABLE} == set(md.MACHINES)
    pump1 = md.SECTION_BY_KEY[("pump", 1)]
    assert (pump1.snr_source_db, pump1.snr_target_db, pump1.domain_shift) == (
        "-12",
        "-18",
        "SNR variations between domains",
    )
    assert md.SECTION_BY_KEY[("fan", 3)].snr_source_db == "-9 ± 1.5"
    assert sum(s.train_source for s in md.SECTION_TABLE) == 30122  # Table 1 total
    if SEED_PAPER.is_file():
        text = SEED_PAPER.read_text()
        for s in md.SECTION_TABLE:
            assert s.domain_shift in text


def test_synthetic_tree_builds_with_table_metadata(tree, tmp_path):
    ds = _load(tree, "all", tmp_path)
    assert set(ds) == {"train", "test"}
    test = ds["test"]
    assert set(_names(test, "corpus")) == {"mimii_due"}
    assert "unknown" not in _names(test, "label")  # eval sections labelled through the ground truth
    assert Counter(_names(test, "label")) == {"normal": 24, "anomaly": 24}
    for row, machine, domain in zip(test, _names(test, "machine"), _names(test, "domain"), strict=True):
        a = {x["name"]: x["value"] for x in row["attributes"]}
        info = md.SECTION_BY_KEY[(machine, row["section"])]
        assert a["domain_shift"] == info.domain_shift
        assert a["section_snr_db"] == (info.snr_source_db if domain == "source" else info.snr_target_db)
        assert row["provenance"]["part"] == ("dev" if row["section"] < 3 else "eval")
        assert row["provenance"]["year"] == 2021 and "part" not in a
    assert test[0]["audio"]["array"].shape == (32000,)


def test_machine_config_and_flat_layout(tree, tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(tree / "dev_data" / "pump", flat / "pump")
    ds = _load(flat, "pump", tmp_path, decode=False)
    assert set(_names(ds["train"], "machine")) == {"pump"} and set(ds["train"]["section"]) == {1}
    shutil.copytree(tree / "dev_data" / "pump", flat / "dev_data" / "pump")
    with pytest.raises(LayoutError, match="both at the top level"):
        _load(flat, "pump", tmp_path / "again")


def test_snr_shift_is_audible_in_synthetic_pump():
    src = synth.section_condition("pump", 1, "source")
    tgt = synth.section_condition("pump", 1, "target")
    assert (src.snr_db, tgt.snr_db) == (-12.0, -18.0)
    assert synth.shift_kind(md.SECTION_BY_KEY[("fan", 0)].domain_shift) == "speed"
    assert synth.shift_kind(md.SECTION_BY_KEY[("pump", 4)].domain_shift) == "noise"
    x = synth.render(0, "p", 29.0, src, False)
    y = synth.render(0, "p", 29.0, tgt, False)
    assert not np.allclose(x, y)


def test_no_ground_truth_leaves_eval_unknown(tree, tmp_path):
    root = tmp_path / "tree"
    shutil.copytree(tree, root)
    shutil.rmtree(root / "ground_truth_data")
    (root / "eval_data_list_2021.csv").unlink()
    test = _load(root, "fan", tmp_path, decode=False)["test"]
    labels = Counter(zip(test["section"], _names(test, "label"), strict=True))
    assert labels[(3, "unknown")] == 8 and labels[(0, "normal")] == 4 and labels[(0, "anomaly")] == 4
    assert {d for s, d in zip(test["section"], _names(test, "domain"), strict=True) if s == 3} == {
        "source",
        "target",
    }
