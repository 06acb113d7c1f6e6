"""Fast paths (PCM_16 reads, kept-open handles, ClipBatches) equal the reference decode, and the
Parquet export is read, shard by shard, by a distributed engine (Ray Data, local mode)."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import dinos
from dinos.audio import AudioDecoder, read_window
from dinos.errors import AudioError
from dinos.fast import ClipBatches

from .conftest import make_dinos_tree, write_tone


def _reference(path, start, n, channels):
    with sf.SoundFile(str(path)) as f:
        f.seek(start)
        return f.read(n, dtype="float32", always_2d=True, fill_value=0.0)


@pytest.mark.parametrize("channels", [1, 2])
def test_pcm16_read_is_bit_exact_with_libsndfile_float_conversion(tmp_path, channels):
    rng = np.random.default_rng(1)
    ints = rng.integers(-32768, 32768, size=(5000, channels), dtype=np.int16)
    ints[:2] = [[-32768] * channels, [32767] * channels]  # the extremes of the range
    path = tmp_path / "x.wav"
    sf.write(str(path), ints, 16000, subtype="PCM_16")
    for start, n in [(0, 5000), (0, 100), (1234, 2000), (4000, 3000)]:  # the last one runs past the end
        got, sr = read_window(path, start, n)
        ref = _reference(path, start, n, channels)
        want = ref[:, 0] if channels == 1 else ref.T
        assert sr == 16000 and got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    assert read_window(path, 4000, 3000)[0][..., 1000:].any() == False  # noqa: E712 - zero padding


def test_float_files_still_reject_nan(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros(800, dtype=np.float32)
    data[10] = np.nan
    sf.write(str(path), data, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        AudioDecoder().decode_one({"bytes": None, "path": str(path)}, 0, 800)


def test_kept_open_handles_match_fresh_opens_and_survive_pickling(tmp_path):
    paths = [write_tone(tmp_path / f"r{i}.wav", seconds=2.0, sr=8000, seed=i) for i in range(3)]
    cached, fresh = AudioDecoder(open_files=2), AudioDecoder(open_files=0)
    order = [(p, s) for s in (0, 4000, 8000, 0, 12000) for p in paths]  # LRU of 2 over 3 files
    for p, s in order:
        a = cached.decode_one({"bytes": None, "path": str(p)}, s, 4000)["array"]
        np.testing.assert_array_equal(a, fresh.decode_one({"bytes": None, "path": str(p)}, s, 4000)["array"])
    assert len(cached._local.files) == 2
    clone = pickle.loads(pickle.dumps(cached))  # open handles are not part of the state
    assert not hasattr(clone._local, "files") and clone.open_files == 2
    a = clone.decode_one({"bytes": None, "path": str(paths[0])}, 0, None)["array"]
    np.testing.assert_array_equal(a, read_window(paths[0])[0])
    paths[1].unlink()
    with pytest.raises(AudioError, match="does not exist"):
        clone.decode_one({"bytes": None, "path": str(paths[1])}, 0, 10)


def test_clip_batches_cover_every_clip_once_and_shuffle_by_epoch(tmp_path):
    root = make_dinos_tree(tmp_path / "d", datasets=(), pretrain_seconds=5.0)
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s",
                            cache_dir=str(tmp_path / "c"), channel=0)
    plain = ClipBatches(ds, 6, columns=("clip_id",))
    assert len(plain) == 4  # 4 recordings x 5 windows = 20 clips -> 6 + 6 + 6 + 2
    batch = plain[0]
    assert batch["waves"].shape == (6, 48_000) and batch["waves"].dtype == np.float32
    np.testing.assert_array_equal(batch["waves"][2], ds[2]["audio"]["array"])
    shuffled = ClipBatches(ds, 6, shuffle=True, seed=3, columns=("clip_id",))
    ids = [c for b in shuffled for c in b["clip_id"]]
    assert sorted(ids) == sorted(ds["clip_id"]) and ids != list(ds["clip_id"])
    assert [c for b in shuffled for c in b["clip_id"]] == ids  # same epoch, same order
    shuffled.set_epoch(1)
    assert [c for b in shuffled for c in b["clip_id"]] != ids
    assert len(ClipBatches(ds, 6, drop_last=True)) == 3
    with pytest.raises(IndexError):
        plain[4]


def test_clip_batches_refuse_clips_of_different_lengths(tmp_path):
    root = make_dinos_tree(tmp_path / "d", datasets=(), pretrain_seconds=1.5)
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s", tail="keep",
                            cache_dir=str(tmp_path / "c"), channel=0)
    with pytest.raises(AudioError, match="one length"):
        ClipBatches(ds, 2)[0]


@pytest.mark.slow
def test_parquet_export_is_read_shard_by_shard_by_ray_data(tmp_path):
    pytest.importorskip("ray", reason="Ray Data not installed (pip install 'ray[data]')")
    import json

    from dinos.export import export

    root = make_dinos_tree(tmp_path / "d", datasets=("VF2",), per_class=2, pretrain_seconds=3.0)
    out = tmp_path / "export"
    export("dinos", ["pretraining"], data_dir=root, out=out, cache_dir=str(tmp_path / "c"), segment="1s",
           max_shard_mb=0.1)
    manifest = json.loads((out / "dinos_export.json").read_text())
    shards = sorted((out / "data" / "pretraining").glob("*.parquet"))
    assert len(shards) >= 3  # the export is split into independent files
    local = dinos.load_dataset(str(out), "pretraining", split="train", channel=0)
    want = {r["clip_id"]: r["audio"]["array"] for r in local}

    # Ray runs in its own process: ray.init leaves a SIGTERM handler and native threads behind in the
    # process that called it, and a pytest worker that later forks a `datasets` pool (num_proc) can then
    # wait for ever on a pool worker that terminate() did not stop
    script = f"""
import json, sys
import numpy as np, pyarrow.fs, ray
from dinos.audio import AudioDecoder
decoder = AudioDecoder(channel=0)

def decode(batch):
    arrays = [decoder.decode_one(a)["array"] for a in batch["audio"]]
    return {{"clip_id": batch["clip_id"], "wave": np.stack(arrays)}}

ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
try:  # an explicit filesystem: Ray's fsspec HTTP probe fails when aiohttp is not installed
    rds = ray.data.read_parquet({str(out / "data" / "pretraining")!r}, filesystem=pyarrow.fs.LocalFileSystem())
    rows = rds.map_batches(decode, batch_size=4).take_all()
finally:
    ray.shutdown()
np.savez({str(tmp_path / "rows.npz")!r}, clip_id=np.array([r["clip_id"] for r in rows]),
         wave=np.stack([r["wave"] for r in rows]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.load(tmp_path / "rows.npz")
    rows = [{"clip_id": str(c), "wave": w} for c, w in zip(got["clip_id"], got["wave"], strict=True)]
    total = sum(s["num_rows"] for s in manifest["configs"]["pretraining"]["train"]["shards"])
    assert len(rows) == total == len(want) == 12
    assert len({r["clip_id"] for r in rows}) == 12  # every row once
    for r in rows:
        np.testing.assert_array_equal(r["wave"], want[r["clip_id"]])
