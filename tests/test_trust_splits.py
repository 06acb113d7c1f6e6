"""Issue 11 point 3: a class missing from the data never yields a split file that looks complete."""

from __future__ import annotations

import shutil

import pytest

from dinos import splits
from dinos.errors import SplitError

from .conftest import make_dinos_tree


@pytest.fixture(scope="module")
def no_warmup(tmp_path_factory):
    base = tmp_path_factory.mktemp("ms")
    tree = make_dinos_tree(base / "tree", datasets=("VF2",), per_class=4)
    for top in ("DINOS_Downstreams_train", "DINOS_Downstreams_test"):
        shutil.rmtree(tree / top / "VF2" / "3-warmup")  # T5 gone
    return tree, str(base / "cache")


def test_make_splits_refuses_a_missing_class(no_warmup, tmp_path):
    tree, cache = no_warmup
    with pytest.raises(SplitError, match=r"dinos/T3-T5: no rows of class\(es\) T5"):
        splits.make_split_files("dinos", tree, tmp_path / "out", variant="synthetic", tasks=["dinos/T3-T5"],
                                cache_dir=cache)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.json"))


def test_allowed_missing_class_is_recorded_and_validates(no_warmup, tmp_path):
    tree, cache = no_warmup
    [path] = splits.make_split_files("dinos", tree, tmp_path / "out", variant="synthetic", tasks=["dinos/T3-T5"],
                                     cache_dir=cache, allow_missing_class=True)
    rec = splits.load_split_file(path)
    assert rec["missing_classes"] == ["T5"] and set(rec["manifest"]["class_counts"]) == {"T3", "T4"}
    assert dict(splits.check_split_files(tmp_path / "out"))[path] is None


def test_validate_reports_a_file_lacking_a_class(no_warmup, tmp_path):
    tree, cache = no_warmup
    [path] = splits.make_split_files("dinos", tree, tmp_path / "out", variant="synthetic", tasks=["dinos/T3-T5"],
                                     cache_dir=cache, allow_missing_class=True)
    rec = splits.load_split_file(path)
    del rec["missing_classes"]  # as a tool that does not record it would write the file
    splits.write_split_file(path, rec)
    problem = dict(splits.check_split_files(tmp_path / "out"))[path]
    assert problem is not None and "no clip of class(es) T5" in problem
