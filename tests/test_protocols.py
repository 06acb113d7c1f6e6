"""dinos.protocols: hold-out, k-fold and the anomaly-detection protocol; checksummed split files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from dinos import protocols as P
from dinos.errors import SplitError


def _clips(n_normal=20, n_anom=6, strata=("fan/0", "fan/2"), group_size=1):
    out = []
    for s in strata:
        for lab, n in (("normal", n_normal), ("anomaly", n_anom)):
            for i in range(n):
                out.append(P.ClipRef(f"{s}/{lab}/{i:03d}.wav#0", lab, f"{s}/{lab}/g{i // group_size}", s))
    return out


def _ids(side):
    return {c.clip_id for c in side}


def test_asd_train_normal_only_test_balanced_every_anomaly_tested():
    clips = _clips()
    (fold,) = P.asd(clips)
    assert set(fold) == {"train", "test"}
    assert {c.label for c in fold["train"]} == {"normal"}
    test = Counter((c.stratum, c.label) for c in fold["test"])
    for s in ("fan/0", "fan/2"):
        assert test[(s, "anomaly")] == 6 and test[(s, "normal")] == 6
    assert _ids(fold["train"]) | _ids(fold["test"]) == _ids(clips)
    assert not _ids(fold["train"]) & _ids(fold["test"])


def test_asd_validation_slice_takes_anomalies_and_as_many_normals():
    (fold,) = P.asd(_clips(), validation_fraction=0.5)
    val = Counter((c.stratum, c.label) for c in fold["validation"])
    test = Counter((c.stratum, c.label) for c in fold["test"])
    for s in ("fan/0", "fan/2"):
        assert val[(s, "anomaly")] == val[(s, "normal")] == 3
        assert test[(s, "anomaly")] == test[(s, "normal")] == 3
    sides = [_ids(fold[k]) for k in ("train", "validation", "test")]
    assert sum(len(s) for s in sides) == len(set().union(*sides)) == 52


def test_asd_errors_when_too_few_normals_or_no_anomaly():
    with pytest.raises(SplitError, match="at least as many normal"):
        P.asd(_clips(n_normal=6, n_anom=6))
    with pytest.raises(SplitError, match="no anomalous clip"):
        P.asd(_clips(n_anom=0))


def test_groups_never_straddle_sides():
    clips = _clips(n_normal=21, n_anom=9, group_size=3)
    group_of = {c.clip_id: c.group for c in clips}
    for made in (P.asd(clips, 0.34), P.holdout(clips, 0.3), P.kfold(clips, 3)):
        for fold in made:
            sides = {}
            for side, members in fold.items():
                for c in members:
                    assert sides.setdefault(group_of[c.clip_id], side) == side


def test_mixed_label_group_is_an_error():
    clips = [P.ClipRef("a#0", "normal", "g", "m/0"), P.ClipRef("b#0", "anomaly", "g", "m/0")]
    with pytest.raises(SplitError, match="several labels"):
        P.holdout(clips)


def test_holdout_is_stratified():
    (fold,) = P.holdout(_clips(), test_fraction=0.25)
    test = Counter((c.stratum, c.label) for c in fold["test"])
    assert test == {("fan/0", "normal"): 5, ("fan/0", "anomaly"): 2, ("fan/2", "normal"): 5, ("fan/2", "anomaly"): 2}


def test_kfold_test_sides_partition_the_clips_evenly():
    clips = _clips()
    folds = P.kfold(clips, 4)
    tested = Counter(c.clip_id for f in folds for c in f["test"])
    assert set(tested) == _ids(clips) and set(tested.values()) == {1}
    for f in folds:
        assert not _ids(f["train"]) & _ids(f["test"])
        per = Counter((c.stratum, c.label) for c in f["test"])
        assert per[("fan/0", "normal")] == 5 and per[("fan/0", "anomaly")] in (1, 2)


def test_orders_depend_on_seed_only():
    clips = _clips()
    a = P.build_record(clips, "holdout", corpus="folder", config=None, seed=1)
    b = P.build_record(list(reversed(clips)), "holdout", corpus="folder", config=None, seed=1)
    c = P.build_record(clips, "holdout", corpus="folder", config=None, seed=2)
    assert a["folds"] == b["folds"] and a["folds"] != c["folds"]


def test_split_file_round_trip_and_tamper_detection(tmp_path):
    rec = P.build_record(_clips(), "asd", corpus="folder", config=None, validation_fraction=0.5)
    path = P.write(tmp_path / "asd.json", rec)
    back = P.load(path)
    assert back["folds"] == rec["folds"] and back["manifest"]["clips"] == 52
    with pytest.raises(SplitError, match="exists"):
        P.write(path, rec)
    data = json.loads(path.read_text())
    data["folds"][0]["test"]["anomaly"].pop()
    path.write_text(json.dumps(data))
    with pytest.raises(SplitError, match="checksum"):
        P.load(path)


def test_check_record_rejects_anomalies_in_asd_train():
    rec = P.build_record(_clips(), "asd", corpus="folder", config=None)
    rec["folds"][0]["train"]["anomaly"] = rec["folds"][0]["test"].pop("anomaly")
    with pytest.raises(SplitError, match="normal clips only"):
        P.check_record(rec)


@pytest.mark.slow
def test_make_and_datasets_of_on_a_folder_tree(tmp_path):
    from dinos.synth import folder as synth

    data = tmp_path / "data"
    synth.write(data, scale=0.5, kinds=("drill",))
    cache = str(tmp_path / "cache")
    rec = P.make("folder", data, tmp_path / "h.json", protocol="holdout", test_fraction=0.25, cache_dir=cache)
    parts = P.datasets_of(tmp_path / "h.json", data, cache_dir=cache, decode=False)
    assert set(parts) == {"train", "test"}
    assert len(parts["train"]) + len(parts["test"]) == rec["manifest"]["clips"] == 8
    assert set(parts["test"]["clip_id"]) == set(P.side_clips(rec, "test"))
    # a changed data folder is refused
    (data / "drill" / "Normal" / "clip_0000.wav").unlink()
    with pytest.raises(SplitError, match="manifest checksum"):
        P.datasets_of(tmp_path / "h.json", data, cache_dir=cache, decode=False)
