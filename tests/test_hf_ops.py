"""Every standard `datasets` access path of a `dinos.load_dataset` result decodes (or says why not).

The tree is segmented into 0.5-s windows, so a path that decoded the `audio` struct alone (without
the row's `start_frame`/`num_frames`) would return a whole 1-s file, not the window: each check
compares against the row's own window read with soundfile.
"""

from __future__ import annotations

import pickle
import re
import sys
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pytest

import dinos
from dinos.audio import read_window
from dinos.errors import DinosError
from dinos.formatting import DinosDataset

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_dinos_tree  # noqa: E402

WINDOW = 24_000  # 0.5 s at 48 kHz


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("hfops")
    tree = make_dinos_tree(base / "tree", datasets=("Yornew",), per_class=1)
    cache = str(base / "cache")
    ds = dinos.load_dataset("dinos", "yornew", data_dir=tree, split="train", cache_dir=cache, segment="0.5s")
    return tree, cache, ds


def _want(tree: Path, row: dict) -> np.ndarray:
    return read_window(tree / row["path"], row["start_frame"], row["num_frames"])[0]


def _check(tree: Path, row: dict, array) -> None:
    arr = array.numpy() if hasattr(array, "numpy") else np.asarray(array)
    assert arr.dtype == np.float32 and arr.shape == (WINDOW,)
    np.testing.assert_array_equal(arr, _want(tree, row))


def test_windows_differ_so_the_checks_can_fail(built):
    tree, _, ds = built
    meta = ds.select_columns(["path", "start_frame"]).to_dict()
    assert set(meta["start_frame"]) == {0, WINDOW}  # two windows per file
    first, second = ds[0], ds[1]
    assert first["path"] == second["path"] and first["start_frame"] != second["start_frame"]
    assert not np.array_equal(first["audio"]["array"], second["audio"]["array"])


def test_getitem_and_formats(built):
    tree, _, ds = built
    meta = ds.select_columns(["path", "start_frame", "num_frames"])
    for fmt in (None, "numpy", "torch"):
        f = ds.with_format(fmt)
        assert isinstance(f, DinosDataset) and f.format["type"] == "dinos"
        for i in (0, 1, 5):
            _check(tree, meta[i], f[i]["audio"]["array"])
        batch = f[2:4]["audio"]
        for j, a in enumerate(batch):
            _check(tree, meta[2 + j], a["array"])
    import torch

    assert isinstance(ds.with_format("torch")[1]["audio"]["array"], torch.Tensor)
    assert isinstance(ds.with_format("numpy")[1]["label"], np.integer | np.ndarray)


def test_column_selection_keeps_the_window(built):
    tree, _, ds = built
    f = ds.with_format("numpy", columns=["audio", "label"])
    row = f[1]
    assert set(row) == {"audio", "label"}
    _check(tree, ds.select_columns(["path", "start_frame", "num_frames"])[1], row["audio"]["array"])
    both = ds.with_format("numpy", columns=["audio"], output_all_columns=True)[1]
    assert set(both) == set(ds.column_names) and isinstance(both["label"], int)


def test_column_object_and_iteration(built):
    tree, _, ds = built
    meta = ds.select_columns(["path", "start_frame", "num_frames"])
    _check(tree, meta[1], ds["audio"][1]["array"])
    for i, row in enumerate(ds):
        _check(tree, meta[i], row["audio"]["array"])
    seen = 0
    for batch in ds.with_format("torch").iter(batch_size=5):
        for a in batch["audio"]:
            _check(tree, meta[seen], a["array"])
            seen += 1
    assert seen == len(ds)


def test_map_batched_and_not(built):
    tree, _, ds = built
    one = ds.map(lambda ex: {"peak": float(np.abs(ex["audio"]["array"]).max())})
    many = ds.map(lambda b: {"peak": [float(np.abs(a["array"]).max()) for a in b["audio"]]}, batched=True, batch_size=4)
    want = [float(np.abs(_want(tree, r)).max()) for r in ds.select_columns(["path", "start_frame", "num_frames"])]
    assert one["peak"] == pytest.approx(want) and many["peak"] == pytest.approx(want)
    assert isinstance(one, DinosDataset) and one.features["audio"] == ds.features["audio"]
    _check(tree, one[1], one[1]["audio"]["array"])  # still decoded after map
    same = ds.map(lambda ex: ex)  # the example returned whole: the stored column is kept
    assert same.features == ds.features
    _check(tree, same[1], same[1]["audio"]["array"])
    labels_only = ds.map(lambda lab: {"is_normal": lab == 0}, input_columns=["label"])
    assert labels_only["is_normal"] == [lab == 0 for lab in ds["label"]]
    on_audio = ds.map(lambda a: {"n": len(a["array"])}, input_columns=["audio"])
    assert set(on_audio["n"]) == {WINDOW}


def test_map_that_changes_audio_is_refused(built):
    _, _, ds = built

    def louder(ex):
        ex["audio"] = {**ex["audio"], "array": ex["audio"]["array"] * 2}
        return ex

    def louder_in_place(ex):
        ex["audio"]["array"] *= 2
        return ex

    def louder_batch(batch):
        batch["audio"][1]["array"] = batch["audio"][1]["array"] * 2
        return batch

    def reversed_in_place(ex):  # keeps the sum: a sum-based check would miss it
        a = ex["audio"]["array"]
        a[:] = a[::-1].copy()
        return ex

    for function, batched in ((louder, False), (louder_in_place, False), (louder_batch, True),
                              (reversed_in_place, False)):
        with pytest.raises(DinosError, match="changed `audio`"):
            ds.map(function, batched=batched)
    ok = ds.map(lambda ex: {"waveform": ex["audio"]["array"] * 2})
    assert len(ok[1]["waveform"]) == WINDOW


def test_select_filter_shuffle_split_sort_concatenate(built):
    tree, _, ds = built
    results = {
        "select": ds.select([3, 1]),
        "filter": ds.filter(lambda ex: ex["start_frame"] > 0),
        "filter_columns": ds.filter(lambda s: s > 0, input_columns=["start_frame"]),
        "shuffle": ds.shuffle(seed=0),
        "split": ds.train_test_split(test_size=0.5, seed=0)["test"],
        "sort": ds.sort("clip_id"),
        "take": ds.take(3),
        "remove": ds.remove_columns(["machine"]),
        "concat": dinos.decode_audio(datasets.concatenate_datasets([ds, ds])),
    }
    for name, part in results.items():
        assert isinstance(part, DinosDataset), name
        for fmt in (None, "torch"):
            row = part.with_format(fmt)[1]
            meta = part.select_columns(["path", "start_frame", "num_frames"])[1]
            _check(tree, meta, row["audio"]["array"])
    # stock concatenation keeps the dinos format (rows decode) on a plain Dataset
    plain = datasets.concatenate_datasets([ds, ds])
    assert plain.format["type"] == "dinos"
    _check(tree, ds.select_columns(["path", "start_frame", "num_frames"])[1], plain[1]["audio"]["array"])


def test_to_iterable_dataset_and_dataloader(built):
    import torch

    tree, _, ds = built
    meta = ds.select_columns(["path", "start_frame", "num_frames"])
    rows = list(ds.to_iterable_dataset())
    assert len(rows) == len(ds)
    for i, row in enumerate(rows):
        _check(tree, meta[i], row["audio"]["array"])
    torch_row = next(iter(ds.with_format("torch").to_iterable_dataset(num_shards=2)))
    assert isinstance(torch_row["audio"]["array"], torch.Tensor)
    _check(tree, meta[0], torch_row["audio"]["array"])
    loader = torch.utils.data.DataLoader(ds.with_format("torch", columns=["audio", "label"]), batch_size=4)
    batch = next(iter(loader))
    assert batch["audio"]["array"].shape == (4, WINDOW) and batch["audio"]["array"].dtype == torch.float32
    for j in range(4):
        _check(tree, meta[j], batch["audio"]["array"][j])
    again = pickle.loads(pickle.dumps(ds))  # DataLoader workers under spawn
    assert isinstance(again, DinosDataset)
    _check(tree, meta[1], again[1]["audio"]["array"])


def test_cast_column(built):
    tree, _, ds = built
    low = ds.cast_column("audio", datasets.Audio(sampling_rate=16_000))
    a = low[1]["audio"]
    assert a["sampling_rate"] == 16_000 and a["array"].dtype == np.float32 and a["array"].shape == (WINDOW // 3,)
    assert ds[1]["audio"]["sampling_rate"] == 48_000  # the original is unchanged
    raw = ds.cast_column("audio", datasets.Audio(decode=False))
    assert type(raw) is datasets.Dataset and set(raw[1]["audio"]) == {"bytes", "path"}
    with pytest.raises(DinosError, match="never downmixes"):
        ds.cast_column("audio", datasets.Audio(num_channels=1))
    assert dinos.formatting.stored(ds)[0]["audio"]["bytes"] is None


def test_what_cannot_decode_says_so(built):
    _, _, ds = built
    with pytest.raises(DinosError, match="cannot hold decoded audio"):
        ds.with_format("pandas")
    assert isinstance(ds.with_format("arrow")[0], pa.Table)  # raw storage, as in stock datasets
    with pytest.raises(DinosError, match="start_frame and num_frames"):
        ds.select_columns(["audio", "label"])[0]


def test_save_to_disk_stores_what_stock_datasets_reads(built, tmp_path):
    import subprocess

    tree, cache, windows = built
    with pytest.raises(DinosError, match="window"):
        windows.save_to_disk(str(tmp_path / "refused"))  # datasets would embed the whole file per window
    assert not (tmp_path / "refused").exists()
    with pytest.raises(DinosError, match="window"):
        windows.push_to_hub("nobody/nothing")  # refused before any network access
    ds = dinos.load_dataset("dinos", "yornew", data_dir=tree, split="train", cache_dir=cache)  # whole files
    ds.save_to_disk(str(tmp_path / "saved"))
    saved = str(tmp_path / "saved")
    code = f"import datasets; d = datasets.load_from_disk({saved!r}); print(sorted(d[1]['audio']), d.format['type'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['bytes',", "'path']", "None"]  # no dinos import needed
    back = dinos.decode_audio(datasets.load_from_disk(str(tmp_path / "saved")))
    want = read_window(tree / back[1]["path"])[0]
    np.testing.assert_array_equal(back[1]["audio"]["array"], want)


def test_set_transform_receives_decoded_batches(built):
    tree, _, ds = built
    seen = {}

    def transform(batch):
        seen["audio"] = batch["audio"]
        return {"n": [len(a["array"]) for a in batch["audio"]]}

    t = ds.with_transform(transform)
    assert t[1] == {"n": WINDOW}
    _check(tree, ds.select_columns(["path", "start_frame", "num_frames"])[1], seen["audio"][0]["array"])


def test_features_and_repr_tell_what_is_stored_and_what_is_decoded(built):
    _, _, ds = built
    assert isinstance(ds.features["audio"], datasets.Audio) and ds.features["audio"].decode is False
    assert ds.format["type"] == "dinos" and "decoded by dinos" in repr(ds)


def test_normalised_build_needs_its_stats(built, tmp_path):
    tree, _, _ = built
    ds = dinos.load_dataset("dinos", "yornew", data_dir=tree, split="train", cache_dir=str(tmp_path / "c"),
                            normalize="rms")
    raw = read_window(tree / ds[0]["path"])[0]
    rms = float(np.sqrt(np.mean(raw.astype(np.float64) ** 2)))
    np.testing.assert_allclose(ds.with_format("numpy")[0]["audio"]["array"], raw / rms, rtol=1e-5, atol=1e-6)
    with pytest.raises(DinosError, match="stats"):
        ds.remove_columns(["stats"])[0]


@pytest.fixture(scope="module")
def export_dir(built, tmp_path_factory):
    from dinos.export import export

    tree, cache, _ = built
    out = tmp_path_factory.mktemp("hfops-export") / "hub"
    export("dinos", ["yornew"], data_dir=tree, out=out, cache_dir=cache, segment="0.5s")
    return out


def _card_blocks(out: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (out / "README.md").read_text(), flags=re.S)


def test_card_soundfile_snippet_runs_and_matches_dinos(built, export_dir, tmp_path, monkeypatch):
    tree, _, ds = built
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf"))
    blocks = [b for b in _card_blocks(export_dir) if "soundfile" in b]
    assert len(blocks) == 1
    scope: dict = {}
    exec(blocks[0].replace("DIR_OR_REPO", str(export_dir)), scope)  # noqa: S102 - the card's own snippet
    row, array, sr = scope["row"], scope["array"], scope["sampling_rate"]
    assert set(row["audio"]) == {"bytes", "path"} and sr == 48_000
    _check(tree, row, array)
    decoded = dinos.decode(row)
    np.testing.assert_array_equal(decoded["audio"]["array"], array)
    assert decoded["label"] == row["label"] and "bytes" in row["audio"]  # a copy: the row is unchanged
    assert decoded["audio"]["sampling_rate"] == 48_000
    assert dinos.decode(row, sampling_rate=16_000)["audio"]["array"].shape == (WINDOW // 3,)
    with pytest.raises(DinosError, match="already decoded"):
        dinos.decode(decoded)


def test_card_dinos_snippet_runs(built, export_dir, tmp_path, monkeypatch):
    tree, _, _ = built
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf"))
    blocks = [b for b in _card_blocks(export_dir) if "dinos.decode_audio" in b]
    assert len(blocks) == 1
    scope: dict = {}
    exec(blocks[0].replace("DIR_OR_REPO", str(export_dir)).replace('"DIR"', repr(str(export_dir))), scope)  # noqa: S102
    ds = scope["ds"]
    assert isinstance(ds, DinosDataset)
    _check(tree, ds[1], ds.with_format("torch")[1]["audio"]["array"])


def test_decode_of_a_row_from_disk_needs_its_window(built):
    tree, _, ds = built
    row = dinos.formatting.stored(ds)[1]
    _check(tree, row, dinos.decode(row, root=tree)["audio"]["array"])
    del row["start_frame"]
    with pytest.raises(DinosError, match="start_frame"):
        dinos.decode(row, root=tree)


# -- point 6: no silent default config --------------------------------------------------------------

def _configs(corpus: str) -> list[str]:
    from dinos.loaders import builder_class

    return [c.name for c in builder_class(corpus).BUILDER_CONFIGS]


@pytest.mark.parametrize("corpus", [c for c in dinos.corpora() if len(_configs(c)) > 1])
def test_a_corpus_with_several_configs_needs_one(corpus, tmp_path):
    with pytest.raises(DinosError) as exc:
        dinos.load_dataset(corpus, data_dir=tmp_path)
    msg = str(exc.value)
    configs = _configs(corpus)
    assert f"has {len(configs)} configs; name one" in msg and f"dinos.load_dataset({corpus!r}, " in msg
    listed = [c for c in configs if c in re.split(r"[ ,()]+", msg)]
    assert all(c in listed for c in configs if c == "all" or c.endswith("-all"))
    if len(configs) <= 20:
        assert listed == configs or set(listed) == set(configs)



@pytest.mark.parametrize("year", [2020, 2021, 2022, 2023, 2026])
def test_a_missing_dcase_config_is_suggested_from_the_tree(year, tmp_path):
    from dinos.synth import dcase

    dcase.write(tmp_path / "d", year=year, scale=0.1)
    with pytest.raises(DinosError) as exc:
        dinos.load_dataset("dcase_task2", data_dir=tmp_path / "d")
    msg = str(exc.value)
    fit = re.search(r"the folders in data_dir fit ([^(]+) \(", msg)
    assert fit and f"{year}-all" in fit.group(1).split(", "), msg
    for config in fit.group(1).split(", "):  # every suggestion builds (2020/2021 trees fit no later year)
        dinos.load_dataset("dcase_task2", config, data_dir=tmp_path / "d", cache_dir=str(tmp_path / "c"),
                           decode=False)
    assert f"dinos.load_dataset('dcase_task2', '{fit.group(1).split(', ')[-1]}', data_dir=...)" in msg
    assert all(int(c[:4]) in dinos.loaders.dcase_task2.years.YEAR_TABLE for c in fit.group(1).split(", "))

def test_a_corpus_with_one_config_needs_none(tmp_path):
    single = [c for c in dinos.corpora() if len(_configs(c)) == 1]
    assert single  # `folder`
    for corpus in single:
        try:
            dinos.load_dataset(corpus, data_dir=tmp_path)
        except DinosError as exc:  # an empty folder is refused for its content, never for a config
            assert "configs; name one" not in str(exc)


def test_file_shortened_after_the_build_is_an_error_not_zero_padding(tmp_path):
    """A window that now ends past its file's end (file rewritten shorter) names the file; a
    `tail="pad"` build keeps zero-padding its last window."""
    import numpy as np
    import soundfile as sf

    from dinos.errors import AudioError

    root = tmp_path / "own" / "normal"
    root.mkdir(parents=True)
    path = root / "a.wav"
    sf.write(path, (np.arange(16_000 * 3) % 100 / 1000).astype(np.float32), 16_000, subtype="PCM_16")
    ds = dinos.load_dataset("folder", data_dir=tmp_path / "own", segment="1s", split="train",
                            cache_dir=str(tmp_path / "c"))
    last = ds.num_rows - 1
    assert ds[last]["audio"]["array"].shape == (16_000,)
    data = sf.read(path, dtype="int16")[0]
    sf.write(path, data[: 16_000 * 2 + 8_000], 16_000, subtype="PCM_16")  # shorter: the last window now overhangs
    with pytest.raises(AudioError, match="window ends at frame 48000.*rebuild"):
        ds[last]
    assert ds[0]["audio"]["array"].shape == (16_000,)  # windows still inside the file decode
    padded = dinos.load_dataset("folder", data_dir=tmp_path / "own", segment="1s", tail="pad", split="train",
                                cache_dir=str(tmp_path / "c2"))
    tail = padded[padded.num_rows - 1]["audio"]["array"]
    assert tail.shape == (16_000,) and not tail[8_000:].any()  # the build's own padding stays zeros


def test_renaming_the_decoded_audio_column_is_an_error_not_the_stored_struct(tmp_path):
    root = make_dinos_tree(tmp_path / "d", datasets=("VF2",), per_class=1)
    ds = dinos.load_dataset("dinos", "vf2", data_dir=root, cache_dir=str(tmp_path / "c"), split="train")
    for rename in (lambda d: d.rename_column("audio", "wave"), lambda d: d.rename_columns({"audio": "wave"})):
        with pytest.raises(DinosError, match=r"dinos.stored\(ds\).rename_column"):
            rename(ds)
    other = ds.rename_column("label", "y")  # other columns rename as usual and audio stays decoded
    assert isinstance(other, dinos.DinosDataset) and other[0]["audio"]["array"].dtype == np.float32
    assert "y" in other.column_names
    raw = dinos.stored(ds).rename_column("audio", "wave")  # the stored struct, on purpose
    assert set(raw[0]["wave"]) == {"bytes", "path"}


def test_cast_of_another_column_flatten_indices_and_stored_of_a_dataset_dict(tmp_path):
    import datasets

    root = make_dinos_tree(tmp_path / "d", datasets=("VF2",), per_class=1)
    ds = dinos.load_dataset("dinos", "vf2", data_dir=root, cache_dir=str(tmp_path / "c"), split="train")
    cast = ds.cast_column("snr_db", datasets.Value("float64"))  # new_fingerprint passed by keyword
    assert cast.features["snr_db"] == datasets.Value("float64") and cast[0]["audio"]["array"].dtype == np.float32
    shuffled = ds.shuffle(seed=0)
    flat = shuffled.flatten_indices()  # a map without a function: copies the stored rows, never decoded
    assert isinstance(flat, dinos.DinosDataset) and flat._indices is None
    np.testing.assert_array_equal(flat[1]["audio"]["array"], shuffled[1]["audio"]["array"])
    dd = dinos.load_dataset("dinos", "vf2", data_dir=root, cache_dir=str(tmp_path / "c"))
    with pytest.raises(DinosError, match="dinos.stored"):
        dd.rename_column("audio", "x")
    raw = dinos.stored(dd).rename_column("audio", "x")  # the advice of that error works on a DatasetDict
    assert all(set(split[0]["x"]) == {"bytes", "path"} for split in raw.values())
    with pytest.raises(DinosError, match="remove_columns"):
        ds.flatten()  # would give audio.bytes / audio.path silently
    flat_meta = ds.remove_columns("audio").flatten()
    assert "provenance.year" in flat_meta.column_names


def test_a_mixed_years_dcase_tree_gets_no_suggestion_that_fails(tmp_path):
    import shutil

    from dinos.synth import dcase

    dcase.write(tmp_path / "a", year=2023, scale=0.1)
    dcase.write(tmp_path / "b", year=2024, scale=0.1)
    shutil.rmtree(tmp_path / "a" / "eval_data")
    shutil.copytree(tmp_path / "b" / "eval_data", tmp_path / "a" / "eval_data")  # the 2023 ground truth stays
    with pytest.raises(DinosError) as exc:
        dinos.load_dataset("dcase_task2", data_dir=tmp_path / "a")
    fit = re.search(r"the folders in data_dir fit ([^(]+) \(", str(exc.value))
    for config in fit.group(1).split(", ") if fit else []:
        dinos.load_dataset("dcase_task2", config, data_dir=tmp_path / "a", cache_dir=str(tmp_path / "c"),
                           decode=False)
