"""The export benchmark's baselines do the export's work: the goal's bare writer (plain code reading the
windows from the WAV files) writes the very audio bytes the export embedded, whatever chunks stand
before the samples; the timing itself is `python -m benchmarks.bench_export`, not a test."""

import os
import struct

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from benchmarks import bench_export
from dinos.export import export


def _wav_with_chunks(path, samples: np.ndarray, rate: int) -> None:
    """A PCM_16 mono WAV with a LIST chunk (odd size, padded) before `data`."""
    data = samples.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    info = b"INFOISFT\x05\x00\x00\x00abcd\x00\x00"
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", len(info) - 1)
            + info[:-1] + b"\x00" + b"data" + struct.pack("<I", len(data)) + data)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_data_offset_walks_the_chunks_before_the_samples(tmp_path):
    rng = np.random.default_rng(0)
    samples = rng.integers(-30000, 30000, 4800)
    path = tmp_path / "a.wav"
    _wav_with_chunks(path, samples, 48000)

    fd = os.open(path, os.O_RDONLY)
    try:
        offset = bench_export._data_offset(fd)
    finally:
        os.close(fd)
    assert np.array_equal(np.frombuffer(path.read_bytes()[offset:], "<i2"), sf.read(path, dtype="int16")[0])
    (tmp_path / "b.bin").write_bytes(b"RIFF\x00\x00\x00\x00AVI ")
    fd = os.open(tmp_path / "b.bin", os.O_RDONLY)
    try:
        with pytest.raises(ValueError):
            bench_export._data_offset(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("overlap", ["no", "yes"])
def test_bare_writer_of_the_same_work_writes_the_exports_audio_bytes(tmp_path, overlap):
    from benchmarks.corpus import RECORDING_SECONDS, write_pretrain_corpus

    tree, out, scratch = tmp_path / "tree", tmp_path / "out", tmp_path / "scratch"
    write_pretrain_corpus(tree, 2 * RECORDING_SECONDS / 3600)
    scratch.mkdir()
    first = min(tree.rglob("*.wav"))  # one recording gets chunks before its samples, as field recorders write
    samples, rate = sf.read(first, dtype="int16")
    _wav_with_chunks(first, samples, rate)
    # several shards, each with its own row groups (the last one of a shard short): the bare writer
    # writes one file with the same row groups
    export("dinos", ["pretraining"], data_dir=str(tree), out=str(out), cache_dir=str(tmp_path / "cache"),
           segment=1, row_group_mb=1.0, max_shard_mb=5.0)
    shards = sorted(out.rglob("*.parquet"))
    assert len(shards) > 1
    rows = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
    result = bench_export._worker_bare_reads(str(tree), str(out), str(scratch), overlap)  # raises if they differ
    assert result["rows"] == rows == RECORDING_SECONDS * len(list(tree.rglob("*.wav")))
    assert not list(scratch.iterdir())  # its file and the page-recycling file are removed


@pytest.mark.parametrize("fault", ["header", "samples", "row groups"])
def test_bare_writer_check_fails_when_the_bytes_differ(tmp_path, monkeypatch, fault):
    """The equality check is real: a baseline that wrote other headers, read other samples or cut other
    row groups is refused."""
    from benchmarks.corpus import RECORDING_SECONDS, write_pretrain_corpus

    tree, out, scratch = tmp_path / "tree", tmp_path / "out", tmp_path / "scratch"
    write_pretrain_corpus(tree, RECORDING_SECONDS / 3600)
    scratch.mkdir()
    export("dinos", ["pretraining"], data_dir=str(tree), out=str(out), cache_dir=str(tmp_path / "cache"), segment=1)
    if fault == "header":
        monkeypatch.setattr(bench_export, "_pcm16_header", lambda rate, ch, n: bytes(44))
    elif fault == "samples":
        offset = bench_export._data_offset
        monkeypatch.setattr(bench_export, "_data_offset", lambda fd: offset(fd) - 2)
    else:  # the same bytes in other row groups: each one split in two
        write = pq.ParquetWriter.write_table

        def split(self, table, row_group_size=None):
            half = max(1, table.num_rows // 2)
            write(self, table.slice(0, half), row_group_size=half)
            if table.num_rows > half:
                write(self, table.slice(half), row_group_size=table.num_rows - half)

        monkeypatch.setattr(pq.ParquetWriter, "write_table", split)
    with pytest.raises(RuntimeError, match="differ"):
        bench_export._worker_bare_reads(str(tree), str(out), str(scratch))


def test_bare_writer_names_a_source_file_cut_short(tmp_path):
    from benchmarks.corpus import RECORDING_SECONDS, write_pretrain_corpus

    tree, out, scratch = tmp_path / "tree", tmp_path / "out", tmp_path / "scratch"
    write_pretrain_corpus(tree, RECORDING_SECONDS / 3600)
    scratch.mkdir()
    export("dinos", ["pretraining"], data_dir=str(tree), out=str(out), cache_dir=str(tmp_path / "cache"), segment=1)
    last = max(tree.rglob("*.wav"))
    os.truncate(last, last.stat().st_size - 1000)
    with pytest.raises(OSError, match="short read in .*" + last.name):
        bench_export._worker_bare_reads(str(tree), str(out), str(scratch), "yes")
