"""Issue 11 (data side): no silent wrong result, no lost data, the library's own errors.

Each test builds a small hand-made DINOS tree (tests/conftest.py) and breaks it the way a user can.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import dinos
from dinos.buildlog import BuildWarning
from dinos.errors import AudioError, DinosError, LayoutError, UnsafePathError

from .conftest import make_dinos_tree, write_tone

VF2_ON = "DINOS_Downstreams_train/VF2/1-on"


@pytest.fixture
def vf2(tmp_path):
    return make_dinos_tree(tmp_path / "d", datasets=("VF2",))


def _load(root, cache_dir, **kw):
    kw.setdefault("split", "train")
    return dinos.load_dataset("dinos", "vf2", data_dir=root, cache_dir=cache_dir, **kw)


def _rewrite_keep_mtime(path: Path, **tone) -> None:
    """Rewrite `path` with other audio of the same byte size and give it back its old mtime."""
    st = path.stat()
    size = st.st_size
    write_tone(path, **tone)
    assert path.stat().st_size == size, "the test needs a same-size rewrite"
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# -- 1. the library's own errors --------------------------------------------------------------
def test_build_error_is_the_librarys_own(vf2, cache_dir):
    bad = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioError) as info:
        _load(vf2, cache_dir)
    assert info.value.path.endswith("stethoscope_train_0000.wav")
    assert "DatasetGenerationError" not in type(info.value).__name__
    with pytest.raises(dinos.AudioError):  # `except dinos.AudioError` works
        _load(vf2, cache_dir)


def test_corpus_name_typo_suggests(tmp_path):
    with pytest.raises(DinosError, match=r"unknown corpus 'dino'; did you mean 'dinos'\?"):
        dinos.load_dataset("dino", data_dir=tmp_path)
    with pytest.raises(DinosError, match="did you mean 'mimii_due'"):
        dinos.load_dataset("mimi_due", data_dir=tmp_path)


def test_corpus_name_check_lets_hub_ids_paths_and_packaged_builders_through(tmp_path):
    from dinos.api import check_corpus_name

    for name in ("org/dataset", "./local", str(tmp_path), "parquet", "csv", "audiofolder", "dinos"):
        check_corpus_name(name)


# -- 2. a cache never serves stale data -------------------------------------------------------
@pytest.mark.parametrize(
    "tone",
    [dict(sr=44_100, seconds=48_000 / 44_100 * 1.0), dict(channels=2, seconds=0.5)],
    ids=["44k1-header", "two-channels"],
)
def test_same_size_same_mtime_rewrite_rebuilds(vf2, cache_dir, tone):
    first = _load(vf2, cache_dir)
    target = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    idx = first["path"].index(f"{VF2_ON}/stethoscope_train_0000.wav")
    before = first[idx]["audio"]["array"]
    _rewrite_keep_mtime(target, **tone)
    assert before.shape == (48_000,)
    with pytest.raises(AudioError, match="44100 Hz|2 channel"):  # rebuilt: the format is refused
        _load(vf2, cache_dir)


def test_stale_normalisation_statistics_are_recomputed(vf2, cache_dir):
    target = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    rel = f"{VF2_ON}/stethoscope_train_0000.wav"
    first = _load(vf2, cache_dir, normalize="rms", decode=False)
    rms0 = first[first["path"].index(rel)]["stats"]["rms"]
    x, sr = sf.read(str(target), dtype="float64")
    st = target.stat()
    sf.write(str(target), (x * 3).astype(np.float32), sr, subtype="PCM_16")  # 3x louder, same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = _load(vf2, cache_dir, normalize="rms", decode=False)
    assert again[again["path"].index(rel)]["stats"]["rms"] == pytest.approx(3 * rms0, rel=1e-3)


def test_decoder_checks_the_file_against_its_row(vf2, cache_dir):
    ds = _load(vf2, cache_dir, decode=False)
    row = ds[0]
    write_tone(vf2 / row["path"], sr=44_100, channels=2)  # rewritten after the dataset was loaded
    decoder = dinos.audio.AudioDecoder(root=None)
    batch = {k: [v] for k, v in row.items()}
    with pytest.raises(AudioError, match="changed since the dataset was built.*44100 Hz, 2 channel"):
        decoder(batch)
    with pytest.raises(AudioError, match="changed since the dataset was built"):
        dinos.audio.AudioDecoder(open_files=0)(batch)


def test_skipped_file_reappears_when_readable_again(vf2, cache_dir):
    target = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    good = target.read_bytes()
    st = target.stat()
    target.write_bytes(b"\x00" * len(good))  # same size, unreadable
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.warns(BuildWarning, match="skipped invalid audio"):
        n_skipped = len(_load(vf2, cache_dir, skip_invalid=True))
    target.write_bytes(good)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len(_load(vf2, cache_dir, skip_invalid=True)) == n_skipped + 1


def test_build_warnings_are_replayed_on_cached_loads(vf2, cache_dir):
    (vf2 / "DINOS_Downstreams_train/VF2/9-mystery").mkdir()
    write_tone(vf2 / "DINOS_Downstreams_train/VF2/9-mystery/a.wav")
    (vf2 / VF2_ON / "stethoscope_train_0001.wav").write_bytes(b"")
    for _ in range(2):  # the second load comes from the cache and must say the same
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = _load(vf2, cache_dir, strict=False, skip_invalid=True)
        text = "\n".join(str(w.message) for w in caught)
        assert "9-mystery" in text and "strict=False" in text
        assert "skipped invalid audio" in text and "stethoscope_train_0001.wav" in text
    assert "none" in ds.features["task_class"].int2str(ds["task_class"])


# -- 3. nothing silently dropped --------------------------------------------------------------
def test_short_recording_under_tail_drop_is_reported(tmp_path, cache_dir):
    root = make_dinos_tree(tmp_path / "d", datasets=("VF2",))
    short = write_tone(root / VF2_ON / "short.wav", seconds=0.4)
    with pytest.warns(BuildWarning, match=r"1 recording\(s\) shorter than one window.*short\.wav"):
        ds = _load(root, cache_dir, segment="1s")
    assert f"{VF2_ON}/short.wav" not in ds["path"]
    with pytest.warns(BuildWarning, match="short.wav"):  # and again from the cache
        _load(root, cache_dir, segment="1s")
    builder = dinos.api.get_builder("dinos", "vf2", data_dir=root, cache_dir=cache_dir, segment="1s")
    with pytest.warns(BuildWarning, match="short.wav"):
        builder.download_and_prepare()
    assert dinos.build_report(ds) == builder.build_report  # the report stored with the cached build
    report = builder.build_report
    assert report.dropped_files == [f"{VF2_ON}/short.wav"]
    assert report.dropped_frames == sf.info(str(short)).frames
    assert "1 recording(s)" in report.summary()


def test_pretrain_unknown_folder_kept_with_strict_false(tmp_path, cache_dir):
    root = make_dinos_tree(tmp_path / "d", datasets=(), pretrain_seconds=1.0)
    write_tone(root / "DINOS_Pretrain" / "Lathe_microphone" / "rec.wav")
    with pytest.raises(dinos.ParseError, match="Lathe_microphone"):
        dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", cache_dir=cache_dir)
    with pytest.warns(UserWarning, match="Lathe_microphone"):
        ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", cache_dir=cache_dir,
                                strict=False, decode=False)
    row = ds[ds["path"].index("DINOS_Pretrain/Lathe_microphone/rec.wav")]
    assert row["class_name"] == "Lathe_microphone"
    assert row["machine"] == "unknown" and ds.features["label"].int2str(row["label"]) == "unknown"


# -- 4. paths stay inside data_dir ------------------------------------------------------------
def test_symlinked_file_outside_data_dir_is_refused(vf2, cache_dir, tmp_path):
    outside = write_tone(tmp_path / "secret" / "outside.wav")
    (vf2 / VF2_ON / "link.wav").symlink_to(outside)
    with pytest.raises(dinos.UnsafePathError, match="link.wav.*outside data_dir"):
        _load(vf2, cache_dir)
    with pytest.raises(UnsafePathError):  # not skippable
        _load(vf2, cache_dir, skip_invalid=True)


def test_symlinked_folder_outside_data_dir_is_refused(vf2, cache_dir, tmp_path):
    write_tone(tmp_path / "elsewhere" / "x.wav")
    (vf2 / "DINOS_Downstreams_train/VF2/3-warmup").rename(tmp_path / "moved")
    (vf2 / "DINOS_Downstreams_train/VF2/3-warmup").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(UnsafePathError, match="3-warmup/x.wav"):
        _load(vf2, cache_dir)


def test_symlink_inside_data_dir_is_fine(vf2, cache_dir):
    n = len(_load(vf2, cache_dir))
    (vf2 / VF2_ON / "again.wav").symlink_to(vf2 / "DINOS_Downstreams_test/VF2/1-on/stethoscope_test_0000.wav")
    with pytest.warns(BuildWarning, match="same audio"):
        assert len(_load(vf2, cache_dir)) == n + 1


def test_dangling_symlink_is_an_audio_error(vf2, cache_dir):
    (vf2 / VF2_ON / "gone.wav").symlink_to(vf2 / "nowhere.wav")
    with pytest.raises(AudioError, match="gone.wav: dangling symlink"):
        _load(vf2, cache_dir)
    with pytest.warns(BuildWarning, match="gone.wav: dangling symlink"):
        _load(vf2, cache_dir, skip_invalid=True)


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 file names")
def test_non_utf8_file_name_is_a_layout_error(vf2, cache_dir):
    src = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    os.rename(os.fsencode(src), os.fsencode(vf2 / VF2_ON) + b"/caf\xe9.wav")
    with pytest.raises(LayoutError, match=r"caf\\xe9.wav: file name is not valid UTF-8"):
        _load(vf2, cache_dir)
    with pytest.warns(BuildWarning, match=r"caf\\xe9.wav"):
        _load(vf2, cache_dir, skip_invalid=True)


def test_hard_linked_duplicate_under_two_classes_is_reported(vf2, cache_dir):
    os.link(vf2 / VF2_ON / "stethoscope_train_0000.wav", vf2 / "DINOS_Downstreams_train/VF2/2-off/dup.wav")
    with pytest.warns(BuildWarning, match="same audio.*1-on/stethoscope_train_0000.wav.*2-off/dup.wav"):
        _load(vf2, cache_dir)


def test_copied_duplicate_is_reported(vf2, cache_dir):
    data = (vf2 / VF2_ON / "stethoscope_train_0000.wav").read_bytes()
    (vf2 / "DINOS_Downstreams_train/VF2/2-off/copy.wav").write_bytes(data)
    with pytest.warns(BuildWarning, match="same audio.*2-off/copy.wav"):
        _load(vf2, cache_dir)


# -- 5. valid WAV variants are read -----------------------------------------------------------
@pytest.mark.parametrize("fmt,subtype", [("WAVEX", "PCM_16"), ("WAVEX", "PCM_24"), ("RF64", "PCM_16")])
def test_wavex_and_rf64_are_accepted(tmp_path, fmt, subtype):
    x = (0.1 * np.sin(np.arange(4800) / 10)).astype(np.float32)
    path = tmp_path / "a.wav"
    sf.write(str(path), x, 48_000, format=fmt, subtype=subtype)
    info = dinos.audio.probe(path)
    assert (info.sample_rate, info.channels, info.frames, info.format) == (48_000, 1, 4800, fmt)
    arr, _ = dinos.audio.read_window(path)
    np.testing.assert_allclose(arr, x, atol=1e-4)


def test_wavex_file_in_a_build(vf2, cache_dir):
    target = vf2 / VF2_ON / "stethoscope_train_0000.wav"
    x, sr = sf.read(str(target))
    sf.write(str(target), x, sr, format="WAVEX", subtype="PCM_24")
    ds = _load(vf2, cache_dir)
    row = ds[ds["path"].index(f"{VF2_ON}/stethoscope_train_0000.wav")]
    np.testing.assert_allclose(row["audio"]["array"], x, atol=1e-4)


# -- 11. no tracebacks at interpreter exit ----------------------------------------------------
def test_cached_handles_are_closed_by_the_exit_hook(vf2, cache_dir):
    ds = _load(vf2, cache_dir, decode=False)
    decoder = dinos.audio.AudioDecoder()
    decoder({k: ds[:4][k] for k in ds.column_names})
    handles = list(decoder._local.files.values())
    assert handles and not any(f.closed for f in handles)
    dinos.audio._close_open_files()  # what atexit runs, before soundfile's module state goes away
    assert all(f.closed for f in handles) and not decoder._local.files


def test_no_exception_ignored_at_exit(vf2, cache_dir):
    code = (
        "import dinos\n"
        f"ds = dinos.load_dataset('dinos', 'vf2', data_dir={str(vf2)!r}, cache_dir={cache_dir!r}, split='train')\n"
        "for i in range(len(ds)): ds[i]['audio']\n"
        "keep = ds\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr


def test_worker_processes_report_skips_and_drops(vf2, cache_dir):
    (vf2 / VF2_ON / "bad.wav").write_bytes(b"")
    write_tone(vf2 / "DINOS_Downstreams_train/VF2/2-off/short.wav", seconds=0.3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _load(vf2, cache_dir, skip_invalid=True, segment="1s", num_proc=2)
    text = "\n".join(str(w.message) for w in caught)
    assert "skipped invalid audio DINOS_Downstreams_train/VF2/1-on/bad.wav: zero-length file" in text
    assert "2-off/short.wav" in text


def test_anomaly_twin_copies_are_not_reported(tmp_path, cache_dir):
    from dinos.loaders.dinos import anomaly_copies

    root = make_dinos_tree(tmp_path / "d", datasets=("ColdSpray",), per_class=1)
    base = root / "DINOS_Downstreams_train"
    for clip in (base / "ColdSpray").rglob("*.wav"):  # the published T27 layout re-files the clips
        twin = base / "ColdSpray_anomaly" / clip.relative_to(base / "ColdSpray")
        twin.parent.mkdir(parents=True, exist_ok=True)
        twin.write_bytes(clip.read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dinos.load_dataset("dinos", "all", data_dir=root, cache_dir=cache_dir, decode=False)
    assert not [w for w in caught if "same audio" in str(w.message)]
    assert anomaly_copies(["DINOS_Downstreams_train/Yornew/a/x.wav", "DINOS_Downstreams_train/Yornew_anomaly/b/x.wav"])
    assert not anomaly_copies(["DINOS_Downstreams_train/Yornew/a/x.wav", "DINOS_Downstreams_train/Yornew/b/y.wav"])
    assert not anomaly_copies(["DINOS_Downstreams_train/Yornew/a/x.wav", "DINOS_Downstreams_test/Yornew_anomaly/a/x.wav"])


def test_cli_build_errors_are_one_line_library_errors(vf2, cache_dir, tmp_path):
    (vf2 / VF2_ON / "gone.wav").symlink_to(vf2 / "nowhere.wav")
    proc = subprocess.run(
        [sys.executable, "-m", "dinos", "export", "dinos", "vf2", "--data-dir", str(vf2), "--out", str(tmp_path / "o"),
         "--cache-dir", cache_dir],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 1
    assert "gone.wav: dangling symlink" in proc.stderr and "Traceback" not in proc.stderr


def test_cached_load_warns_again_in_the_same_process(vf2, cache_dir):
    (vf2 / VF2_ON / "stethoscope_train_0001.wav").write_bytes(b"")
    with pytest.warns(BuildWarning):
        _load(vf2, cache_dir, skip_invalid=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own default: once per location, unless re-raised on purpose
        _load(vf2, cache_dir, skip_invalid=True)
        _load(vf2, cache_dir, skip_invalid=True)
    assert sum("stethoscope_train_0001.wav" in str(w.message) for w in caught) == 2


def test_dangling_link_a_scanner_skips_is_still_reported(vf2, cache_dir, monkeypatch):
    from dinos.loaders import dinos as D

    (vf2 / VF2_ON / "gone.wav").symlink_to(vf2 / "nowhere.wav")
    listing = D._wavs

    def files_only(folder):  # a scanner that lists with `is_file()`, as several do
        return [p for p in listing(folder) if p.is_file()]

    monkeypatch.setattr(D, "_wavs", files_only)
    with pytest.raises(AudioError, match="gone.wav: dangling symlink"):
        _load(vf2, cache_dir)
    with pytest.warns(BuildWarning, match="gone.wav: dangling symlink"):
        _load(vf2, cache_dir, skip_invalid=True)


def test_user_mistakes_in_options_are_library_errors_with_a_hint(vf2, cache_dir):
    with pytest.raises(DinosError, match="unknown config 'vf3' of corpus 'dinos'; did you mean 'vf2'"):
        dinos.load_dataset("dinos", "vf3", data_dir=vf2, cache_dir=cache_dir)
    with pytest.raises(DinosError, match="unknown option segmnt='1s'.*did you mean 'segment'"):
        dinos.load_dataset("dinos", "vf2", data_dir=vf2, cache_dir=cache_dir, segmnt="1s")
    with pytest.raises(DinosError, match="split 'tets' is not in this build; did you mean 'test'"):
        _load(vf2, cache_dir, split="tets")
    assert len(_load(vf2, cache_dir, split="train[:2]")) == 2  # slicing still passes through


def test_force_rebuild_passes_through(vf2, cache_dir):
    (vf2 / VF2_ON / "stethoscope_train_0001.wav").write_bytes(b"")
    with pytest.warns(BuildWarning):
        _load(vf2, cache_dir, skip_invalid=True)
    with pytest.warns(BuildWarning, match="stethoscope_train_0001.wav"):  # rebuilt, report rewritten
        _load(vf2, cache_dir, skip_invalid=True, download_mode="force_redownload")
