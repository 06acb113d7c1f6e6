"""DCASE Task 2 builder end to end: synthetic trees of every year, ground-truth handling, bad input and
a real 2023 clip, all through `dinos.load_dataset`."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import dinos
from dinos import schema
from dinos.errors import LayoutError, ParseError
from dinos.loaders import dcase_task2 as dc
from dinos.synth import dcase as synth

from .conftest import REAL_SAMPLES

REAL = REAL_SAMPLES


class _Trees(dict):
    """year -> synthetic tree, written on first use (so no single test pays for all seven)."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, year: int) -> Path:
        synth.write(self.root / str(year), year=year)
        self[year] = self.root / str(year)
        return self[year]


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    return _Trees(tmp_path_factory.mktemp("dcase"))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _load(data_dir, name, tmp_path, **kw):
    return dinos.load_dataset("dcase_task2", name, data_dir=data_dir, cache_dir=str(tmp_path / "cache"), **kw)


def _names(d, col):
    return schema.decoded_column(d, col)


def _attrs(row) -> dict:
    return {a["name"]: a["value"] for a in row["attributes"]}


@pytest.mark.parametrize("year", dc.YEARS)
def test_synthetic_year_builds_and_decodes(trees, tmp_path, year):
    ds = _load(trees[year], f"{year}-all", tmp_path, channel=0)
    expected = {"dev_train", "dev_test", "eval_train"} | (
        {"eval_test"} if dc.year_info(year).eval_test_published else set()
    )
    assert expected <= set(ds) and (("dev_supplemental" in ds) == (year == 2025))
    for split, d in ds.items():
        assert set(_names(d, "corpus")) == {"dcase_task2"}
        assert {r["provenance"]["year"] for r in d} == {year}
        assert not {"year", "part", "file_name", "full_file_name"} & {a["name"] for r in d for a in r["attributes"]}
        assert set(d["sample_rate"]) == {16000} and set(d["channels"]) == {2 if year == 2026 else 1}
        row = d[0]
        assert row["audio"]["array"].shape == (32000,) and row["audio"]["sampling_rate"] == 16000
        labels = Counter(_names(d, "label"))
        if split.endswith("test"):  # every test label known, from names or ground truth
            assert labels["normal"] == labels["anomaly"] > 0 and "unknown" not in labels
            assert set(_names(d, "domain")) == ({"source"} if year == 2020 else {"source", "target"})
        elif split.endswith("train"):
            assert set(labels) == {"normal"}
    machines = {p: {m.name for m in synth.PLAN[year][p]} for p in dc.PARTS}
    assert set(_names(ds["dev_train"], "machine")) == machines["dev"]
    assert set(_names(ds["eval_train"], "machine")) == machines["eval"]


def test_eval_labels_follow_ground_truth(trees, tmp_path):
    ds = _load(trees[2023], "2023-bandsaw", tmp_path, decode=False)
    gt = dc.load_ground_truth(trees[2023], 2023)
    d = ds["eval_test"]
    for row, label, domain in zip(d, _names(d, "label"), _names(d, "domain"), strict=True):
        truth = gt.evaluator[("bandsaw", Path(row["path"]).name)]
        assert (label, domain) == (truth.label, truth.domain)
        a = _attrs(row)
        assert row["provenance"]["truth"] == "evaluator" and "vel" in a
        assert row["provenance"]["full_file_name"] == truth.full_name
    assert set(ds) == {"eval_train", "eval_test"}  # config restricted to one machine


def test_two_channel_2026_explicit_channel(trees, tmp_path):
    both = _load(trees[2026], "2026-fan", tmp_path)["dev_test"][0]["audio"]["array"]
    near = _load(trees[2026], "2026-fan", tmp_path, channel=0)["dev_test"][0]["audio"]["array"]
    far = _load(trees[2026], "2026-fan", tmp_path, channel=1)["dev_test"][0]["audio"]["array"]
    assert both.shape == (2, 32000) and near.shape == far.shape == (32000,)
    np.testing.assert_array_equal(both[0], near)
    assert not np.allclose(near, far)


def test_hidden_attributes_resolved_through_correspondence(trees, tmp_path):
    ds = _load(trees[2024], "2024-all", tmp_path, decode=False)
    dev = ds["dev_train"]
    gear = [r for r, m in zip(dev, _names(dev, "machine"), strict=True) if m == "gearbox"]
    assert gear and all(r["provenance"]["attributes_hidden"] and "pro" in _attrs(r) for r in gear)
    assert all(r["path"].endswith("_noAttribute.wav") for r in gear)
    assert all(r["provenance"]["full_file_name"].endswith(f"_{_attrs(r)['wt']}.wav") for r in gear)
    ev = ds["eval_test"]
    rows = dict(zip(_names(ev, "machine"), ev, strict=False))
    assert "fl" in _attrs(rows["AirCompressor"])  # blind -> noAttribute -> full name
    arm = rows["RoboticArm"]
    assert arm["provenance"]["quirks"][0].startswith("missing train/test token")
    assert _attrs(arm)["file_attributes"].startswith("weight15_")


def test_supplemental_and_csv_value_forms_2025(trees, tmp_path):
    ds = _load(trees[2025], "2025-all", tmp_path, decode=False)
    sup = ds["dev_supplemental"]
    kinds = Counter(_attrs(r)["supplemental_kind"] for r in sup)
    assert kinds == {"noise": 2, "machine": 4}
    valve = [
        r for r, m in zip(ds["dev_train"], _names(ds["dev_train"], "machine"), strict=True) if m == "valve"
    ]
    tokens = {(a["name"], a["value"], a["file_token"]) for a in valve[0]["attributes"]}
    assert ("v1pat", "0", "v1pat_00") in tokens and ("v2pat", "5", "v2pat_05") in tokens


def test_disagreement_is_reported_and_evaluator_wins(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    lst = root / "eval_data_list_2023.csv"
    lines = lst.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if "_normal_" in ln)
    blind, full = lines[i].split(",")
    lines[i] = f"{blind},{full.replace('_normal_', '_anomaly_')}"
    lst.write_text("\n".join(lines) + "\n")
    report = dc.compare_ground_truth(root, 2023)
    assert report.n_files == 1 and report.disagreements[0].field == "label"
    assert report.disagreements[0].evaluator == "normal" and "disagree on 1 of 16" in report.summary()
    with pytest.warns(UserWarning, match="disagree on 1 of 16"):
        ds = _load(root, "2023-all", tmp_path, decode=False)
    ev = ds["eval_test"]
    machine = lines[max(j for j in range(i) if "," not in lines[j])]
    row = [k for k, (r, m) in enumerate(zip(ev["path"], _names(ev, "machine"), strict=True))
           if m == machine and r.endswith(blind)][0]  # fmt: skip
    assert _names(ev, "label")[row] == "normal"


def test_without_ground_truth_labels_are_unknown(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    for p in [*root.glob("ground_truth_*"), root / "eval_data_list_2023.csv"]:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    ev = _load(root, "2023-all", tmp_path, decode=False)["eval_test"]
    assert set(_names(ev, "label")) == {"unknown"} and set(_names(ev, "domain")) == {"unknown"}


def test_eval_list_alone_gives_labels(trees, tmp_path):
    root = _copy(trees[2022], tmp_path / "tree")
    for p in root.glob("ground_truth_*"):
        shutil.rmtree(p)
    ev = _load(root, "2022-all", tmp_path, decode=False)["eval_test"]
    assert "unknown" not in _names(ev, "label")
    assert {r["provenance"]["truth"] for r in ev} == {"eval_data_list"}


def test_ground_truth_naming_missing_clip_is_an_error(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    victim = sorted((root / "eval_data/raw/bandsaw/test").glob("*.wav"))[0]
    victim.unlink()
    with pytest.raises(ParseError, match="not in the tree") as err:
        _load(root, "2023-bandsaw", tmp_path)
    assert "ground_truth" in str(err.value) and victim.name in str(err.value)


def test_two_copies_of_a_machine_are_an_error(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    shutil.copytree(root / "dev_data/raw/fan", root / "dev_data/fan")
    with pytest.raises(LayoutError, match="found twice"):
        _load(root, "2023-fan", tmp_path)


def test_duplicate_full_names_are_an_error(tmp_path):
    gt = tmp_path / "ground_truth_attributes"
    gt.mkdir()
    (gt / "ground_truth_bandsaw_section_00_test.csv").write_text(
        "section_00_0000.wav,section_00_source_test_normal_0000_vel_13\n"
        "section_00_0001.wav,section_00_source_test_normal_0000_vel_13\n"
    )
    with pytest.raises(ParseError, match="same clip"):
        dc.load_ground_truth(tmp_path, 2023)


def test_bad_file_name_and_strict_false(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    bad = root / "dev_data/raw/fan/train/fan_recording_1.wav"
    shutil.copy(next((root / "dev_data/raw/fan/train").glob("*.wav")), bad)
    with pytest.raises(ParseError, match="fan_recording_1.wav"):
        _load(root, "2023-fan", tmp_path)
    with pytest.warns(UserWarning, match="fan_recording_1.wav"):
        ds = _load(root, "2023-fan", tmp_path / "lenient", strict=False, decode=False)
    kept = [i for i, p in enumerate(ds["dev_train"]["path"]) if p.endswith(bad.name)]
    assert len(kept) == 1 and ds["dev_train"][kept[0]]["section"] == -1


def test_bad_attributes_csv_is_an_error(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    csv_path = root / "dev_data/raw/fan/attributes_00.csv"
    csv_path.write_text("file_name,d1p\nfan/train/x.wav,m-n\n")
    with pytest.raises(ParseError, match="column pairs") as err:
        _load(root, "2023-fan", tmp_path)
    assert "attributes_00.csv" in str(err.value)


def test_wrong_machine_for_year_is_an_error(trees, tmp_path):
    root = _copy(trees[2023], tmp_path / "tree")
    shutil.copytree(root / "dev_data/raw/fan", root / "dev_data/raw/pump")
    with pytest.raises(LayoutError, match="not a DCASE 2023 machine type"):
        _load(root, "2023-fan", tmp_path)


def test_real_2023_fan_clip_builds(tmp_path):
    src = REAL / "dcase2023t2_via_soundata/7882613/fan"
    mdir = tmp_path / "data/dev_data/raw/fan"
    (mdir / "train").mkdir(parents=True)
    shutil.copy(src / "train/section_00_source_train_normal_0705_m-n_X.wav", mdir / "train")
    shutil.copy(src / "attributes_00.csv", mdir)
    ds = _load(tmp_path / "data", "2023-fan", tmp_path)
    assert list(ds) == ["dev_train"] and len(ds["dev_train"]) == 1
    row = ds["dev_train"][0]
    assert row["duration"] == 10.0 and row["audio"]["array"].shape == (160000,)
    assert (_names(ds["dev_train"], "label")[0], row["section"]) == ("normal", 0)
    assert [(a["name"], a["value"]) for a in row["attributes"]][-1] == ("m-n", "X")


def test_synthetic_audio_is_deterministic_and_plausible(tmp_path):
    a = synth.render(3, "k", 50.0, synth.domain_condition("speed", "source"), False)
    assert np.array_equal(a, synth.render(3, "k", 50.0, synth.domain_condition("speed", "source"), False))

    def band(x, lo, hi):
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / 16000)
        return spec[(f >= lo) & (f < hi)].sum() / spec.sum()

    normal = [synth.render(s, "n", 50.0, synth.domain_condition("load", "source"), False) for s in range(4)]
    anomal = [synth.render(s, "a", 50.0, synth.domain_condition("load", "source"), True) for s in range(4)]
    assert min(band(x, 2500, 3100) for x in anomal) > 2 * max(band(x, 2500, 3100) for x in normal)
    src = synth.render(0, "s", 50.0, synth.domain_condition("speed", "source"), False)
    tgt = synth.render(0, "s", 50.0, synth.domain_condition("speed", "target"), False)
    peak = [np.fft.rfftfreq(32000, 1 / 16000)[np.argmax(np.abs(np.fft.rfft(x))[:2000])] for x in (src, tgt)]
    assert peak[1] == pytest.approx(1.35 * peak[0], rel=0.05)


def test_synth_cli_refuses_non_empty_dir(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(dinos.errors.DinosError, match="not empty"):
        synth.write(tmp_path / "x", year=2023)
