"""Segmentation (window/hop/tail, provenance, seeking, streaming) and per-recording normalisation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import dinos
from dinos.audio import AudioDecoder, recording_stats
from dinos.errors import DinosError
from dinos.segment import (
    RecordingStats,
    normalization_affine,
    parse_normalize,
    parse_seconds,
    window_frames,
)

from .conftest import REAL_SAMPLES, write_tone

SR = 48_000


# --------------------------------------------------------------------------------------------
# Pure windowing
# --------------------------------------------------------------------------------------------
def test_parse_seconds():
    assert parse_seconds("1s") == 1.0 and parse_seconds("500ms") == 0.5 and parse_seconds(2) == 2.0
    assert parse_seconds(None) is None
    with pytest.raises(DinosError, match="cannot read a duration"):
        parse_seconds("one second")


def test_tail_policies():
    total = int(3.5 * SR)
    assert window_frames(total, SR, 1.0) == [(0, SR), (SR, SR), (2 * SR, SR)]
    assert window_frames(total, SR, 1.0, tail="pad")[-1] == (3 * SR, SR)
    assert window_frames(total, SR, 1.0, tail="keep")[-1] == (3 * SR, SR // 2)
    assert window_frames(SR // 2, SR, 1.0) == []  # shorter than one window: dropped
    assert window_frames(SR // 2, SR, 1.0, tail="pad") == [(0, SR)]
    assert window_frames(3 * SR, SR, 1.0, tail="pad") == [(0, SR), (SR, SR), (2 * SR, SR)]  # no empty tail
    assert window_frames(2 * SR, SR, 1.0, hop=0.5) == [(0, SR), (SR // 2, SR), (SR, SR)]
    with pytest.raises(DinosError, match="tail policy"):
        window_frames(total, SR, 1.0, tail="wrap")
    with pytest.raises(DinosError, match="shorter than one sample"):
        window_frames(total, SR, 1e-9)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 20_000),
    st.integers(1, 3000),
    st.one_of(st.none(), st.integers(1, 4000)),
    st.sampled_from(["drop", "pad", "keep"]),
)
def test_window_invariants(total, win, hop, tail):
    sr = 1000
    out = window_frames(total, sr, win / sr, None if hop is None else hop / sr, tail)
    step = win if hop is None else hop
    full = [w for w in out if w[1] == win and w[0] + win <= total]
    assert [s for s, _ in full] == list(range(0, step * len(full), step))  # regular grid from 0
    assert len(full) == (0 if total < win else (total - win) // step + 1)
    extra = out[len(full):]
    assert len(extra) <= 1
    if tail == "drop":
        assert not extra
    for start, n in extra:
        assert start < total and start + win > total  # a genuine partial window
        assert n == (win if tail == "pad" else total - start)


# --------------------------------------------------------------------------------------------
# Builder segmentation: provenance, seeking, streaming
# --------------------------------------------------------------------------------------------
def _source(root, rel):
    data, sr = sf.read(str(root / rel), dtype="float32")
    return data, sr


@pytest.mark.parametrize("tail,count,last", [("drop", 3, SR), ("pad", 4, SR), ("keep", 4, SR // 2)])
def test_pretraining_segments_keep_provenance(dinos_tree, cache_dir, tail, count, last):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            tail=tail, cache_dir=cache_dir)
    assert len(ds) == 4 * count  # four 3.5-s recordings
    rec = ds.filter(lambda p: "SK2540" in p, input_columns=["path"])
    assert rec["start_frame"] == [i * SR for i in range(count)]
    assert rec["offset"] == [float(i) for i in range(count)]
    assert rec["num_frames"][-1] == last and rec["duration"][-1] == last / SR
    path = rec["path"][0]
    assert set(rec["recording_id"]) == {path[:-4]}
    assert rec["clip_id"] == [f"{path}#{i * SR}" for i in range(count)]
    src, _ = _source(dinos_tree, path)
    for i in range(count):
        arr = rec[i]["audio"]["array"]
        want = src[i * SR:(i + 1) * SR]
        assert arr.shape == (rec["num_frames"][i],)
        np.testing.assert_array_equal(arr[: want.size], want)
        assert not arr[want.size:].any()  # the padded tail is zeros


def test_rows_reference_the_source_file_not_copies(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            cache_dir=cache_dir, decode=False)
    audio = ds[0]["audio"]
    assert audio["bytes"] is None and audio["path"].endswith(ds[0]["path"])


def test_overlapping_hop(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            hop="500ms", cache_dir=cache_dir, decode=False)
    starts = ds.filter(lambda p: "ShopFloor" in p, input_columns=["path"])["start_frame"]
    assert starts == [0, SR // 2, SR, 3 * SR // 2, 2 * SR, 5 * SR // 2]


def test_streaming_segments_match(dinos_tree, cache_dir):
    full = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                              cache_dir=cache_dir)
    stream = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                                cache_dir=cache_dir, streaming=True)
    rows = list(stream)
    assert [r["clip_id"] for r in rows] == full["clip_id"]
    np.testing.assert_array_equal(rows[5]["audio"]["array"], full[5]["audio"]["array"])


def test_segmentation_of_a_real_dcase_clip(tmp_path, cache_dir):
    """A real 10-s DCASE 2023 clip cut into 1-s windows: 10 clips, each the matching slice."""
    name = "section_00_source_train_normal_0705_m-n_X.wav"
    src = REAL_SAMPLES / "dcase2023t2_via_soundata" / "7882613" / "fan" / "train" / name
    root = tmp_path / "dcase2023"
    dst = root / "dev_data" / "raw" / "fan" / "train" / name
    dst.parent.mkdir(parents=True)
    shutil.copyfile(src, dst)
    dd = dinos.load_dataset("dcase_task2", "2023-fan", data_dir=root, segment="1s", cache_dir=cache_dir)
    (ds,) = dd.values()  # the one split holding the clip (named by the DCASE loader)
    assert len(ds) == 10
    assert ds["start_frame"] == [i * 16_000 for i in range(10)]
    assert len(set(ds["recording_id"])) == 1 and ds["recording_id"][0].endswith(name[:-4])
    data, sr = sf.read(str(src), dtype="float32")
    assert sr == 16_000
    np.testing.assert_array_equal(ds[7]["audio"]["array"], data[7 * sr:8 * sr])


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------
def test_normalization_affine():
    st_ = RecordingStats(mean=0.1, std=0.5, rms=np.sqrt(0.5**2 + 0.1**2))
    assert normalization_affine(None, st_) == (1.0, 0.0)
    assert normalization_affine("rms", st_) == pytest.approx((1 / st_.rms, 0.0))
    assert normalization_affine("zscore", st_) == pytest.approx((2.0, -0.2))
    assert normalization_affine("rms+zscore", st_) == pytest.approx((2.0, -0.2))  # same as z-score
    assert normalization_affine("zscore", RecordingStats(0.3, 0.0, 0.3)) == (1.0, -0.3)  # constant signal
    assert parse_normalize("none") is None
    with pytest.raises(DinosError, match="normalize must be one of"):
        parse_normalize("peak")


def test_recording_stats_match_numpy(tmp_path):
    path = write_tone(tmp_path / "a.wav", seconds=2.3, seed=3)
    x = sf.read(str(path), dtype="float64")[0]
    got = recording_stats(path, block_frames=10_000)  # several blocks
    assert got.mean == pytest.approx(x.mean(), abs=1e-12)
    assert got.std == pytest.approx(x.std(), rel=1e-9)
    assert got.rms == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-9)


@pytest.mark.parametrize("mode", ["rms", "zscore", "rms+zscore"])
def test_per_recording_normalisation(dinos_tree, cache_dir, mode):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            normalize=mode, cache_dir=cache_dir)
    rec = ds.filter(lambda p: "FormAlloy" in p, input_columns=["path"])
    x = sf.read(str(dinos_tree / rec["path"][0]), dtype="float64")[0]  # the whole 3.5-s recording
    want = x / np.sqrt(np.mean(x**2)) if mode == "rms" else (x - x.mean()) / x.std()
    for i in range(3):
        np.testing.assert_allclose(rec[i]["audio"]["array"], want[i * SR:(i + 1) * SR], rtol=1e-4, atol=1e-5)
    stats = rec[0]["stats"]  # typed struct (issue 13), nothing in the free-form attributes
    assert stats["mode"] == mode and stats["std"] == pytest.approx(x.std(), rel=1e-6)
    assert stats["rms"] == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-6)
    assert not any(a["name"].startswith(("normalize", "recording_")) for a in rec[0]["attributes"])
    # statistics are per recording, not per window: window 0 alone is not zero-mean/unit-std
    plain = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                               cache_dir=cache_dir, decode=False)
    row = plain.filter(lambda p: "FormAlloy" in p, input_columns=["path"])[0]
    assert row["stats"] is None  # built without normalize=: a null struct
    np.testing.assert_array_equal(
        AudioDecoder().decode_one(row["audio"], row["start_frame"], row["num_frames"], row["stats"])["array"],
        x[:SR].astype(np.float32),
    )


def test_decoder_without_normalisation_returns_raw(dinos_tree, cache_dir):
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", segment="1s",
                            normalize="zscore", cache_dir=cache_dir, decode=False)
    row = ds[0]
    assert row["stats"]["mode"] == "zscore"
    raw = AudioDecoder(normalize=False).decode_one(row["audio"], row["start_frame"], row["num_frames"],
                                                   row["stats"])["array"]
    x = sf.read(str(dinos_tree / row["path"]), dtype="float32")[0][:SR]
    np.testing.assert_array_equal(raw, x)


def test_unknown_normalisation_is_an_error(dinos_tree, cache_dir):
    with pytest.raises(DinosError, match="normalize must be one of"):
        dinos.load_dataset("dinos", "pretraining", data_dir=dinos_tree, split="train", normalize="peak",
                           cache_dir=cache_dir)
