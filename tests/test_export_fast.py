"""The export's byte-copy path: a window of a plain PCM_16 WAV is its sample bytes behind a WAV header,
byte for byte the file `read_window` + `encode_wav` (the soundfile path, kept for other subtypes) would
write; other subtypes still go through soundfile."""

from __future__ import annotations

import io
import struct

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from dinos.audio import encode_wav, read_window
from dinos.errors import AudioError
from dinos.export import _SourceCache, embed_audio, pcm16_data, wav_header

from .conftest import write_tone


def _soundfile_bytes(path, start: int, n: int, subtype: str) -> bytes:
    """What the export wrote before the byte-copy path: decode the window, encode it again."""
    arr, sr = read_window(path, start, n)
    return encode_wav(arr, sr, subtype if subtype in ("PCM_16", "PCM_24", "FLOAT") else "FLOAT")


def _row(rel: str, start: int, n: int) -> dict:
    return {"path": rel, "start_frame": start, "num_frames": n, "audio": {"bytes": None, "path": None}}


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_pcm16_windows_are_byte_identical_to_the_soundfile_path(tmp_path, channels, fmt):
    path = tmp_path / "a.wav"
    rng = np.random.default_rng(channels)
    x = rng.integers(-32768, 32768, (4_801, channels), dtype=np.int16)
    x[:5] = [[32767], [-32768], [16384], [-16385], [0]]
    sf.write(str(path), x, 16_000, format=fmt, subtype="PCM_16")
    sources = _SourceCache()
    try:
        windows = [(0, 1000), (1000, 1000), (4000, 801), (4000, 1000), (4800, 1000), (123, 4678), (0, 4800)]
        for start, n in windows:
            got = embed_audio(_row("a.wav", start, n), tmp_path, sources)["audio"]["bytes"]
            assert sources.pcm16 is not None  # the byte-copy path was taken
            assert got == _soundfile_bytes(path, start, n, "PCM_16"), (start, n)
            decoded = sf.read(io.BytesIO(got), dtype="int16", always_2d=True)[0]
            want = np.zeros((n, channels), np.int16)
            want[: max(0, min(n, 4_801 - start))] = x[start:start + n]
            np.testing.assert_array_equal(decoded, want)
        with pytest.raises(AudioError, match="window starts at frame 4801"):
            embed_audio(_row("a.wav", 4801, 10), tmp_path, sources)
    finally:
        sources.close()


@pytest.mark.parametrize("subtype", ["PCM_24", "FLOAT", "PCM_U8", "PCM_32"])
def test_other_subtypes_go_through_soundfile(tmp_path, subtype):
    path = write_tone(tmp_path / "b.wav", seconds=0.5, sr=8_000, subtype=subtype)
    got = embed_audio(_row("b.wav", 100, 2000), tmp_path)["audio"]["bytes"]
    assert got == _soundfile_bytes(path, 100, 2000, subtype)


def test_odd_layouts_fall_back_to_soundfile(tmp_path):
    """A chunk before `data`, RF64: `pcm16_data` finds the bytes or declines, never guesses."""
    x = (np.arange(2000) - 1000).astype(np.int16)
    plain = tmp_path / "plain.wav"
    sf.write(str(plain), x, 8_000, subtype="PCM_16")
    raw = plain.read_bytes()
    listed = tmp_path / "listed.wav"  # a LIST chunk of odd length (padded) before `data`
    body = raw[12:36] + b"LIST" + struct.pack("<I", 5) + b"abcde\0" + raw[36:]
    listed.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    rf64 = tmp_path / "rf64.wav"
    sf.write(str(rf64), x, 8_000, format="RF64", subtype="PCM_16")
    for path, fast in ((listed, True), (rf64, False)):
        sources = _SourceCache()
        try:
            got = embed_audio(_row(path.name, 10, 500), tmp_path, sources)["audio"]["bytes"]
            assert (sources.pcm16 is not None) == fast
        finally:
            sources.close()
        assert got == _soundfile_bytes(path, 10, 500, "PCM_16")
        with open(path, "rb") as fh:
            assert (pcm16_data(fh, sources(str(path)).info) is not None) == fast
        sources.close()


def test_wav_header_is_soundfiles():
    for channels, rate, frames in ((1, 48_000, 48_000), (2, 16_000, 7), (6, 44_100, 1)):
        arr = np.zeros((channels, frames), np.float32) if channels > 1 else np.zeros(frames, np.float32)
        assert wav_header(rate, channels, frames) == encode_wav(arr, rate, "PCM_16")[:44]


def test_cli_export_shows_a_row_bar_unless_quiet(tmp_path, capsys, monkeypatch):
    from dinos.cli import main

    from .conftest import make_dinos_tree

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    tree = make_dinos_tree(tmp_path / "t", datasets=("VF2",), per_class=1)
    common = ["export", "dinos", "vf2", "--data-dir", str(tree), "--cache-dir", str(tmp_path / "c")]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "\rvf2/train: 0 rows [00:00, ? rows/s]" in err  # the bar (tqdm), redrawn per row, cleared at the end
    assert "vf2/train: 3 rows in 1 shard(s)" in err
    assert main([*common, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def _wav_variants(tmp_path):
    """WAV files the export may meet: plain and odd PCM_16 layouts, other subtypes, broken headers."""
    x = (np.arange(3000) - 1500).astype(np.int16)
    out = {}
    for name, channels, fmt, subtype in (("mono", 1, "WAV", "PCM_16"), ("stereo", 2, "WAV", "PCM_16"),
                                         ("wavex", 3, "WAVEX", "PCM_16"), ("rf64", 1, "RF64", "PCM_16"),
                                         ("pcm24", 1, "WAV", "PCM_24"), ("float", 2, "WAV", "FLOAT")):
        path = tmp_path / f"{name}.wav"
        sf.write(str(path), np.stack([x] * channels, axis=1), 8_000, format=fmt, subtype=subtype)
        out[name] = path
    raw = out["mono"].read_bytes()
    body = raw[12:36] + b"LIST" + struct.pack("<I", 5) + b"abcde\0" + raw[36:]
    out["listed"] = tmp_path / "listed.wav"
    out["listed"].write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    out["truncated"] = tmp_path / "truncated.wav"  # the header promises more data than the file holds
    out["truncated"].write_bytes(raw[:-100])
    out["odd"] = tmp_path / "odd.wav"  # a data chunk of 1001 bytes: not whole 16-bit frames
    out["odd"].write_bytes(raw[:40] + struct.pack("<I", 1001) + raw[44:44 + 1001] + b"\0")
    out["empty"] = tmp_path / "empty.wav"
    out["empty"].write_bytes(b"")
    return out


def test_plain_pcm16_header_agrees_with_probe(tmp_path):
    """The header-only path answers for plain PCM_16 WAVs exactly what `probe` + `pcm16_data` say, and
    declines everything else (RF64, other subtypes, truncated or odd data, empty files)."""
    from dinos.audio import probe
    from dinos.export import plain_pcm16

    answered = set()
    for name, path in _wav_variants(tmp_path).items():
        with open(path, "rb") as fh:
            fast = plain_pcm16(fh.fileno())
            try:
                info = probe(path)
            except AudioError:
                assert fast is None, name
                continue
            if fast is not None:
                answered.add(name)
                got, span = fast
                fields = ("sample_rate", "channels", "frames", "subtype")
                assert [getattr(got, f) for f in fields] == [getattr(info, f) for f in fields], name
                assert span == pcm16_data(fh, info), name
    assert answered == {"mono", "stereo", "wavex", "listed"}


def test_source_cache_errors_name_the_file(tmp_path):
    """A file the header-only path declines still gets `probe`'s error, naming it."""
    files = _wav_variants(tmp_path)
    sources = _SourceCache()
    try:
        for name in ("truncated", "empty"):
            with pytest.raises(AudioError, match=f"{name}.wav"):
                sources(str(files[name]))
        with pytest.raises(AudioError, match="missing.wav"):
            sources(str(tmp_path / "missing.wav"))
        assert sources(str(files["odd"])).info.frames == 500  # declined by the header path: probe (libsndfile)
    finally:
        sources.close()


def test_background_hash_equals_the_files_sha256(tmp_path):
    """`_Hasher` hashes a growing file up to the offsets it is told, in any steps; abort stops it."""
    import hashlib

    from dinos.export_manifest import GrowingFileHasher as _Hasher

    path = tmp_path / "f.bin"
    data = np.random.default_rng(0).integers(0, 256, 3 * _Hasher._BLOCK + 12_345, dtype=np.uint8).tobytes()
    with open(path, "wb") as fh:
        hasher = _Hasher(path)
        for end in (0, 7, 7, _Hasher._BLOCK + 1, 2 * _Hasher._BLOCK, len(data) - 5):
            fh.write(data[fh.tell():end])
            fh.flush()
            hasher.advance(end)
        fh.write(data[fh.tell():])
    assert hasher.hexdigest(len(data)) == hashlib.sha256(data).hexdigest()
    hasher = _Hasher(path)
    hasher.advance(len(data) + 10)  # more than the file holds: an error, not a wrong digest
    with pytest.raises(OSError, match="shard ended"):
        hasher.hexdigest(len(data) + 10)
    hasher = _Hasher(path)
    hasher.advance(5)
    hasher.abort()


@pytest.mark.parametrize("row_group_mb", [0.2, 64])
def test_table_rows_and_dict_rows_write_the_same_shards(tmp_path, row_group_mb):
    """Rows given as Arrow tables (the builder's batches, columnar path) and the same rows as dicts
    write byte-identical shards, over several row groups and shards; the manifest's sha256 is the file's."""
    from dinos.api import get_builder
    from dinos.export import sha256_file, write_export

    from .conftest import make_dinos_tree

    tree = make_dinos_tree(tmp_path / "t", datasets=("Yornew",), per_class=1, pretrain_seconds=2.5)
    builder = get_builder("dinos", "yornew", data_dir=tree, cache_dir=str(tmp_path / "c"), segment=1)
    tables = {split: list(ts) for split, ts in builder.split_tables()}
    as_tables = lambda config: iter(tables.items())  # noqa: E731
    as_dicts = lambda config: ((s, (r for t in ts for r in t.to_pylist())) for s, ts in tables.items())  # noqa: E731
    shards = {}
    for name, rows in (("tables", as_tables), ("dicts", as_dicts)):
        m = write_export(tmp_path / name, "dinos", rows, ["yornew"], root=tree, sampling_rate=48_000,
                         max_shard_mb=0.5, row_group_mb=row_group_mb)
        shards[name] = [s for info in m.configs["yornew"].values() for s in info.shards]
        for s in shards[name]:
            assert sha256_file(tmp_path / name / s.path) == s.sha256
            groups = pq.ParquetFile(tmp_path / name / s.path).metadata.num_row_groups
            assert groups >= (2 if row_group_mb < 0.5 and s.num_rows > 3 else 1)
    assert shards["tables"] == shards["dicts"]
    assert len(shards["tables"]) >= 3


def test_windows_of_random_layouts_are_the_samples_libsndfile_reads(tmp_path):
    """The export's window bytes for the seeded random WAV layouts of `test_wav_layouts` (chunks real
    writers add and their faults): every file libsndfile reads as PCM_16 exports, on the byte-copy path
    or through soundfile, the samples libsndfile reads; each file it refuses, or that `probe` refuses
    (a `data` chunk promising more than the file holds, which libsndfile would shorten), is refused
    naming it."""
    import random

    from dinos.audio import probe

    from .test_wav_layouts import _random_wav, _soundfile

    def refused(path) -> bool:
        try:
            probe(path)
        except AudioError:
            return True
        return False

    copied = 0
    for i in range(400):
        blob, _ = _random_wav(random.Random(7_000_000 + i))
        path = tmp_path / f"r{i}.wav"
        path.write_bytes(blob)
        ref = _soundfile(blob)
        sources = _SourceCache()
        try:
            if ref is None or ref[2] == 0 or refused(path):
                with pytest.raises(AudioError, match=f"r{i}.wav"):
                    embed_audio(_row(path.name, 0, 1), tmp_path, sources)
                continue
            start, n = ref[2] // 3, max(1, ref[2] // 2)
            got = embed_audio(_row(path.name, start, n), tmp_path, sources)["audio"]["bytes"]
            copied += sources.pcm16 is not None
        finally:
            sources.close()
        decoded = sf.read(io.BytesIO(got), dtype="float32", always_2d=True)[0]
        want = np.zeros((n, ref[1]), np.float32)
        part = ref[5][start:start + n]
        want[:len(part)] = part
        np.testing.assert_array_equal(decoded, want, err_msg=f"draw {i}")
    assert copied > 100, copied  # the byte-copy path is among those checked


def test_a_rate_too_fast_for_a_wav_header_is_an_error_naming_the_file(tmp_path):
    """A file libsndfile opens at 1.1 GHz stereo: an exported window's header cannot hold its byte rate
    (32 bits), so the export says so, naming the file (not a `struct.error`)."""
    path = tmp_path / "fast.wav"
    sf.write(str(path), np.zeros((100, 2), np.int16), 1_100_000_000, subtype="PCM_16")
    with pytest.raises(AudioError, match="fast.wav.*too many bytes a second"):
        embed_audio(_row("fast.wav", 10, 20), tmp_path)
