"""Split invariants (property-based), split files (canonical, checksummed, atomic) and `get`/`verify`."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinos import splits
from dinos.errors import SplitError

F = Fraction(3, 20)


# --------------------------------------------------------------------------------------------
# Random layouts: classes -> groups -> clips
# --------------------------------------------------------------------------------------------
@st.composite
def layouts(draw, max_group_size=5):
    n_classes = draw(st.integers(1, 6))
    clip_ids, labels, groups = [], [], []
    for c in range(n_classes):
        n_groups = draw(st.integers(2, 8))
        for g in range(n_groups):
            size = draw(st.integers(1, max_group_size))
            for k in range(size):
                clip_ids.append(f"cls{c}/rec{g}.wav#{k * 48000}")
                labels.append(f"C{c}")
                groups.append(f"cls{c}/rec{g}")
    order = draw(st.permutations(range(len(clip_ids))))
    return [clip_ids[i] for i in order], [labels[i] for i in order], [groups[i] for i in order]


def _check_invariants(ids, labels, groups, train, ev):
    label_of = dict(zip(ids, labels, strict=True))
    group_of = dict(zip(ids, groups, strict=True))
    assert set(train).isdisjoint(ev)
    assert sorted(train + ev) == sorted(ids)
    assert train == sorted(train) and ev == sorted(ev)
    # grouping: no recording straddles the sides
    assert {group_of[c] for c in train}.isdisjoint({group_of[c] for c in ev})
    # stratification: every class on both sides
    assert {label_of[c] for c in train} == set(labels) == {label_of[c] for c in ev}


@settings(max_examples=300, deadline=None)
@given(layouts(), st.text(min_size=1, max_size=8))
def test_split_invariants_grouped(layout, seed):
    ids, labels, groups = layout
    train, ev = splits.stratified_group_split(ids, labels, groups, seed=seed)
    _check_invariants(ids, labels, groups, train, ev)
    # determinism, and independence of the input row order
    assert splits.stratified_group_split(ids, labels, groups, seed=seed) == (train, ev)
    rev = splits.stratified_group_split(ids[::-1], labels[::-1], groups[::-1], seed=seed)
    assert rev == (train, ev)


@settings(max_examples=150, deadline=None)
@given(layouts(max_group_size=4), st.text(min_size=1, max_size=8))
def test_grouped_train_size_is_closest_achievable(layout, seed):
    """Per class, no other choice of whole recordings gets closer to the quota (brute force)."""
    ids, labels, groups = layout
    train, _ = splits.stratified_group_split(ids, labels, groups, seed=seed)
    sizes: dict[str, Counter] = {}
    for lab, g in zip(labels, groups, strict=True):
        sizes.setdefault(lab, Counter())[g] += 1
    quotas = splits.class_quotas({lab: sum(c.values()) for lab, c in sizes.items()})
    got = Counter(dict(zip(ids, labels, strict=True))[c] for c in train)
    for lab, counter in sizes.items():
        n = sum(counter.values())
        sums = {
            sum(sub)
            for k in range(1, len(counter))
            for sub in itertools.combinations(counter.values(), k)
        }
        best = min(abs(s - quotas[lab]) for s in sums if 1 <= s <= n - 1)
        assert abs(got[lab] - quotas[lab]) == best


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(2, 400), min_size=1, max_size=12), st.integers(0, 9))
def test_singleton_groups_sizes_within_one_clip(class_sizes, repeat):
    ids, labels = [], []
    for c, n in enumerate(class_sizes):
        for k in range(n):
            ids.append(f"d/c{c}/f{k}.wav#0")
            labels.append(f"T{c + 1}")
    groups = [i.split("#")[0] for i in ids]
    train, ev = splits.stratified_group_split(ids, labels, groups, seed=splits.repeat_seed("t", repeat))
    _check_invariants(ids, labels, groups, train, ev)
    label_of = dict(zip(ids, labels, strict=True))
    got = Counter(label_of[c] for c in train)
    for c, n in enumerate(class_sizes):
        assert abs(got[f"T{c + 1}"] - F * n) < 1  # each class within one clip of 15 %
    total = len(ids)
    if all(F * n >= 1 for n in class_sizes):
        assert abs(len(train) - F * total) <= Fraction(1, 2)  # the total too, when no class is tiny
    else:  # tiny classes are raised to one train clip each
        assert len(train) - F * total < 1 + sum(1 for n in class_sizes if F * n < 1)


def test_paper_sizes_yornew():
    """T6-T17 with the paper's counts: 15 % of 922 = 138.3 -> 138 train clips, 784 eval."""
    from dinos.tasks import get_task

    task = get_task("dinos/T6-T17")
    ids, labels = [], []
    for c in task.classes:
        ids += [f"{c.id}/{k}.wav#0" for k in range(c.paper_count)]
        labels += [c.id] * c.paper_count
    reps = splits.stratified_group_splits(ids, labels, [i[:-2] for i in ids], task=task.name)
    assert len(reps) == 10
    assert {len(r.train) for r in reps} == {138} and {len(r.eval) for r in reps} == {784}
    assert len({tuple(r.train) for r in reps}) == 10  # the repeats differ


def test_class_quotas():
    assert splits.class_quotas({"a": 78, "b": 74}) == {"a": 12, "b": 11}  # 22.8 -> 23: a gets the ceiling
    assert splits.class_quotas({"a": 2, "b": 3}) == {"a": 1, "b": 1}
    assert splits.class_quotas({"a": 100}, "0.5") == {"a": 50}
    with pytest.raises(SplitError, match="at least 2"):
        splits.class_quotas({"a": 1})
    with pytest.raises(SplitError, match="strictly between"):
        splits.class_quotas({"a": 10}, "1.5")


def test_seed_strings_are_fixed():
    # The seed of a repeat is a documented function of algorithm, version, task and repeat.
    import hashlib

    assert splits.repeat_seed("dinos/T1-T2", 3) == hashlib.sha256(b"stratified-group-mc:1:dinos/T1-T2:3").hexdigest()


def test_bad_layouts_raise_split_error():
    with pytest.raises(SplitError, match="class 'B' has 3 clip\\(s\\) in 1 recording"):
        splits.stratified_group_split(["a1", "a2", "b1", "b2", "b3"], list("AABBB"), ["g1", "g2", "h", "h", "h"], seed="s")
    with pytest.raises(SplitError, match="holds clips of classes"):
        splits.stratified_group_split(["a", "b", "c"], list("ABB"), ["g", "g", "h"], seed="s")
    with pytest.raises(SplitError, match="not unique"):
        splits.stratified_group_split(["a", "a", "c"], list("AAA"), ["g", "h", "i"], seed="s")
    with pytest.raises(SplitError, match="lengths differ"):
        splits.stratified_group_split(["a", "b"], list("A"), ["g", "h"], seed="s")


# --------------------------------------------------------------------------------------------
# Split files
# --------------------------------------------------------------------------------------------
def _record(n_per_class=(7, 9, 4), task="dinos/T3-T5"):
    ids, labels = [], []
    for c, n in enumerate(n_per_class):
        ids += [f"DINOS_Downstreams_train/VF2/{c}/f{k}.wav#0" for k in range(n)]
        labels += [f"T{c + 3}"] * n
    return splits.build_split_record(
        task, ids, labels, [i[:-6] for i in ids], corpus="dinos", config="vf2", variant="synthetic",
        label_column="task_class", source=splits.SYNTHETIC_SOURCE,
    )


def test_split_file_round_trip_is_canonical(tmp_path):
    rec = _record()
    p1 = splits.write_split_file(tmp_path / "a" / "T3-T5.json", rec)
    p2 = splits.write_split_file(tmp_path / "b" / "T3-T5.json", _record())
    assert p1.read_bytes() == p2.read_bytes()
    text = p1.read_text()
    assert text.endswith("}\n") and json.loads(text)["content_sha256"] == splits.content_checksum(json.loads(text))
    loaded = splits.load_split_file(p1)
    assert loaded["manifest"]["clips"] == 20 and loaded["num_repeats"] == 10
    assert loaded["algorithm"] == {"name": "stratified-group-mc", "version": 1}
    assert loaded["seeds"][3] == splits.repeat_seed("dinos/T3-T5", 3)
    assert loaded["repeats"][0]["counts"]["train"] == {"T3": 1, "T4": 1, "T5": 1}  # 1.05,1.35,0.6 of 3
    # re-writing a loaded record reproduces the same bytes
    splits.write_split_file(tmp_path / "c.json", loaded)
    assert (tmp_path / "c.json").read_bytes() == p1.read_bytes()
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["T3-T5.json"]  # no temp files left


def test_tampered_split_file_is_rejected(tmp_path):
    path = splits.write_split_file(tmp_path / "T3-T5.json", _record())
    rec = json.loads(path.read_text())
    # move a clip from eval to train without fixing the checksum
    moved = rec["repeats"][0]["eval"]["T4"].pop()
    rec["repeats"][0]["train"]["T4"].append(moved)
    path.write_text(splits.canonical_json(rec))
    with pytest.raises(SplitError, match="checksum mismatch") as err:
        splits.load_split_file(path)
    assert err.value.path == str(path)
    # same edit with a recomputed content checksum: caught by the consistency checks
    rec["content_sha256"] = splits.content_checksum(rec)
    path.write_text(splits.canonical_json(rec))
    with pytest.raises(SplitError, match="count of class 'T4' is wrong") as err:
        splits.load_split_file(path)
    assert err.value.path == str(path)


def test_malformed_split_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(SplitError, match="not valid JSON"):
        splits.load_split_file(p)
    with pytest.raises(SplitError, match="does not exist"):
        splits.load_split_file(tmp_path / "none.json")
    rec = _record()
    rec["algorithm"]["version"] = 99
    rec["content_sha256"] = splits.content_checksum(rec)
    p.write_text(splits.canonical_json(rec))
    with pytest.raises(SplitError, match="v99"):
        splits.load_split_file(p)


def test_write_refuses_inconsistent_record(tmp_path):
    rec = _record()
    rec["manifest"]["sha256"] = "0" * 64
    with pytest.raises(SplitError, match="manifest checksum"):
        splits.write_split_file(tmp_path / "bad.json", rec)
    assert not list(tmp_path.iterdir())


def test_manifest_checksum_is_order_free_and_label_sensitive():
    a = splits.manifest_checksum(["x#0", "y#0"], ["T1", "T2"])
    assert a == splits.manifest_checksum(["y#0", "x#0"], ["T2", "T1"])
    assert a != splits.manifest_checksum(["x#0", "y#0"], ["T2", "T1"])


def test_split_files_root_and_paths():
    root = splits.split_files_root()
    assert (root / "real" / "README.md").is_file()
    p = splits.split_file_path("dinos/T6-T17", "synthetic")
    assert p == root / "synthetic" / "dinos" / "T6-T17.json"
    with pytest.raises(SplitError, match="variant"):
        splits.split_file_path("dinos/T6-T17", "other")


# --------------------------------------------------------------------------------------------
# End to end on a hand-made DINOS tree
# --------------------------------------------------------------------------------------------
@pytest.fixture
def vf2_tree(tmp_path):
    from .conftest import make_dinos_tree

    return make_dinos_tree(tmp_path / "dinos", datasets=("VF2", "RenishawL"), per_class=4)


def test_make_get_verify(vf2_tree, tmp_path, cache_dir):
    out = tmp_path / "splits"
    written = splits.make_split_files(
        "dinos", vf2_tree, out, variant="real", tasks=["dinos/T3-T5"], cache_dir=cache_dir
    )
    assert written == [out / "real" / "dinos" / "T3-T5.json"]
    again = splits.make_split_files(
        "dinos", vf2_tree, tmp_path / "again", variant="real", tasks=["dinos/T3-T5"], cache_dir=cache_dir
    )
    assert again[0].read_bytes() == written[0].read_bytes()  # regeneration is byte-identical

    rec = splits.load_split_file(written[0])
    assert rec["manifest"]["clips"] == 24  # 3 classes x 4 clips x (train + test folders)
    train, ev = splits.get("dinos/T3-T5", 3, data_dir=vf2_tree, splits_dir=out, cache_dir=cache_dir)
    want = rec["repeats"][3]
    assert sorted(train["clip_id"]) == sorted(c for ids in want["train"].values() for c in ids)
    assert sorted(ev["clip_id"]) == sorted(c for ids in want["eval"].values() for c in ids)
    assert len(train) == 4 and len(ev) == 20  # 15 % of 24 = 3.6 -> 4
    item = train[0]
    assert item["audio"]["array"].shape == (48_000,) and item["audio"]["sampling_rate"] == 48_000
    names = train.features["task_class"].names
    assert {names[i] for i in train["task_class"]} == {"T3", "T4", "T5"}

    res = splits.verify(vf2_tree, splits_dir=out, tasks=["dinos/T3-T5"], cache_dir=cache_dir)
    assert [r.ok for r in res] == [True]
    with pytest.raises(SplitError, match="repeat must be in 0..9"):
        splits.get("dinos/T3-T5", 10, data_dir=vf2_tree, splits_dir=out, cache_dir=cache_dir)

    # a clip named in the split file goes missing: verify and get fail, naming it
    victim = next(iter(want["eval"]["T4"])).split("#")[0]
    (vf2_tree / victim).unlink()
    res = splits.verify(vf2_tree, splits_dir=out, tasks=["dinos/T3-T5"], cache_dir=cache_dir, strict=False)
    assert not res[0].ok and "1 clip(s) missing from data_dir" in res[0].detail and victim in res[0].detail
    with pytest.raises(SplitError, match="no split file of task dinos/T3-T5 matches"):
        splits.get("dinos/T3-T5", 0, data_dir=vf2_tree, splits_dir=out, cache_dir=cache_dir)

    # no data for a task at all
    res = splits.verify(vf2_tree, splits_dir=out, tasks=["dinos/T6-T17"], cache_dir=cache_dir, strict=False)
    assert not res[0].ok and "no clips of task dinos/T6-T17" in res[0].detail


def test_official_tasks_have_no_split_files():
    from dinos import tasks

    official = [t for t in tasks.all_tasks() if t.protocol == "official"]
    assert official, "MIMII DUE and DCASE tasks are official-split tasks"
    with pytest.raises(SplitError, match="official train/test split"):
        splits.get(official[0].name, 0, data_dir=".")


def test_committed_split_files_are_valid():
    """Every committed split file passes its checksum and consistency checks."""
    results = splits.check_split_files()
    assert all(problem is None for _, problem in results), results
    synthetic = splits.split_files_root() / "synthetic" / "dinos"
    assert synthetic.is_dir(), "the synthetic split files are committed"
    names = sorted(p.stem for p in synthetic.glob("*.json"))
    from dinos.tasks import split_file_tasks

    assert names == sorted(t.file_stem for t in split_file_tasks("dinos"))
    for p in synthetic.glob("*.json"):
        assert math.isclose(float(splits.load_split_file(p)["train_fraction"]), 0.15)
