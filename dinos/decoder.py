"""The row decoder: `AudioDecoder` turns a batch's `audio` structs into float32 arrays.

Public name `dinos.audio.AudioDecoder` (re-exported there). Reads go through `dinos.audio._Source`
(plain PCM_16 WAV via `dinos.wav`, everything else via soundfile), grouped by recording per batch.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import weakref
from collections import OrderedDict

import numpy as np
import soundfile as sf

from . import wav
from .audio import (
    _EMPTY,
    ChannelSpec,
    TooManyOpenFiles,
    _channel_index,
    _resample,
    _Source,
    check_row_audio,
    read_window,
)
from .errors import AudioError

#: Every open-file cache of every decoder in this process, closed at interpreter exit before
#: soundfile's module state is torn down (otherwise each `SoundFile.__del__` prints a traceback).
_OPEN_CACHES: weakref.WeakSet = weakref.WeakSet()


class _HandleCache(OrderedDict):
    """path -> open `_Source` (LRU order); weak-referenceable so `_OPEN_CACHES` can track it."""

    __hash__ = object.__hash__  # identity: the registry tracks this object, not its contents

    def close_all(self) -> None:
        while self:
            try:
                self.popitem(last=False)[1].close()
            except Exception:  # noqa: BLE001, S110 - closing at exit: nothing left to report to
                pass


@atexit.register
def _close_open_files() -> None:
    for cache in list(_OPEN_CACHES):
        cache.close_all()


#: Batch blocks a thread keeps for reuse (each `(rows, frames)` float32: 12 MB for 64 one-second
#: 48 kHz windows); two suffice when a loop holds one batch while the next is decoded.
_KEPT_BLOCKS = 3
#: Larger blocks are not kept (the decoder would otherwise hold memory its user has released).
_KEPT_BLOCK_BYTES = 64 << 20
#: `sys.getrefcount` of a kept block nobody else references: the list, the loop name, the argument.
_UNREFERENCED = 3


def _block(local, rows: int, frames: int) -> np.ndarray:
    """A `(rows, frames)` float32 block for one batch: a kept block that no array of an earlier batch
    references any more (each row array is a view whose `base` holds the block, so the reference
    count says when the last one is gone), else a new one, kept for later batches (up to
    `_KEPT_BLOCKS` blocks of at most `_KEPT_BLOCK_BYTES` each per thread).

    Reusing a block writes into memory that is already mapped and cached: a fresh 12 MB block per
    batch costs the kernel's page faults and zero-filling on first touch, about 1/8 of decoding it
    (benchmarks/bench_loading.py). Without `sys.getrefcount` (not CPython) nothing is reused."""
    blocks = local.blocks
    if _COUNTS_REFERENCES:
        for blk in blocks:
            if blk.shape[1] == frames and blk.shape[0] >= rows and sys.getrefcount(blk) == _UNREFERENCED:
                return blk if blk.shape[0] == rows else blk[:rows]
    blk = np.empty((rows, frames), dtype=np.float32)
    if _COUNTS_REFERENCES and blk.nbytes <= _KEPT_BLOCK_BYTES:
        blocks.append(blk)
        if len(blocks) > _KEPT_BLOCKS:
            blocks.pop(0)  # still alive while its batch is; freed with it
    return blk


#: Most bytes read at once for a run of consecutive windows (`_runs`, all channels of the file): 2 MiB
#: is 21 one-second 48 kHz mono windows, still in a core's L2 cache for the scaling pass, and bounds the
#: int16 scratch a thread keeps (a window larger than this is read alone, as without runs).
RUN_BYTES = 2 << 20

#: A batch block at least this large is written with non-temporal stores (`dinos._pcm16`, x86-64): it
#: exceeds a core's L2 cache, so reading its old cache lines before overwriting them (what a plain store
#: does) is wasted; a smaller one stays in the cache for its consumer. Same values either way.
STREAM_BYTES = 4 << 20


def _runs(members: list, starts: list, frames: int, file_frames: int, limit: int):
    """`(first row, count)` runs of at most `limit` rows of `members` (batch rows of one file, in start
    order) whose rows are consecutive in the batch and whose windows follow each other in the file,
    all inside it."""
    i0, count, nxt = None, 0, None
    for i in members:
        s = starts[i] or 0
        if (i0 is not None and i == i0 + count and s == nxt and count < limit
                and s + frames <= file_frames):
            count += 1
        else:
            if i0 is not None:
                yield i0, count
            i0, count = i, 1
        nxt = s + frames
    if i0 is not None:
        yield i0, count


_COUNTS_REFERENCES = hasattr(sys, "getrefcount") and sys.implementation.name == "cpython"


class AudioDecoder:
    """Batch transform for `Dataset.with_transform` / `IterableDataset.map(batched=True)`.

    Replaces each `audio` struct by `{"array": float32 ndarray, "sampling_rate": int, "path": str}`.
    Picklable, so it works in torch `DataLoader` worker processes.

    Rows built with `normalize=` carry their recording's statistics in the typed `stats` column
    (`dinos.schema.RecordingStats`); with `normalize=True` (default) the decoder applies that
    per-recording normalisation; `normalize=False` returns the raw samples.

    Before decoding, the file is checked against what the row recorded at build time (its
    `sample_rate` and `channels`, that the window starts inside the file, and -- unless the build
    padded tails (`tail="pad"`) -- that it ends inside it): a file rewritten with another rate, channel
    count or a length that no longer fits the row is an `AudioError` asking for a rebuild. What these
    checks cannot see: a file rewritten with other samples but a header that still fits, and, in a
    `tail="pad"` build, a file shortened so that its last window now pads more zeros (rows do not
    record the file's length). Rebuild after changing files: the next `dinos.load_dataset` does so by
    itself, since its cache key includes each file's size and modification time.

    A batch of same-length one-channel windows of plain PCM_16 files (not normalised, not resampled)
    is checked once per file and decoded in one pass into a `(rows, frames)` block whose rows are
    the arrays (`_plain_windows`); blocks are reused once none of their arrays is referenced.
    A batch's windows are read grouped by recording (sorted by file and start frame), each
    recording's header parsed once per thread (and kept while the file is unchanged): plain PCM_16
    WAV through a raw file descriptor (`dinos.wav`, no libsndfile), anything else through a
    `SoundFile`. Up to `open_files` recordings stay open between batches, per thread (least recently
    used closed first; 0 keeps none: each batch opens its files and closes them). Each batch `stat`s
    each of its kept-open files once: a file replaced or rewritten since it was opened (other inode,
    size or mtime) is reopened and checked again. Open files belong to one
    thread of one process: they are dropped on pickling and after a fork, so DataLoader workers
    open their own.
    """

    def __init__(
        self,
        channel: ChannelSpec = None,
        sampling_rate: int | None = None,
        column: str = "audio",
        root: str | os.PathLike | None = None,
        normalize: bool = True,
        open_files: int = 256,
        pad_tail: bool = True,
    ):
        self.channel = channel
        self.sampling_rate = sampling_rate
        self.column = column
        self.root = None if root is None else str(root)
        self.normalize = normalize
        self.open_files = int(open_files)
        self.pad_tail = bool(pad_tail)
        self._local = threading.local()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_local"]  # open files never travel to another process
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("open_files", 256)
        state.setdefault("pad_tail", True)
        self.__dict__.update(state)
        self._local = threading.local()

    def _thread_state(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # new thread, or a forked worker
            old = getattr(local, "files", None)
            if old is not None:
                old.close_all()  # after a fork: this process' copies of the parent's descriptors
            local.pid, local.files, local.scratch, local.headers = os.getpid(), _HandleCache(), [_EMPTY], {}
            local.blocks = []
            _OPEN_CACHES.add(local.files)
        return local

    def _source(self, path: str, local, batch: dict | None = None) -> _Source:
        """The open source of `path` from this thread's LRU, (re)opened when the file changed.

        `batch` holds the sources the current batch uses (path -> source): the LRU may drop them, but
        only `decode_rows` closes them, once the batch is read (a batch may need more files than the
        LRU keeps)."""
        batch = {} if batch is None else batch
        files = local.files

        def drop_oldest() -> None:
            old_path, old = files.popitem(last=False)
            if batch.get(old_path) is not old:
                old.close()

        src = files.get(path)
        if src is not None:  # open already: is it still the same file?
            try:
                st = os.stat(path)
            except FileNotFoundError:
                raise AudioError("file does not exist", path) from None
            except OSError as exc:
                raise AudioError(f"cannot open audio ({exc.strerror})", path) from None
            if src.key == (st.st_ino, st.st_size, st.st_mtime_ns):
                files.move_to_end(path)
                return src
            del files[path]
            src.close()
        try:
            src = _Source(path, None, local.headers)  # opens, then `fstat`s the open file for its key
        except TooManyOpenFiles as exc:
            # the process is out of descriptors (a low `ulimit -n`, other threads' or datasets' kept
            # files): give back half of this thread's kept-open recordings and try once more
            for _ in range((len(files) + 1) // 2):
                drop_oldest()
            try:
                src = _Source(path, None, local.headers)
            except TooManyOpenFiles:
                raise AudioError(
                    f"cannot open audio ({exc.strerror}; {len(files)} recording(s) kept open by this thread, "
                    f"{len(batch)} read by this batch): raise the limit (`ulimit -n`), keep fewer open "
                    "(`open_files=`) or use smaller batches", path
                ) from None
            self.open_files = max(1, min(self.open_files, len(files) + 1))  # stay under what fitted
        if self.open_files > 0:
            files[path] = src
            while len(files) > self.open_files:
                drop_oldest()
        return src

    def _resolve(self, path: str | None) -> str | None:
        if path is None or self.root is None or os.path.isabs(path):
            return path
        return os.path.join(self.root, path)

    def decode_one(
        self,
        audio: dict,
        start_frame: int | None = None,
        num_frames: int | None = None,
        stats: dict | None = None,
        *,
        sample_rate: int | None = None,
        channels: int | None = None,
    ) -> dict:
        """Decode one `audio` struct; `stats` is the row's `stats` struct (or None), `sample_rate` and
        `channels` what the row recorded (checked against the file when given)."""
        return self.decode_rows([audio], [start_frame], [num_frames], [stats], [sample_rate], [channels])[0]

    def decode_rows(self, audios, starts, counts, stats, rates, chans, out: np.ndarray | None = None) -> list:
        """Decode parallel lists of row fields (the columns of a batch; `None` entries allowed).

        With `out` (`(len(audios), ...)` float32), row `i`'s array is written into `out[i]` and the
        returned `"array"` is that view; a row that decodes to another shape is an `AudioError`.
        Without `out`, a batch of same-length mono PCM_16 windows is decoded into one block too: its
        arrays are views of one `(rows, frames)` array (`.copy()` a clip kept long after its batch).
        """
        local = self._thread_state()
        n = len(audios)
        paths = [None if a is None else self._resolve(a.get("path")) for a in audios]
        from_file = [i for i in range(n) if audios[i] is not None and audios[i].get("bytes") is None
                     and paths[i] is not None]
        # grouped by recording, in file order: one stat per file per batch, neighbouring reads
        from_file.sort(key=lambda i: (paths[i], starts[i] or 0))
        in_files = set(from_file)
        order = from_file + [i for i in range(n) if i not in in_files]
        results: list = [None] * n
        sources: dict[str, _Source] = {}
        try:
            if len(from_file) == n and n and not (self.normalize and any(stats)):
                fast = self._plain_windows(sources, paths, from_file, starts, counts, rates, chans, local, out)
                if fast is not None:
                    return fast
            if out is None and n > 1 and len(from_file) == n:
                out = self._batch_block(sources, paths, from_file, counts, local)
            for i in order:
                audio = audios[i]
                if audio is None:
                    continue
                path = paths[i]
                start = starts[i] or 0
                target = None if out is None else out[i]
                expect = {"sample_rate": rates[i], "channels": chans[i]}
                norm = self._affine(stats[i], path)
                data = audio.get("bytes")
                if data is not None:
                    where = path or "<bytes>"
                    arr, sr = read_window(data, channel=self.channel, path_for_errors=where, expect=expect)
                elif path is None:
                    raise AudioError("audio struct has neither bytes nor path")
                else:
                    src = sources.get(path)
                    if src is None:
                        src = sources[path] = self._source(path, local, sources)
                    try:
                        check_row_audio(src, path, start_frame=start, num_frames=counts[i],
                                        pad_tail=self.pad_tail, **expect)
                        same_rate = self.sampling_rate in (None, src.samplerate)  # else resampled below
                        arr = src.window(start, counts[i], self.channel, path, local.scratch,
                                         target if same_rate else None)
                    except (sf.LibsndfileError, RuntimeError) as exc:
                        local.files.pop(path, None)
                        src.close()
                        raise AudioError(f"cannot decode audio ({exc})", path) from None
                    sr = src.samplerate
                if norm is not None:  # before resampling: the statistics are those of the source samples
                    arr *= np.float32(norm[0])
                    arr += np.float32(norm[1])
                if self.sampling_rate is not None and self.sampling_rate != sr:
                    arr, sr = _resample(arr, sr, self.sampling_rate), self.sampling_rate
                if target is not None and arr is not target:
                    if arr.shape != target.shape:
                        raise AudioError(
                            f"clip of shape {arr.shape} in a batch of {target.shape} clips: batches need "
                            "clips of one shape (use segment=, tail='pad'/'drop' and channel=0)", path)
                    target[...] = arr
                    arr = target
                results[i] = {"array": arr, "sampling_rate": sr, "path": path}
        finally:  # the batch's sources the LRU does not keep (dropped, or open_files=0) close now
            for path, src in sources.items():
                if local.files.get(path) is not src:
                    src.close()
        return results

    def _plain_windows(self, sources: dict, paths: list, rows: list, starts: list, counts: list, rates: list,
                       chans: list, local, out: np.ndarray | None) -> list | None:
        """The batch decoded in one pass when every row is a same-length window of a plain PCM_16 WAV
        file at its own rate, one channel out (mono files, or `channel=<int>`), not normalised; else
        None (nothing read yet: the general loop takes over). `rows` are in (path, start) order.

        Per file, not per row: one `_Source` lookup (its `stat`), one check of the rows' recorded
        rate/channels and window bounds against the header (a failing file re-runs `check_row_audio`
        row by row for its error). Per row: one `os.preadv` into this thread's small int16 scratch
        and one scaling ufunc into the row of the `(rows, frames)` float32 block (`dinos.wav`)."""
        frames = counts[rows[0]]
        if not isinstance(frames, int | np.integer) or frames <= 0 or any(counts[i] != frames for i in rows):
            return None
        n = len(paths)
        if out is not None and (out.dtype != np.float32 or out.shape[:2] != (n, frames) or out.ndim != 2):
            return None
        channel = self.channel
        if channel is not None and not isinstance(channel, int | np.integer):
            return None
        groups: dict[str, list[int]] = {}
        for i in rows:
            groups.setdefault(paths[i], []).append(i)
        for path, members in groups.items():
            src = sources.get(path)
            if src is None:
                src = sources[path] = self._source(path, local, sources)
            if src.layout is None or self.sampling_rate not in (None, src.samplerate):
                return None
            if channel is None and src.channels != 1:
                return None
            found = (src.samplerate, src.channels)
            last = max(starts[i] or 0 for i in members)
            if (any((rates[i], chans[i]) != found for i in members if rates[i] is not None and chans[i] is not None)
                    or (last and last >= src.frames) or (not self.pad_tail and last + frames > src.frames)):
                for i in members:  # raises the row's own error
                    check_row_audio(src, path, sample_rate=rates[i], channels=chans[i], start_frame=starts[i] or 0,
                                    num_frames=frames, pad_tail=self.pad_tail)
        block = _block(local, n, frames) if out is None else out
        stream = block.nbytes >= STREAM_BYTES
        scratch = local.scratch
        results: list = [None] * n
        for path, members in groups.items():
            src = sources[path]
            idx = 0 if channel is None else _channel_index(channel, src.channels, path)
            rate = src.samplerate
            limit = RUN_BYTES // (2 * frames * src.channels)
            for i0, count in _runs(members, starts, frames, src.frames, limit):
                try:
                    if count == 1:
                        scratch[0] = wav.decode_window_into(src.fd, src.layout, starts[i0] or 0, block[i0],
                                                            scratch[0], idx, stream)
                    else:
                        scratch[0] = wav.decode_run_into(src.fd, src.layout, starts[i0] or 0,
                                                         block[i0 : i0 + count], scratch[0], idx, stream)
                except OSError as exc:
                    raise AudioError(f"file changed while being read ({exc}); rebuild the dataset", path) from None
                for i in range(i0, i0 + count):
                    results[i] = {"array": block[i], "sampling_rate": rate, "path": path}
        return results

    def _batch_block(self, sources: dict, paths: list, rows: list, counts: list, local) -> np.ndarray | None:
        """One `(rows, frames)` float32 block for a batch of same-length mono PCM_16 windows (opening
        the batch's files into `sources`), else None. One large allocation instead of one per window:
        numpy backs it with huge pages, and the windows then cost no page faults of their own."""
        frames = counts[rows[0]]
        if not frames or frames <= 0 or any(counts[i] != frames for i in rows):
            return None
        for i in rows:
            path = paths[i]
            src = sources.get(path)
            if src is None:
                src = sources[path] = self._source(path, local, sources)
            if src.layout is None or self.sampling_rate not in (None, src.samplerate):
                return None
            if src.channels != 1 and not isinstance(self.channel, int):
                return None
        return _block(local, len(rows), frames)

    def _affine(self, stats: dict | None, path) -> tuple[float, float] | None:
        """`(scale, shift)` from the row's typed `stats` struct; None without one (or normalize=False)."""
        if not self.normalize or not stats:
            return None
        from .segment import RecordingStats, normalization_affine

        try:
            values = RecordingStats(float(stats["mean"]), float(stats["std"]), float(stats["rms"]))
            return normalization_affine(stats["mode"], values)
        except (KeyError, TypeError, ValueError) as exc:
            raise AudioError(f"row asks for normalisation but its `stats` are unreadable ({exc})", path) from None

    def __call__(self, batch: dict) -> dict:
        if self.column not in batch:  # e.g. `filter(..., input_columns=[...])` on a decoded dataset
            return batch
        audios = batch[self.column]
        none = [None] * len(audios)
        out = dict(batch)
        out[self.column] = self.decode_rows(
            audios, batch.get("start_frame") or none, batch.get("num_frames") or none,
            (batch.get("stats") or none) if self.normalize else none,
            batch.get("sample_rate") or none, batch.get("channels") or none,
        )
        return out

    def __repr__(self) -> str:
        return f"AudioDecoder(channel={self.channel!r}, sampling_rate={self.sampling_rate!r})"
