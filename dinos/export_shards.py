"""Writing the Parquet shards of an export: the audio of each row embedded (`embed_audio`), rows grouped
into row groups and shards of bounded size (`ShardWriter`), each shard's sha256 taken while it is written.

A leaf of `dinos.export` (which re-exports these names). Speed matters here (`benchmarks/bench_export.py`):

- rows arrive as Arrow tables of the clip schema (the builder's batches) and stay columnar: only the
  audio column is built, into a reused row-group buffer (no Python `bytes` per row); rows are planned
  per run of one source file (`_plan_rows`: one path check and open, one header per window length);
- a window of a plain PCM_16 WAV is its sample bytes read from the kept-open source file straight into
  that buffer behind a 44-byte WAV header; the windows that lie back to back in the file are read by
  one scatter `os.preadv` (`_read_pending`, at most `_IOV_MAX` slots a call); other subtypes go
  through soundfile;
- a finished row group is written by a background thread while the next one is read into a second
  buffer; each shard's sha256 is computed by another thread from the shard file itself, up to the
  bytes the writer has finished (no second pass at the end).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from pathlib import Path, PurePosixPath

from . import io as dio
from .errors import AudioError, DinosError, LayoutError, UnsafePathError
from .export_layout import shard_name
from .export_manifest import GrowingFileHasher as _Hasher
from .export_manifest import Shard

_ROW_OVERHEAD = 512  # rough bytes of metadata per row, for the shard-size estimate
_KEEP_SUBTYPES = {"PCM_16", "PCM_24", "FLOAT"}  # exact through float32; anything else becomes FLOAT
_MAX_GROUP_BYTES = 2**31 - 1  # the audio column is `binary` (32-bit offsets)
_HEADER = 44  # bytes of the WAV header `wav_header` writes


class _SourceCache:
    """The source file of the rows being exported, kept open (windows of one recording arrive
    together): its header info and, for a plain PCM_16 WAV, where its sample bytes lie."""

    def __init__(self):
        self._key = None
        self._fh = None
        self.info = None
        self.pcm16: tuple[int, int] | None = None  # (data offset, data bytes) of a plain PCM_16 WAV

    def __call__(self, path: str) -> _SourceCache:
        from .audio import probe

        if self._key != path:
            self.close()
            try:
                self._fh = open(path, "rb")  # noqa: SIM115 - kept open for the file's windows, closed by close()
            except OSError:  # probe names the file and the reason
                self._fh = None
            fast = plain_pcm16(self._fh.fileno()) if self._fh is not None else None
            if fast is not None:  # a plain PCM_16 WAV: its header says all (no libsndfile call)
                self.info, self.pcm16 = fast
            else:  # anything else, or a fault: the full check, with its error naming the file
                if self._fh is not None:
                    self._fh.close()
                    self._fh = None
                self.info = probe(path)
                self._fh = open(path, "rb")  # noqa: SIM115
                self.pcm16 = None  # `plain_pcm16` (the same header walk) declined it: soundfile reads its windows
            self._key = path
        return self

    @property
    def path(self) -> str | None:
        """The path of the open source file."""
        return self._key

    def fileno(self) -> int:
        return self._fh.fileno()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._key = self._fh = self.info = self.pcm16 = None


def pcm16_data(fh, info) -> tuple[int, int] | None:
    """`(offset, size)` of the sample bytes of a PCM_16 WAV whose layout `dinos.wav.read_file_header`
    takes (the walk that agrees with libsndfile's) and whose rate, channels and frames are libsndfile's
    `info`; None for anything else (RF64, RIFX, layouts libsndfile may read otherwise): those windows
    go through soundfile."""
    from .wav import read_file_header

    fd = fh.fileno()
    layout = read_file_header(fd, os.fstat(fd).st_size)
    if layout is None or (layout.samplerate, layout.channels, layout.frames) != (
            info.sample_rate, info.channels, info.frames):
        return None
    return layout.data_offset, layout.frames * layout.block_align


def plain_pcm16(fd: int):
    """`(AudioInfo, (data offset, data bytes))` of a plain little-endian PCM_16 WAV read from its header
    alone (`dinos.wav.read_file_header`: the one layout where that parser and libsndfile agree), or
    None for anything else (those files go through `dinos.audio.probe` and libsndfile). The info's
    `format` is "WAV" (WAVE_FORMAT_EXTENSIBLE is not told apart: the export does not use it)."""
    from .audio import AudioInfo
    from .wav import read_file_header

    layout = read_file_header(fd, os.fstat(fd).st_size)
    if layout is None:
        return None
    info = AudioInfo(layout.samplerate, layout.channels, layout.frames, "WAV", "PCM_16")
    return info, (layout.data_offset, layout.frames * layout.block_align)


def wav_header(sample_rate: int, channels: int, frames: int) -> bytes:
    """The 44-byte header `soundfile.write(format="WAV", subtype="PCM_16")` writes (tested byte for byte)."""
    import struct

    data = frames * channels * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, channels, sample_rate,
                       sample_rate * channels * 2, channels * 2, 16, b"data", data)


def _iov_max() -> int:
    """The most buffers one `os.preadv` takes here (`SC_IOV_MAX`, capped at Linux's 1024)."""
    try:
        return max(1, min(os.sysconf("SC_IOV_MAX"), 1024))
    except (AttributeError, ValueError, OSError):
        return 16  # POSIX's minimum


_IOV_MAX = _iov_max()  # a longer stretch of windows takes several calls


def _read_vectors(fd: int, views: list, offset: int) -> int:
    """Fill `views` (in order) from `fd` starting at `offset`, one `os.preadv` call for all of them
    (more if the kernel returns less); the bytes read (less than asked only at the end of the file)."""
    done = 0
    while views:
        n = os.preadv(fd, views, offset + done)
        if n <= 0:
            break
        done += n
        while views and n >= len(views[0]):  # drop the views filled, cut the one filled in part
            n -= len(views[0])
            views = views[1:]
        if n:
            views = [views[0][n:], *views[1:]]
    return done


def _plan_rows(rel: str, starts, counts, root: str, sources: _SourceCache):
    """How the rows `(rel, start, n)` of ONE source file are embedded (a generator, one plan per row,
    in order): `(size, audio_path, kind, arg)` where kind is "file" (arg: the file's path; its bytes
    unchanged), "pcm" (arg: (file offset, bytes available, 44-byte header, frames): sample bytes
    behind the header, zeros past the end of the file) or "bytes" (arg: the WAV bytes soundfile
    encoded). Checks the path once and each window; the file stays open in `sources` while the plans
    are used (read by `_read_pending` before the next file is planned)."""
    if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        raise UnsafePathError("row path must be relative to the data directory", rel)
    full = os.path.join(root, rel)
    source = sources(full)
    info = source.info
    frames = info.frames
    stem = rel.rsplit(".", 1)[0]
    whole = None
    if source.pcm16 is not None:
        offset, size = source.pcm16
        align = 2 * info.channels
        headers: dict[int, bytes] = {}
    for start, n in zip(starts, counts, strict=True):
        start, n = int(start), int(n)
        if start == 0 and n == frames:
            if whole is None:
                whole = os.fstat(source.fileno()).st_size
            yield whole, rel, "file", full
            continue
        if info.sample_rate * info.channels * 2 >= 2**32:  # a WAV header's byte rate is 32-bit
            raise AudioError(f"{info.sample_rate} Hz x {info.channels} channels: too many bytes a second for "
                             "the WAV header of an exported window", full)
        if source.pcm16 is not None:
            if start >= frames:
                raise AudioError(f"window starts at frame {start}, file has {frames} frames", full)
            header = headers.get(n)
            if header is None:
                header = headers[n] = wav_header(info.sample_rate, info.channels, n)
            yield (_HEADER + n * align, f"{stem}_{start}-{start + n}.wav", "pcm",
                   (offset + start * align, min(n * align, size - start * align), header, n))
        else:
            yield _encoded_window(full, start, n, info, f"{stem}_{start}-{start + n}.wav")


def _encoded_window(full: str, start: int, n: int, info, audio_path: str):
    """The plan of a window that is not a plain PCM_16 WAV's: decoded and encoded again by soundfile."""
    from .audio import encode_wav, read_window

    arr, sr = read_window(full, start, n)
    if arr.shape[-1] != n:
        raise AudioError(f"window of {n} frames at {start} read back {arr.shape[-1]} frames", full)
    data = encode_wav(arr, sr, info.subtype if info.subtype in _KEEP_SUBTYPES else "FLOAT")
    return len(data), audio_path, "bytes", data


def _stage(view: memoryview, pos: int, plan, reads: list) -> None:
    """Put row `plan`'s bytes at `view[pos:pos + size]`: the header, zero padding and encoded bytes now;
    the bytes read from the source file are listed in `reads` for `_read_pending` (one call per run)."""
    size, _, kind, arg = plan
    if kind == "pcm":
        offset, avail, header, n = arg
        view[pos:pos + _HEADER] = header
        reads.append((pos + _HEADER, avail, offset, n))
        if _HEADER + avail < size:  # past the end of the file: zero samples
            view[pos + _HEADER + avail:pos + size] = bytes(size - _HEADER - avail)
    elif kind == "file":
        reads.append((pos, size, 0, None))
    else:
        view[pos:pos + size] = arg


def _read_pending(view: memoryview, reads: list, sources: _SourceCache) -> None:
    """Read the `(position in view, bytes, file offset)` slots of `reads` from the current source file:
    each stretch of slots that lie back to back in the file (consecutive windows of one recording) in
    one scatter read (`os.preadv`, at most `_IOV_MAX` slots a call). A file shorter than its header
    said raises `AudioError` naming it. Empties `reads`."""
    if not reads:
        return
    fd, i = sources.fileno(), 0
    while i < len(reads):
        j, end = i + 1, reads[i][2] + reads[i][1]
        while j < len(reads) and j - i < _IOV_MAX and reads[j][2] == end:
            end += reads[j][1]
            j += 1
        got = _read_vectors(fd, [view[p:p + size] for p, size, _, _ in reads[i:j]], reads[i][2])
        if got < end - reads[i][2]:
            _short_read(reads[i:j], got, sources)
        i = j
    reads.clear()


def _short_read(reads: list, got: int, sources: _SourceCache) -> None:
    """Raise the error for the first slot of `reads` that a read of `got` bytes (from the first slot's
    offset on) did not fill."""
    for _, size, _, n in reads:
        if got < size:
            if n is None:
                raise AudioError("file shrank while it was exported", sources.path)
            raise AudioError(f"window of {n} frames read back {got // (2 * sources.info.channels)} frames",
                             sources.path)
        got -= size
    raise AssertionError("no slot was short")  # pragma: no cover - called only after a short read


def embed_audio(row: dict, root: str | os.PathLike, sources: _SourceCache | None = None) -> dict:
    """`row` with its audio bytes embedded and a relative audio path.

    `root` is the data directory that `row["path"]` is relative to. A whole-file row carries the file's
    bytes unchanged. A window of a plain PCM_16 WAV is its sample bytes copied behind a WAV header (the
    samples `read_window` decodes, bit for bit, zero-padded past the end); other subtypes are decoded and
    re-encoded with soundfile (PCM_16/PCM_24/FLOAT kept, others as FLOAT). `sources` keeps the current
    source file open between calls (closed by its owner); without it, the file is opened for this row
    only. The bytes are those `ShardWriter.add_table` writes (same `_plan_rows`/`_stage`/`_read_pending`).
    """
    if sources is None:
        sources = _SourceCache()
        try:
            return embed_audio(row, root, sources)
        finally:
            sources.close()
    (plan,) = _plan_rows(row["path"], [row["start_frame"]], [row["num_frames"]], str(root), sources)
    buf, reads = bytearray(plan[0]), []
    _stage(memoryview(buf), 0, plan, reads)
    _read_pending(memoryview(buf), reads, sources)
    out = dict(row)
    out["audio"] = {"bytes": bytes(buf), "path": plan[1]}
    return out


class _Job:
    """One call run by a background thread; `wait()` returns once it ended and raises its error.

    `wait` waits on an `Event`, not on `Thread.join`: on Python 3.11 a join interrupted by an exception
    from a signal handler (SIGTERM turned into SystemExit, Ctrl-C) marks the thread as stopped, and a
    second join returns at once while the thread still runs -- `abort` then closed the pyarrow writer
    under a running write (a segfault in 1 of 4 SIGTERMs of a review). An interrupted `Event.wait` can
    simply be waited on again."""

    def __init__(self, fn, *args):
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(fn, args), name="dinos-export-write", daemon=True)
        self._thread.start()

    def _run(self, fn, args) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread by wait()
            self._error = exc
        finally:
            self._done.set()

    def wait(self) -> None:
        self._done.wait()
        if self._error is not None:
            raise self._error


#: Bytes of audio per Parquet data page the writer aims at (`parquet_options`' `write_batch_size`).
_PAGE_BYTES = 2 << 20


def parquet_options(schema, audio: str, row_bytes: int = 0) -> dict:
    """`pyarrow.parquet.ParquetWriter` options: the embedded WAV bytes (`<audio>.bytes`) are written PLAIN
    and uncompressed, every other column with pyarrow's defaults (dictionary + snappy), and pages are
    cut every `write_batch_size` rows, ~2 MiB of audio for rows of `row_bytes` (0: pyarrow's 1024).

    Why: every window's bytes are distinct, so pyarrow's default dictionary encoding of that column
    built a dictionary page of every value of a row group (66 MB of a 67 MB column chunk) before falling
    back to plain, and snappy saved 0.07 % of PCM audio. Without both, writing took 0.36 s instead of
    0.59 s and `pyarrow.parquet.read_table` 0.20 s instead of 0.47 s for 697 MiB of 1-s windows
    (benchmarks/bench_export.py); the files hold the same values and read with any Parquet reader.
    pyarrow checks the page size only every `write_batch_size` values: 1024 rows of 96 kB made one
    65 MB page, grown in memory a process's first time at ~0.2 s per row group."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.ParquetWriter(sink, schema).close()  # an empty file, for Parquet's names of the leaf columns
    leaves = pq.read_metadata(pa.BufferReader(sink.getvalue())).schema
    paths = [leaves.column(i).path for i in range(len(leaves))]
    raw = f"{audio}.bytes"
    batch = 1024 if row_bytes <= 0 else max(1, min(1024, _PAGE_BYTES // row_bytes))
    return {"use_dictionary": [p for p in paths if p != raw],
            "compression": {p: ("none" if p == raw else "snappy") for p in paths},
            "write_batch_size": batch}


@contextlib.contextmanager
def _naming(shard: Path | None):
    """An `OSError` of writing or hashing a shard (a full disk, a file-size limit, an I/O error: pyarrow's
    own messages name no file) raised again as an `OSError` with the same errno that names the shard."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, DinosError) or shard is None:
            raise
        reason = exc.strerror or str(exc)
        raise OSError(exc.errno, f"cannot write the export shard ({reason})", str(shard)) from exc


def _arena(size: int):
    """A writable buffer of `size` bytes, not zeroed (every byte of it is written before it is used)."""
    import numpy as np

    return np.empty(size, np.uint8)


class ShardWriter:
    """Writes the rows of one config/split as Parquet shards of at most ~`max_shard_bytes` each.

    Each shard is written atomically (`dinos.io.atomic_path`) under `out_dir`. A row larger than
    the bound gets a shard of its own. Row groups hold at most ~`row_group_bytes`. Rows come as
    Arrow tables of the clip schema (`add_table`, the audio embedded here from `root`) or as
    features-encoded dicts (`add`).

    A row group is written by a background thread (pyarrow releases the GIL) while the next one is
    read into a second buffer, so memory holds up to two row groups of audio.
    """

    _shard_path: Path | None = None  # the shard being written (named by its write errors)

    def __init__(self, out_dir: Path, config: str, split: str, features, *, max_shard_bytes: int,
                 row_group_bytes: int, root: str | os.PathLike = "", sources: _SourceCache | None = None):
        self.out_dir = Path(out_dir)
        self.config, self.split = config, split
        self.features = features
        self.schema = features.arrow_schema
        self.max_shard_bytes = max(1, int(max_shard_bytes))
        self.row_group_bytes = max(1, min(int(row_group_bytes), self.max_shard_bytes))
        self.root = str(root)
        self._own_sources = sources is None
        self.sources = _SourceCache() if sources is None else sources
        self.shards: list[Shard] = []
        self._writer = None
        self._sink = None
        self._hasher: _Hasher | None = None
        self._ctx = None  # the open dinos.io.atomic_path of the shard in progress
        self._unfinished = None  # (hasher, atomic_path, index in shards, path) of the last closed shard, until `finish`
        self._pending: list = []  # (table, first row, row count) slices of the row group in progress
        self._dicts: list[dict] = []  # rows given to `add`, not yet turned into a table
        self._paths: list[str] = []  # audio paths of the row group in progress
        self._offsets: list[int] = [0]  # audio byte offsets in the arena
        self._arena = _arena(min(self.row_group_bytes, 1 << 26))  # the audio bytes of a row group (reused)
        self._spare = None  # the other buffer: the row group being written by `self._job` lies in it
        self._job: _Job | None = None  # the write of the previous row group, in progress
        self._view = memoryview(self._arena)
        self._reads: list = []  # slots of the row group still to read from the current source (`_stage`)
        self._first = 0  # in `add_table`: the first row of its table not yet pending
        self._buffer_bytes = 0
        self._shard_bytes = 0
        self._shard_rows = 0
        self._audio = self.schema.get_field_index("audio")

    # -- input --------------------------------------------------------------------------------
    def add(self, row: dict) -> None:
        """Append one row (features-encoded: ClassLabels as ints; its audio is embedded from `root`)."""
        self._dicts.append(row)
        if len(self._dicts) >= 256:
            self._add_dicts()

    def _add_dicts(self) -> None:
        import pyarrow as pa

        rows, self._dicts = self._dicts, []
        if rows:
            self.add_table(pa.Table.from_pylist([{**r, "audio": None} for r in rows], schema=self.schema))

    def add_table(self, table, progress=None) -> None:
        """Append the rows of an Arrow table of the clip schema (its audio column is replaced by the
        embedded audio); `progress(n)` is called as rows are done."""
        if not table.schema.equals(self.schema, check_metadata=False):
            try:
                table = table.select(self.schema.names).cast(self.schema)
            except (KeyError, ValueError, TypeError) as exc:
                raise LayoutError(f"rows do not match the clip schema ({exc})") from None
        paths = table.column("path").to_pylist()
        starts = table.column("start_frame").to_pylist()
        counts = table.column("num_frames").to_pylist()
        self._first = 0  # first row of `table` not yet in `self._pending`
        lo = 0
        while lo < len(paths):  # one run of rows of the same source file at a time (its windows)
            rel, hi = paths[lo], lo + 1
            while hi < len(paths) and paths[hi] == rel:
                hi += 1
            try:
                self._add_run(table, lo, _plan_rows(rel, starts[lo:hi], counts[lo:hi], self.root, self.sources))
                _read_pending(self._view, self._reads, self.sources)  # before the next run changes the file
            finally:
                self._reads.clear()
            if progress is not None:
                progress(hi - lo)
            lo = hi
        self._pend(table, self._first, table.num_rows)

    def _add_run(self, table, i: int, plans) -> None:
        """Place the rows `i, i + 1, ...` of `table` (one source file, `plans` from `_plan_rows`) in the
        row-group buffer, closing row groups and shards as they fill."""
        for plan in plans:
            size = plan[0]
            row = size + _ROW_OVERHEAD
            pos = self._offsets[-1]
            new_shard = self._shard_rows and self._shard_bytes + row > self.max_shard_bytes
            if new_shard or (self._paths and pos + size > _MAX_GROUP_BYTES):
                self._pend(table, self._first, i)
                self._first = i
                if new_shard:
                    self._close_shard()
                else:
                    self._flush_group()
                pos = 0
            if size > _MAX_GROUP_BYTES:
                raise AudioError(f"{size} bytes of audio in one row: more than Parquet's 2 GiB per value",
                                 self.sources.path)
            if len(self._arena) < pos + size:
                grown = _arena(max(pos + size, 2 * len(self._arena)))
                grown[:pos] = self._arena[:pos]  # slots still to read are read into `grown`
                self._arena, self._view = grown, memoryview(grown)
            _stage(self._view, pos, plan, self._reads)
            self._paths.append(plan[1])
            self._offsets.append(pos + size)
            self._buffer_bytes += row
            self._shard_bytes += row
            self._shard_rows += 1
            i += 1
            if self._buffer_bytes >= self.row_group_bytes:
                self._pend(table, self._first, i)
                self._first = i
                self._flush_group()

    def _pend(self, table, lo: int, hi: int) -> None:
        if hi > lo:
            self._pending.append((table, lo, hi - lo))

    # -- output -------------------------------------------------------------------------------
    def _open(self, row_bytes: int = 0) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._shard_path = self.out_dir / shard_name(self.config, self.split, len(self.shards))
        self._ctx = dio.atomic_path(self._shard_path)
        tmp = self._ctx.__enter__()
        with _naming(self._shard_path):
            self._sink = pa.OSFile(str(tmp), "wb")
            self._hasher = _Hasher(tmp)
        self._writer = pq.ParquetWriter(self._sink, self.schema, **parquet_options(self.schema, "audio", row_bytes))

    def _flush_group(self) -> None:
        import pyarrow as pa

        if not self._pending:
            return
        _read_pending(self._view, self._reads, self.sources)
        if self._writer is None:  # pages sized from this first row group's rows
            self._open(self._buffer_bytes // max(1, sum(n for _t, _lo, n in self._pending)))
        parts = [t.slice(lo, n) for t, lo, n in self._pending]
        table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        table = table.set_column(self._audio, self.schema.field(self._audio), self._audio_column())
        del parts
        self._wait_write()  # one write at a time; the spare buffer is free once the previous one is done
        self._job = _Job(self._write_group, table)
        spare = self._spare if self._spare is not None else _arena(len(self._arena))
        self._spare, self._arena, self._view = self._arena, spare, memoryview(spare)
        self._pending, self._paths, self._offsets, self._buffer_bytes = [], [], [0], 0

    def _write_group(self, table) -> None:
        """Write one row group (in the background thread); the hasher may then read up to its end."""
        self._writer.write_table(table, row_group_size=table.num_rows)
        self._hasher.advance(self._sink.tell())

    def _wait_write(self) -> None:
        """Wait for the row group being written; its error (e.g. a full disk) is raised here. An interrupt
        (Ctrl-C, SIGTERM turned into an exception) during the wait leaves the job in place, so that
        `abort` joins the write before it closes the writer and removes the shard under it."""
        job = self._job
        if job is not None:
            with _naming(self._shard_path):
                job.wait()
            self._job = None

    def _audio_column(self):
        """The `{bytes, path}` struct column over `self._arena` (not touched again until the write of
        this row group has returned: `_flush_group` swaps the buffers)."""
        import numpy as np
        import pyarrow as pa

        offsets = np.asarray(self._offsets, np.int32)
        total = self._offsets[-1]
        data = pa.Array.from_buffers(pa.binary(), len(self._paths),
                                     [None, pa.py_buffer(offsets), pa.py_buffer(self._view[:total])])
        audio_type = self.schema.field(self._audio).type
        return pa.StructArray.from_arrays([data, pa.array(self._paths, pa.string())], fields=list(audio_type))

    def _close_shard(self) -> None:
        """Close the shard in progress. Its sha256 is still being computed: it is finished (hash
        awaited, file moved into place) by `finish`, called when the next shard closes or by the
        owner (so the hash of its last row group overlaps other work)."""
        self._flush_group()
        self._wait_write()
        if self._writer is None:
            return
        with _naming(self._shard_path):
            self._writer.close()
            self._writer = None
            size = self._sink.tell()
            self._sink.close()
            self._sink = None
        self.finish()  # the shard before this one
        self.shards.append(Shard(shard_name(self.config, self.split, len(self.shards)), self._shard_rows, size, ""))
        self._unfinished = (self._hasher, self._ctx, len(self.shards) - 1, self._shard_path)
        self._hasher = self._ctx = None
        self._shard_rows = self._shard_bytes = 0

    def finish(self) -> None:
        """Wait for the sha256 of the last closed shard, record it (in place in `self.shards`, the list
        `close` returned) and move the shard into place."""
        if self._unfinished is None:
            return
        (hasher, ctx, i, shard), self._unfinished = self._unfinished, None
        try:
            with _naming(shard):
                self.shards[i] = dataclasses.replace(self.shards[i], sha256=hasher.hexdigest(self.shards[i].num_bytes))
        except BaseException as exc:
            _discard(ctx, exc)
            raise
        ctx.__exit__(None, None, None)  # renames the finished shard into place

    def close(self, finish: bool = True) -> list[Shard]:
        """Write what is left, close the last shard; the shards written. With `finish=False` the last
        shard's `sha256` is "" and the shard keeps its temporary name until `finish()` (or `abort()`)."""
        self._add_dicts()
        self._close_shard()
        if finish:
            self.finish()
        if self._own_sources:
            self.sources.close()
        return self.shards

    def abort(self) -> None:
        """Remove the shard in progress and a closed one not yet finished (finished shards stay in the
        staging folder)."""
        self._pending, self._dicts, self._reads = [], [], []
        job, self._job = self._job, None
        if job is not None:
            try:
                job.wait()
            except Exception:  # noqa: BLE001 - the shard is discarded anyway
                pass
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
            self._writer = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        if self._hasher is not None:
            hasher, self._hasher = self._hasher, None
            hasher.abort()
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            _discard(ctx, RuntimeError("export aborted"))
        if self._unfinished is not None:
            (hasher, ctx, _, _), self._unfinished = self._unfinished, None
            hasher.abort()
            _discard(ctx, RuntimeError("export aborted"))
        if self._own_sources:
            self.sources.close()


def _discard(ctx, exc: BaseException) -> None:
    """Leave an open `dinos.io.atomic_path` as if its block raised `exc`: its temporary file is removed."""
    try:
        ctx.__exit__(type(exc), exc, None)
    except BaseException as again:  # noqa: BLE001 - the generator re-raises `exc` (or its own error)
        if again is not exc:
            raise
