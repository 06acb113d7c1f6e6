"""The export's I/O machinery (`dinos.export_shards`): the windows of a recording read by scatter reads
(split at IOV_MAX, short reads resumed), a source file that shrinks while it is exported, the row group
written by a background thread (its error raised, nothing left behind)."""

from __future__ import annotations

import os

import pytest

import dinos.export_shards as S
from dinos.errors import AudioError
from dinos.export import sha256_file, write_export
from dinos.export_layout import PARTIAL_PREFIX

from .conftest import make_dinos_tree


@pytest.fixture
def tables(tmp_path):
    """Builder tables of the pretraining config of a small DINOS tree: 1-s windows (the last one padded)
    of 6.5-s recordings, or whole-file rows."""
    from dinos.api import get_builder

    tree = make_dinos_tree(tmp_path / "t", datasets=("Yornew",), per_class=1, pretrain_seconds=6.5)

    def build(segment):
        builder = get_builder("dinos", "pretraining", data_dir=tree, cache_dir=str(tmp_path / f"c{segment}"),
                              segment=segment)
        return {split: list(ts) for split, ts in builder.split_tables()}

    return tree, build


def _export(out, tree, tables, **kwargs):
    m = write_export(out, "dinos", lambda config: iter(tables.items()), ["pretraining"], root=tree,
                     sampling_rate=48_000, **kwargs)
    return [(s.path, s.num_rows, s.sha256) for info in m.configs["pretraining"].values() for s in info.shards]


def _nothing_written(out):
    return not out.exists() or sorted(p.name for p in out.rglob("*") if not p.name.startswith(".dinos")) == []


def test_scatter_reads_split_at_iov_max_and_resume_short_reads(tables, tmp_path, monkeypatch):
    """The windows of one recording are read by few `preadv` calls of several slots each; split at any
    IOV_MAX and with the kernel returning a few bytes a call, the shards are byte for byte the same."""
    tree, build = tables
    rows = build(1)
    calls = []
    real = os.preadv

    def counting(fd, buffers, offset):
        calls.append(len(buffers))
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", counting)
    want = _export(tmp_path / "a", tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert len(want) >= 3
    assert max(calls) > 1 and max(calls) <= S._IOV_MAX  # scatter reads (the sha256 thread reads 1 buffer)

    def trickle(fd, buffers, offset):  # at most 1,000 bytes a call, cut inside a slot
        calls.append(len(buffers))
        first = buffers[0][:1000]
        return real(fd, [first], offset)

    for iov_max, read in ((2, counting), (1, counting), (3, trickle)):
        monkeypatch.setattr(S, "_IOV_MAX", iov_max)
        monkeypatch.setattr(os, "preadv", read)
        calls.clear()
        assert _export(tmp_path / f"b{iov_max}", tree, rows, max_shard_mb=1, row_group_mb=0.5) == want
        assert max(calls) <= iov_max
    for path, _, digest in want:
        assert sha256_file(tmp_path / "a" / path) == digest


@pytest.mark.parametrize("segment", [1, None])
def test_a_source_file_truncated_during_the_export_is_an_error_naming_it(tables, tmp_path, monkeypatch, segment):
    """A recording cut short after its header was read (windows, and a whole-file row): `AudioError`
    naming the file, no partial export left (no card, manifest, shard or temporary file)."""
    tree, build = tables
    rows = build(segment)
    real = S._read_pending
    victim = {}

    def truncate_then_read(view, reads, sources):
        if reads and not victim:
            victim["path"] = sources.path
            os.truncate(sources.path, os.path.getsize(sources.path) - 50_000)
        return real(view, reads, sources)

    monkeypatch.setattr(S, "_read_pending", truncate_then_read)
    out = tmp_path / "hub"
    reason = "read back" if segment else "shrank"
    with pytest.raises(AudioError, match=reason) as err:
        _export(out, tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert victim and str(victim["path"]) in str(err.value)
    assert _nothing_written(out), sorted(out.rglob("*"))
    assert not list(out.rglob(f"{PARTIAL_PREFIX}*"))


def test_a_source_file_truncated_before_the_export_is_an_error_naming_it(tables, tmp_path):
    tree, build = tables
    rows = build(1)
    victim = sorted(tree.rglob("*.wav"))[-1]
    os.truncate(victim, os.path.getsize(victim) - 50_000)  # the header now promises more than the file holds
    out = tmp_path / "hub"
    with pytest.raises(AudioError, match=victim.name):
        _export(out, tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert _nothing_written(out)


def test_an_error_of_the_background_write_is_raised_and_leaves_nothing(tables, tmp_path, monkeypatch):
    tree, build = tables
    rows = build(1)
    real = S.ShardWriter._write_group
    count = {"n": 0}

    def failing(self, table):
        count["n"] += 1
        if count["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(self, table)

    monkeypatch.setattr(S.ShardWriter, "_write_group", failing)
    out = tmp_path / "hub"
    with pytest.raises(OSError, match="No space left"):
        _export(out, tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert count["n"] == 3
    assert _nothing_written(out)


def test_the_last_shards_hash_is_finished_after_the_card_and_an_error_there_leaves_nothing(tables, tmp_path,
                                                                                           monkeypatch):
    """The card is rendered while the last shard of each split is still hashed; the manifest then holds
    every shard's sha256. A failure in between (the card) removes everything and stops the hash threads."""
    import threading

    from dinos import cards
    from dinos.export import read_manifest, validate_export

    tree, build = tables
    rows = build(1)
    got = _export(tmp_path / "ok", tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert len(got) >= 3 and all(len(digest) == 64 for _, _, digest in got)
    assert [s.sha256 for s in read_manifest(tmp_path / "ok").configs["pretraining"]["train"].shards] == \
        [digest for _, _, digest in got]
    assert validate_export(tmp_path / "ok") == []

    def broken(*args, **kwargs):
        raise RuntimeError("card failed")

    monkeypatch.setattr(cards, "render_export_card", broken)
    out = tmp_path / "hub"
    with pytest.raises(RuntimeError, match="card failed"):
        _export(out, tree, rows, max_shard_mb=1, row_group_mb=0.5)
    assert _nothing_written(out)
    assert not [t for t in threading.enumerate() if t.name.startswith("dinos-export") and t.is_alive()]


def test_an_interrupted_wait_leaves_the_write_for_abort_to_join():
    """Ctrl-C lands while the main thread waits for the background row-group write: the job stays, so
    `abort` joins it before closing the writer (it was dropped before the wait, and abort tore the
    shard down under a write still running)."""
    from dinos.export_shards import ShardWriter

    class Job:
        calls = 0

        def wait(self):
            Job.calls += 1
            if Job.calls == 1:
                raise KeyboardInterrupt

    writer = ShardWriter.__new__(ShardWriter)
    writer._job = job = Job()
    with pytest.raises(KeyboardInterrupt):
        writer._wait_write()
    assert writer._job is job
    writer._wait_write()
    assert writer._job is None and Job.calls == 2


def test_the_audio_bytes_are_written_plain_and_uncompressed_in_pages_of_a_few_rows(tables, tmp_path):
    """`parquet_options`: the embedded WAV bytes skip dictionary encoding and snappy (distinct, barely
    compressible values), every other column keeps pyarrow's defaults; pages are cut every ~2 MiB of
    rows. The values read back are the rows' audio, through pyarrow and stock `datasets`."""
    import datasets
    import pyarrow.parquet as pq

    tree, build = tables
    rows = build(1)
    shards = _export(tmp_path / "out", tree, rows)
    meta = pq.ParquetFile(tmp_path / "out" / shards[0][0]).metadata
    chunks = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i) for i in range(meta.num_columns)}
    audio = chunks.pop("audio.bytes")
    assert audio.compression == "UNCOMPRESSED" and not audio.has_dictionary_page
    assert "RLE_DICTIONARY" not in audio.encodings and "PLAIN" in audio.encodings
    assert all(c.compression == "SNAPPY" for c in chunks.values())
    assert chunks["clip_id"].has_dictionary_page and chunks["machine"].has_dictionary_page
    ds = datasets.load_dataset("parquet", data_files=[str(tmp_path / "out" / s[0]) for s in shards], split="train")
    assert len(ds) == sum(t.num_rows for ts in rows.values() for t in ts)
    assert all(len(a["bytes"]) == 44 + 2 * n for a, n in zip(ds["audio"], ds["num_frames"], strict=True))


@pytest.mark.parametrize(("row_bytes", "batch"), [(0, 1024), (96_556, 21), (1, 1024), (5_700_000, 1), (2 << 20, 1)])
def test_pages_hold_about_two_mib_of_rows(row_bytes, batch):
    from dinos import schema

    opts = S.parquet_options(schema.features(sampling_rate=48_000).arrow_schema, "audio", row_bytes)
    assert opts["write_batch_size"] == batch
    assert "audio.bytes" not in opts["use_dictionary"] and "audio.path" in opts["use_dictionary"]
    assert opts["compression"]["audio.bytes"] == "none" and opts["compression"]["clip_id"] == "snappy"
    assert "attributes.list.element.name" in opts["use_dictionary"]  # nested leaves by Parquet's own names


_FSIZE_SCRIPT = """
import resource, signal, sys
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
sys.path.insert(0, sys.argv[3])
from tests.test_export_io import _export, _tables_of
tree, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = _tables_of(tree, Path(sys.argv[4]))
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))  # room for a row group or two, not a shard
try:
    _export(out, tree, rows, max_shard_mb=4, row_group_mb=0.2)
except OSError as exc:
    print("ERRNO", exc.errno)
    print("MESSAGE", exc)
"""


def _tables_of(tree, cache):
    from dinos.api import get_builder

    builder = get_builder("dinos", "pretraining", data_dir=tree, cache_dir=str(cache), segment=1)
    return {split: list(ts) for split, ts in builder.split_tables()}


def test_a_write_that_fails_in_the_os_names_the_shard_and_leaves_nothing(tables, tmp_path):
    """A real write failure (the process' file-size limit: EFBIG from the kernel, as a full disk gives
    ENOSPC) surfaces as an `OSError` with the kernel's errno whose message names the shard being
    written; nothing of the export is left."""
    import errno
    import subprocess
    import sys
    from pathlib import Path

    tree, build = tables
    build(1)  # the builder's cache is written here, outside the file-size limit
    out = tmp_path / "hub"
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", _FSIZE_SCRIPT, str(tree), str(out), str(repo), str(tmp_path / "c1")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert int(lines["ERRNO"]) == errno.EFBIG, done.stdout
    assert "cannot write the export shard" in lines["MESSAGE"] and "train-00000" in lines["MESSAGE"], done.stdout
    assert _nothing_written(out)


class _Interrupted(Exception):
    pass


@pytest.fixture
def alarm():
    """`alarm(seconds)`: a SIGALRM then raises `_Interrupted` in the main thread (as SIGTERM turned into
    SystemExit, or Ctrl-C, does)."""
    import signal

    def handler(signum, frame):
        raise _Interrupted

    old = signal.signal(signal.SIGALRM, handler)
    yield lambda seconds: signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_a_write_job_interrupted_while_waited_on_is_still_waited_for(alarm):
    """A signal lands while the main thread waits for the background row-group write; waiting again
    (what `abort` does before closing the writer) returns only when the write has ended. (A second
    `Thread.join` after an interrupted one returned at once on Python 3.11 while the thread still ran:
    abort then closed the pyarrow writer under the write, a segfault.)"""
    import time

    ended = []
    job = S._Job(lambda: (time.sleep(0.6), ended.append(time.monotonic())))
    alarm(0.1)
    with pytest.raises(_Interrupted):
        job.wait()
    assert not ended
    job.wait()
    assert len(ended) == 1


def test_a_hasher_stopped_after_an_interrupt_waits_for_its_read_and_closes_its_file(tmp_path, monkeypatch, alarm):
    import time

    from dinos.export_manifest import GrowingFileHasher

    p = tmp_path / "shard"
    p.write_bytes(b"x" * 5000)
    real, reads = os.preadv, []

    def slow(fd, buffers, offset):
        time.sleep(0.6)
        reads.append(fd)
        return real(fd, buffers, offset)

    monkeypatch.setattr(os, "preadv", slow)
    hasher = GrowingFileHasher(p)
    alarm(0.1)
    with pytest.raises(_Interrupted):
        hasher.hexdigest(5000)
    assert not reads  # interrupted during the first (slow) read
    hasher.abort()  # waits for the thread: its read has ended and it closed the file itself
    assert reads and hasher._finished.is_set()
