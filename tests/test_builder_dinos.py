"""The DINOS builder end to end on a hand-made tree: configs, rows, caching, decoding, bad input."""

import os
import shutil

import numpy as np
import pytest

import dinos
from dinos import schema
from dinos.errors import AudioError, LayoutError, ParseError
from dinos.loaders import dinos as D

from .conftest import write_tone


def names(ds, col):
    return schema.decoded_column(ds, col)


def test_yornew_rows_are_typed_and_decodable(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "yornew", data_dir=dinos_tree, split="train", cache_dir=cache_dir)
    assert ds.features == schema.features()
    assert len(ds) == 12 * 2
    assert sorted(set(names(ds, "task_class"))) == sorted(f"T{i}" for i in range(6, 18))
    row = ds[0]
    assert row["audio"]["array"].dtype == np.float32 and row["audio"]["array"].shape == (48000,)
    assert row["audio"]["sampling_rate"] == 48000
    assert row["clip_id"] == f"{row['path']}#0" and row["recording_id"] == row["path"][:-4]
    assert set(names(ds, "sensor")) == {"microphone", "stethoscope"}
    t12 = [r for r in ds if ds.features["task_class"].int2str(r["task_class"]) == "T12"][0]
    attrs = {a["name"]: a["value"] for a in t12["attributes"]}
    assert attrs["rpm"] == "4000" and attrs["chatter"] == "yes" and attrs["class_folder"].startswith("007-")
    assert ds.features["label"].int2str(t12["label"]) == "anomaly"


@pytest.mark.parametrize(
    ("config", "splits", "n_train"),
    [("renishaw_l", {"train", "test"}, 4), ("vf2", {"train", "test"}, 6), ("cold_spray", {"train", "test"}, 16),
     ("pretraining", {"train"}, 4)],
)
def test_configs_and_splits(dinos_tree, cache_dir, config, splits, n_train):
    dd = dinos.load_dataset("dinos", config, data_dir=dinos_tree, cache_dir=cache_dir, decode=False)
    assert set(dd) == splits
    assert len(dd["train"]) == n_train


def test_all_config_holds_everything(dinos_tree, cache_dir):
    dd = dinos.load_dataset("dinos", "all", data_dir=dinos_tree, cache_dir=cache_dir, decode=False)
    assert set(dd) == {"train", "test", "pretrain"}
    assert len(dd["train"]) == len(dd["test"]) == 25 * 2
    assert set(names(dd["pretrain"], "machine")) == {c.name for c in D.PRETRAIN_CATEGORIES}
    assert set(names(dd["pretrain"], "origin_split")) == {"pretrain"}


def test_pretraining_segmentation_keeps_provenance(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            cache_dir=cache_dir)
    assert len(ds) == 4 * 3  # 3.5-s recordings, tail dropped
    rec = ds.filter(lambda r: r["recording_id"] == ds[0]["recording_id"])
    assert [r["offset"] for r in rec] == [0.0, 1.0, 2.0]
    whole, _ = dinos.audio.read_window(os.path.join(dinos_tree, rec[1]["path"]))
    np.testing.assert_array_equal(rec[1]["audio"]["array"], whole[48000:96000])


def test_second_load_reuses_the_cache_without_reading_audio(dinos_tree, cache_dir, monkeypatch):
    first = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir)

    def boom(*a, **k):
        raise AssertionError("audio header read on a cached build")

    monkeypatch.setattr("dinos.builder.probe_file", boom)
    again = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir)
    assert again["clip_id"] == first["clip_id"]


def test_cache_is_invalidated_when_source_files_change(dinos_tree, cache_dir):
    before = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir)
    folder = dinos_tree / "DINOS_Downstreams_train" / "VF2" / "1-on"
    write_tone(folder / "mic_new_0000.wav", seed=99)
    after = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir)
    assert len(after) == len(before) + 1
    (folder / "mic_new_0000.wav").unlink()
    assert len(dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir)) == len(before)


def test_streaming_decodes(dinos_tree):
    it = dinos.load_dataset("dinos", "cold_spray", data_dir=dinos_tree, split="test", streaming=True)
    rows = list(it)
    assert len(rows) == 16
    assert all(r["audio"]["array"].shape == (48000,) for r in rows)
    assert {r["sensor"] for r in rows} == {0, 1}


@pytest.mark.model
def test_decoding_in_dataloader_workers(dinos_tree, cache_dir):
    torch = pytest.importorskip("torch")
    ds = dinos.load_dataset("dinos", "yornew", data_dir=dinos_tree, split="test", cache_dir=cache_dir)
    ds = ds.select_columns(["audio", "start_frame", "num_frames", "task_class"])

    def collate(rows):
        return torch.stack([torch.from_numpy(r["audio"]["array"]) for r in rows]), [r["task_class"] for r in rows]

    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert sum(b[0].shape[0] for b in batches) == len(ds)
    assert batches[0][0].dtype == torch.float32 and batches[0][0].shape[1] == 48000


# -- bad input ------------------------------------------------------------------------------------
def test_missing_data_dir_and_wrong_layout(tmp_path, cache_dir):
    with pytest.raises(LayoutError, match="needs data_dir"):
        dinos.load_dataset("dinos", "yornew", cache_dir=cache_dir)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LayoutError, match="not a DINOS tree"):
        dinos.load_dataset("dinos", "yornew", data_dir=tmp_path / "empty", cache_dir=cache_dir)


def test_unknown_class_folder_is_an_error_unless_not_strict(dinos_tree, cache_dir):
    write_tone(dinos_tree / "DINOS_Downstreams_train" / "VF2" / "9-coffee_break" / "x.wav")
    with pytest.raises(ParseError, match="9-coffee_break"):
        dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, cache_dir=cache_dir)
    with pytest.warns(UserWarning, match="9-coffee_break"):
        ds = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir,
                                strict=False, decode=False)
    odd = ds.filter(lambda r: r["class_name"] == "9-coffee_break")
    assert len(odd) == 1 and odd.features["task_class"].int2str(odd[0]["task_class"]) == "none"


def _nan_wav(path):
    import soundfile as sf

    x = np.zeros(48000, dtype=np.float32)
    x[100] = np.inf
    sf.write(str(path), x, 48000, subtype="FLOAT")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "zero-length"),
        (lambda p: p.write_text("not audio " * 100), "not a readable audio file"),
        (lambda p: write_tone(p, sr=44100), "sample rate 44100 Hz, corpus documents 48000 Hz"),
        (lambda p: write_tone(p, channels=2), "2 channel"),
        (lambda p: p.write_bytes(write_tone(p).read_bytes()[:-1000]), "truncated WAV data"),
        (lambda p: _nan_wav(p), "NaN or infinite"),
    ],
    ids=["empty", "not-audio", "rate", "channels", "truncated", "nan"],
)
def test_bad_audio_names_the_file(dinos_tree, cache_dir, make, reason):
    bad = dinos_tree / "DINOS_Downstreams_train" / "VF2" / "1-on" / "zz_bad.wav"
    make(bad)
    with pytest.raises(Exception) as err:
        dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, cache_dir=cache_dir)
    chain = [err.value, err.value.__cause__, err.value.__context__]
    msg = " ".join(str(e) for e in chain if e is not None)
    assert isinstance(err.value, AudioError) or isinstance(err.value.__cause__, AudioError)
    assert "zz_bad.wav" in msg and reason in msg


def test_skip_invalid_is_opt_in_and_reported(dinos_tree, cache_dir):
    bad = dinos_tree / "DINOS_Downstreams_train" / "VF2" / "1-on" / "zz_bad.wav"
    bad.write_bytes(b"")
    with pytest.warns(UserWarning, match="zz_bad.wav"):
        ds = dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, split="train", cache_dir=cache_dir,
                                skip_invalid=True, decode=False)
    assert "zz_bad.wav" not in " ".join(ds["path"]) and len(ds) == 6
    reports = [p for p in os.listdir(cache_dir) if p.startswith("skipped-")]
    assert reports and "zero-length" in open(os.path.join(cache_dir, reports[0])).read()


def test_unreadable_folder(dinos_tree, cache_dir, monkeypatch):
    import pathlib

    folder = dinos_tree / "DINOS_Downstreams_train" / "VF2"
    real_iterdir = pathlib.Path.iterdir

    def iterdir(self):  # root reads any folder, so simulate what a non-root user sees
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(pathlib.Path, "iterdir", iterdir)
    with pytest.raises(LayoutError, match="not readable") as err:
        dinos.load_dataset("dinos", "vf2", data_dir=dinos_tree, cache_dir=cache_dir)
    assert "VF2" in str(err.value)


def test_other_paths_pass_through_to_datasets(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    ds = dinos.load_dataset("csv", data_files=str(csv), split="train", cache_dir=str(tmp_path / "c"))
    assert ds["a"] == [1, 3]


def test_copy_of_tree_loads_identically(dinos_tree, tmp_path, cache_dir):
    a = dinos.load_dataset("dinos", "yornew", data_dir=dinos_tree, split="test", cache_dir=cache_dir, decode=False)
    shutil.copytree(dinos_tree, tmp_path / "copy")
    b = dinos.load_dataset("dinos", "yornew", data_dir=tmp_path / "copy", split="test", cache_dir=cache_dir,
                           decode=False)
    assert a["clip_id"] == b["clip_id"]
