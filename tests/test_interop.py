"""lhotse manifests and the AudioFolder layout from dinos rows (windows keep their offsets)."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import dinos
from dinos import schema
from dinos.interop import to_lhotse, write_audiofolder


@pytest.fixture
def yornew(dinos_tree, cache_dir):
    return dinos.load_dataset("dinos", "yornew", data_dir=dinos_tree, split="train", cache_dir=cache_dir,
                              decode=False)


def test_to_lhotse_one_cut_per_row_with_metadata_and_the_same_samples(yornew):
    cuts = to_lhotse(yornew)
    assert len(cuts) == len(yornew)
    decoded = dinos.decode_audio(yornew)
    labels = schema.decoded_column(yornew, "task_class")
    for i, cut in enumerate(cuts):
        row = yornew[i]
        assert cut.id == row["clip_id"] and cut.duration == pytest.approx(row["duration"])
        sup = cut.supervisions[0]
        assert sup.custom["task_class"] == labels[i] and sup.custom["corpus"] == "dinos"
        assert sup.custom["attributes"]["rpm"]  # typed attributes carried as a dict
        np.testing.assert_allclose(cut.load_audio()[0], decoded[i]["audio"]["array"], atol=1e-6)


def test_to_lhotse_windows_share_their_recording_and_keep_offsets(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", cache_dir=cache_dir,
                            decode=False, segment="1s")
    cuts = to_lhotse(ds)
    assert len(cuts) == len(ds) and len({c.recording.id for c in cuts}) == len(set(ds["recording_id"]))
    starts = sorted(c.start for c in cuts if c.recording.id == cuts[0].recording.id)
    assert starts[:3] == [0.0, 1.0, 2.0]
    decoded = dinos.decode_audio(ds)
    np.testing.assert_allclose(cuts[1].load_audio()[0], decoded[1]["audio"]["array"], atol=1e-6)


def test_decoding_attached_or_streamed_gives_the_same_cuts(yornew):
    ids = [c.id for c in to_lhotse(yornew)]
    assert [c.id for c in to_lhotse(dinos.decode_audio(yornew))] == ids
    assert [c.id for c in to_lhotse(dinos.decode_audio(yornew.to_iterable_dataset()))] == ids
    with pytest.raises(dinos.DinosError, match="one split"):
        to_lhotse(datasets.DatasetDict({"train": yornew}))


def test_write_audiofolder_layout_metadata_and_guard(yornew, tmp_path):
    csv_path = write_audiofolder(yornew, tmp_path / "af")
    meta = pd.read_csv(csv_path)
    assert list(meta.columns[:2]) == ["file_name", "clip_id"] and len(meta) == len(yornew)
    decoded = dinos.decode_audio(yornew)
    for i in (0, len(meta) - 1):
        f = tmp_path / "af" / meta["file_name"][i]
        assert f.parent.name == meta["label"][i]
        data, sr = sf.read(f, dtype="float32")
        assert sr == 48_000
        np.testing.assert_allclose(data, decoded[i]["audio"]["array"], atol=1 / 32768)
    with pytest.raises(dinos.DinosError):  # a previous output is not replaced without overwrite=True
        write_audiofolder(yornew, tmp_path / "af")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.md").write_text("mine")
    with pytest.raises(dinos.DinosError, match="was not written by"):
        write_audiofolder(yornew, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "thesis.md").read_text() == "mine"
