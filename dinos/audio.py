"""Audio I/O with soundfile: probing, validated windowed reads and the row decoder.

No torchcodec anywhere: the `audio` column is stored as the plain HF `Audio` struct `{bytes, path}`
with `decode=False`, and `AudioDecoder` turns it into `{"array", "sampling_rate", "path"}`.

Contract of a row's audio: if `bytes` is set, the bytes are exactly this clip; otherwise the clip is
frames `[start_frame, start_frame + num_frames)` of the file at `path` (zero-padded past its end).
"""

from __future__ import annotations

import atexit
import io
import os
import struct
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import wav
from .errors import AudioError

ChannelSpec = int | Sequence[int] | None

#: libsndfile container names that are all WAV audio: plain RIFF/WAVE, WAVE_FORMAT_EXTENSIBLE
#: (multichannel or 24-bit writers use it) and RF64 (WAV over 4 GiB). `expect_format="WAV"` accepts each.
WAV_FORMATS = frozenset({"WAV", "WAVEX", "RF64"})


@dataclass(frozen=True)
class AudioInfo:
    """What the file header says, after it has been checked against the file itself."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def _check_riff(path: Path, size: int) -> None:
    """Detect truncated WAV data that libsndfile would silently shorten."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12:
            raise AudioError(f"truncated header ({size} bytes): not a complete WAV file", path)
        if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return  # not RIFF/WAVE: left to libsndfile and the format check
        pos = 12
        while True:
            fh.seek(pos)
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise AudioError("truncated WAV: no `data` chunk before end of file", path)
            cid, csize = chunk[:4], struct.unpack("<I" if head[:4] == b"RIFF" else ">I", chunk[4:])[0]
            if cid == b"data":
                available = size - (pos + 8)
                if csize not in (0, 0xFFFFFFFF) and csize > available:
                    raise AudioError(
                        f"truncated WAV data: header promises {csize} bytes, file holds {available}", path
                    )
                return
            pos += 8 + csize + (csize & 1)


def probe(path: str | os.PathLike, *, expect_format: str | None = "WAV") -> AudioInfo:
    """Read and check the header of `path`; raise `AudioError` naming the file on any fault."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioError("file does not exist", path) from None
    except PermissionError:
        raise AudioError("file is not readable (permission denied)", path) from None
    if size == 0:
        raise AudioError("zero-length file", path)
    if not os.access(path, os.R_OK):
        raise AudioError("file is not readable (permission denied)", path)
    _check_riff(path, size)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"not a readable audio file ({exc})", path) from None
    accepted = WAV_FORMATS if expect_format == "WAV" else {expect_format}
    if expect_format is not None and info.format not in accepted:
        raise AudioError(f"expected {expect_format} audio, found {info.format} ({info.subtype})", path)
    if info.frames <= 0:
        raise AudioError("audio file holds no samples", path)
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)


def check_info(
    info: AudioInfo, path, *, sample_rate: int | None = None, channels: int | None = None
) -> None:
    """Raise `AudioError` if `info` differs from the corpus' documented rate or channel count."""
    if sample_rate is not None and info.sample_rate != sample_rate:
        raise AudioError(f"sample rate {info.sample_rate} Hz, corpus documents {sample_rate} Hz", path)
    if channels is not None and info.channels != channels:
        raise AudioError(f"{info.channels} channel(s), corpus documents {channels}", path)


def select_channels(data: np.ndarray, channel: ChannelSpec, path=None) -> np.ndarray:
    """`data` is (frames, channels). Returns 1-D for one channel, else (channels, frames). Never downmixes."""
    n = data.shape[1]
    if channel is None:
        return data[:, 0] if n == 1 else np.ascontiguousarray(data.T)
    idx = [channel] if isinstance(channel, int) else list(channel)
    for c in idx:
        if not -n <= c < n:
            raise AudioError(f"channel {c} requested, file has {n} channel(s)", path)
    if isinstance(channel, int):
        return np.ascontiguousarray(data[:, channel])
    return np.ascontiguousarray(data[:, idx].T)


def _check_finite(arr: np.ndarray, path) -> None:
    if not np.isfinite(arr).all():
        raise AudioError("audio holds NaN or infinite samples", path)


def _channel_index(channel: ChannelSpec, n: int, path) -> int | list[int] | None:
    """Validated channel choice for an `n`-channel file (negative indices count from the end)."""
    if channel is None:
        return None
    idx = [channel] if isinstance(channel, int) else list(channel)
    for c in idx:
        if not -n <= c < n:
            raise AudioError(f"channel {c} requested, file has {n} channel(s)", path)
    return channel if isinstance(channel, int) else idx


#: Subtypes whose samples are integers, hence always finite (the NaN/inf scan is skipped for them).
_INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW"})


class _Source:
    """One recording opened for windowed reads: a plain PCM_16 WAV (`layout` + raw file descriptor,
    read with `os.preadv`, see `dinos.wav`) or anything else through a `soundfile.SoundFile`.

    `key` is `(inode, size, mtime_ns)` at open time: a different key at the next batch means the
    file was replaced or rewritten, and the source is reopened. `samplerate`, `channels`, `frames`
    are the header's (the names of `SoundFile`, so `check_row_audio` takes either)."""

    __slots__ = ("path", "key", "fd", "layout", "snd", "subtype", "samplerate", "channels", "frames")

    def __init__(self, path: str, key: tuple | None = None, headers: dict | None = None):
        self.path, self.key, self.fd, self.layout, self.snd = path, key, None, None, None
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise AudioError("file does not exist", path) from None
        except PermissionError:
            raise AudioError("file is not readable (permission denied)", path) from None
        except OSError as exc:
            raise AudioError(f"cannot open audio ({exc.strerror})", path) from None
        try:
            if self.key is None:
                st = os.fstat(self.fd)
                self.key = (st.st_ino, st.st_size, st.st_mtime_ns)
            known = headers.get(path) if headers is not None else None
            if known is not None and known[0] == self.key:  # parsed before, file unchanged
                self.layout = known[1]
            else:
                self.layout = wav.read_file_header(self.fd, self.key[1])
                if headers is not None:
                    headers[path] = (self.key, self.layout)
        except OSError as exc:
            self.close()
            raise AudioError(f"cannot read audio header ({exc})", path) from None
        if self.layout is not None:
            self.subtype = "PCM_16"
            self.samplerate, self.channels, self.frames = self.layout.samplerate, self.layout.channels, self.layout.frames
            return
        os.close(self.fd)
        self.fd = None
        try:
            self.snd = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError) as exc:
            if not os.path.exists(path):
                raise AudioError("file does not exist", path) from None
            raise AudioError(f"cannot decode audio ({exc})", path) from None
        except FileNotFoundError:
            raise AudioError("file does not exist", path) from None
        self.subtype = self.snd.subtype  # read once: each `SoundFile.subtype` asks libsndfile again
        self.samplerate, self.channels, self.frames = int(self.snd.samplerate), int(self.snd.channels), int(self.snd.frames)

    @property
    def closed(self) -> bool:
        return self.fd is None and (self.snd is None or self.snd.closed)

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)
        if self.snd is not None:
            self.snd.close()

    def window(self, start: int, num_frames: int | None, channel: ChannelSpec, where,
               scratch: list, target: np.ndarray | None = None) -> np.ndarray:
        """Frames `[start, start + num_frames)` as float32, channels chosen as `select_channels` does,
        zero-padded past the end; written into `target` when it has the result's shape.
        `scratch` is a one-element list holding this thread's reusable int16 buffer."""
        if start and start >= self.frames:
            raise AudioError(f"window starts at frame {start}, file has {self.frames} frames", where)
        if self.layout is None:
            arr = _read_open(self.snd, start, num_frames, channel, where, self.subtype)
            if target is not None and target.shape == arr.shape:
                target[...] = arr
                return target
            return arr
        want, have = wav.window_span(self.layout, start, num_frames)
        if want <= 0:
            raise AudioError("no samples in the requested window", where)
        need = have * self.channels
        if scratch[0].size < need:
            scratch[0] = np.empty(max(need, 2 * scratch[0].size), dtype=np.int16)
        try:
            raw = wav.read_int16(self.fd, self.layout, start, have, scratch[0])  # (have, channels)
        except OSError as exc:
            raise AudioError(f"file changed while being read ({exc}); rebuild the dataset", where) from None
        idx = _channel_index(channel, self.channels, where)
        if idx is None and self.channels == 1:
            idx = 0
        src = raw[:, idx] if isinstance(idx, int) else (raw.T if idx is None else raw[:, idx].T)
        shape = (want,) if src.ndim == 1 else (src.shape[0], want)
        out = target if target is not None and target.shape == shape else np.empty(shape, dtype=np.float32)
        wav.scale_into(src, out[..., :have])
        if have < want:
            out[..., have:] = 0.0
        return out


def read_window(
    source: str | os.PathLike | bytes,
    start_frame: int = 0,
    num_frames: int | None = None,
    *,
    channel: ChannelSpec = None,
    sampling_rate: int | None = None,
    path_for_errors=None,
    expect: dict | None = None,
) -> tuple[np.ndarray, int]:
    """Read frames `[start_frame, start_frame + num_frames)` as float32, zero-padding past the end.

    `source` is a path or the bytes of a whole audio file. Plain PCM_16 WAV is read without
    libsndfile (`dinos.wav`), every other format with soundfile; the arrays are bit-identical.
    Resamples (soxr via librosa) only when `sampling_rate` is given and differs from the file's
    rate. Returns `(array, sampling_rate)`. `expect` (`sample_rate`, `channels`): what the row
    recorded; a file that differs is an `AudioError`.
    """
    where = path_for_errors if path_for_errors is not None else (
        "<bytes>" if isinstance(source, bytes | bytearray) else source
    )
    if isinstance(source, bytes | bytearray | memoryview):
        arr, sr = _read_bytes(source, start_frame, num_frames, channel, where, expect)
    else:
        src = _Source(str(source))
        try:
            if expect:
                check_row_audio(src, where, start_frame=start_frame, **expect)
            arr, sr = src.window(start_frame, num_frames, channel, where, [_EMPTY]), src.samplerate
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"cannot decode audio ({exc})", where) from None
        finally:
            src.close()
    if sampling_rate is not None and sampling_rate != sr:
        arr, sr = _resample(arr, sr, sampling_rate), sampling_rate
    return arr, sr


_EMPTY = np.empty(0, dtype=np.int16)


def _read_bytes(data, start: int, num_frames: int | None, channel: ChannelSpec, where, expect) -> tuple[np.ndarray, int]:
    """A window of a whole WAV file held in memory (the export's embedded clips)."""
    layout = wav.read_bytes_header(data)
    if layout is None:
        try:
            with sf.SoundFile(io.BytesIO(bytes(data))) as f:
                if expect:
                    check_row_audio(f, where, start_frame=start, **expect)
                return _read_open(f, start, num_frames, channel, where, f.subtype), f.samplerate
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"cannot decode audio ({exc})", where) from None
    if expect:
        check_row_audio(layout, where, start_frame=start, **expect)
    if start and start >= layout.frames:
        raise AudioError(f"window starts at frame {start}, file has {layout.frames} frames", where)
    want, have = wav.window_span(layout, start, num_frames)
    if want <= 0:
        raise AudioError("no samples in the requested window", where)
    out = np.zeros((want, layout.channels), dtype=np.float32)
    wav.scale_into(wav.bytes_int16(data, layout, start, have), out[:have])
    return select_channels(out, channel, where), layout.samplerate


def _read_pcm16(f: sf.SoundFile, frames: int) -> np.ndarray:
    """`f.read(frames, dtype="float32", always_2d=True, fill_value=0.0)` for PCM_16, bit for bit
    (raw int16 scaled by 2**-15 in numpy: several times faster than libsndfile's conversion)."""
    raw = np.frombuffer(f.buffer_read(frames, dtype="int16"), dtype=np.int16).reshape(-1, f.channels)
    if frames < 0 or raw.shape[0] == frames:
        return raw * wav.PCM16_SCALE
    out = np.zeros((frames, f.channels), dtype=np.float32)  # past the end: zero-padded
    np.multiply(raw, wav.PCM16_SCALE, out=out[: raw.shape[0]])
    return out


def _read_open(f: sf.SoundFile, start_frame: int, num_frames: int | None, channel: ChannelSpec, where,
               subtype: str):
    """The window of an open `SoundFile` as float32 (see `read_window`); seeks, so not thread-safe."""
    if start_frame:
        if start_frame >= f.frames:
            raise AudioError(f"window starts at frame {start_frame}, file has {f.frames} frames", where)
        f.seek(start_frame)
    elif f.tell():
        f.seek(0)
    frames = -1 if num_frames is None else num_frames
    if subtype == "PCM_16":
        data = _read_pcm16(f, frames)
    else:
        data = f.read(frames, dtype="float32", always_2d=True, fill_value=0.0)
    if data.shape[0] == 0:
        raise AudioError("no samples in the requested window", where)
    if subtype not in _INTEGER_SUBTYPES:
        _check_finite(data, where)
    return select_channels(data, channel, where)


def _resample(arr: np.ndarray, sr: int, target: int) -> np.ndarray:
    import librosa

    out = librosa.resample(arr, orig_sr=sr, target_sr=target, res_type="soxr_hq", axis=-1)
    return out.astype(np.float32, copy=False)


def recording_stats(path: str | os.PathLike, block_frames: int = 1 << 18):
    """Mean, std and RMS over every sample of the file at `path` (all channels), read in blocks.

    Returns `dinos.segment.RecordingStats`; accumulates in float64 so 59-s recordings stay exact.
    """
    from .segment import RecordingStats

    total = s1 = s2 = 0.0
    try:
        with sf.SoundFile(str(path)) as f:
            for block in f.blocks(blocksize=block_frames, dtype="float64", always_2d=True):
                _check_finite(block, path)
                total += block.size
                s1 += float(block.sum())
                s2 += float(np.square(block).sum())
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"cannot decode audio ({exc})", path) from None
    except FileNotFoundError:
        raise AudioError("file does not exist", path) from None
    if total == 0:
        raise AudioError("audio file holds no samples", path)
    mean = s1 / total
    var = max(s2 / total - mean * mean, 0.0)
    return RecordingStats(mean=mean, std=float(np.sqrt(var)), rms=float(np.sqrt(s2 / total)))


def encode_wav(array: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> bytes:
    """WAV bytes of `array` ((frames,) or (channels, frames))."""
    buf = io.BytesIO()
    data = array.T if array.ndim == 2 else array
    sf.write(buf, data, sample_rate, format="WAV", subtype=subtype)
    return buf.getvalue()


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


def check_row_audio(f, where, *, sample_rate: int | None, channels: int | None, start_frame: int = 0) -> None:
    """`AudioError` when the file differs from what its row recorded at build time. `f` is anything
    with `samplerate`, `channels` and `frames` (a `SoundFile`, a `dinos.wav.WavLayout`)."""
    found = (int(f.samplerate), int(f.channels))
    if sample_rate is not None and channels is not None and found != (sample_rate, channels):
        raise AudioError(
            f"file changed since the dataset was built: the row says {sample_rate} Hz, {channels} channel(s), "
            f"the file is {found[0]} Hz, {found[1]} channel(s); rebuild the dataset",
            where,
        )
    if start_frame and start_frame >= f.frames:
        raise AudioError(
            f"file changed since the dataset was built: the row's window starts at frame {start_frame}, "
            f"the file has {f.frames} frames; rebuild the dataset",
            where,
        )


class AudioDecoder:
    """Batch transform for `Dataset.with_transform` / `IterableDataset.map(batched=True)`.

    Replaces each `audio` struct by `{"array": float32 ndarray, "sampling_rate": int, "path": str}`.
    Picklable, so it works in torch `DataLoader` worker processes.

    Rows built with `normalize=` carry their recording's statistics in the typed `stats` column
    (`dinos.schema.RecordingStats`); with `normalize=True` (default) the decoder applies that
    per-recording normalisation; `normalize=False` returns the raw samples.

    Before decoding, the file is checked against what the row recorded at build time (its
    `sample_rate` and `channels`, and that the window starts inside the file): a file rewritten
    since the build is an `AudioError` asking for a rebuild, never a silently different array.

    A batch's windows are read grouped by recording (sorted by file and start frame), each
    recording's header parsed once per thread (and kept while the file is unchanged): plain PCM_16
    WAV through a raw file descriptor (`dinos.wav`, no libsndfile), anything else through a
    `SoundFile`. Up to `open_files` recordings stay open per thread (least recently used closed first; 0 opens the file for every
    window). Each batch `stat`s each of its files once: a file replaced or rewritten since it was
    opened (other inode, size or mtime) is reopened and checked again. Open files belong to one
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
    ):
        self.channel = channel
        self.sampling_rate = sampling_rate
        self.column = column
        self.root = None if root is None else str(root)
        self.normalize = normalize
        self.open_files = int(open_files)
        self._local = threading.local()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_local"]  # open files never travel to another process
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("open_files", 256)
        self.__dict__.update(state)
        self._local = threading.local()

    def _thread_state(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # new thread, or a forked worker
            old = getattr(local, "files", None)
            if old is not None:
                old.close_all()  # after a fork: this process' copies of the parent's descriptors
            local.pid, local.files, local.scratch, local.headers = os.getpid(), _HandleCache(), [_EMPTY], {}
            _OPEN_CACHES.add(local.files)
        return local

    def _source(self, path: str, local) -> _Source:
        """The open source of `path` from this thread's LRU, (re)opened when the file changed."""
        files = local.files
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
        src = _Source(path, None, local.headers)  # opens, then `fstat`s the open file for its key
        if self.open_files > 0:
            files[path] = src
            while len(files) > self.open_files:
                files.popitem(last=False)[1].close()
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
                        src = sources[path] = self._source(path, local)
                    try:
                        check_row_audio(src, path, start_frame=start, **expect)
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
        finally:
            if self.open_files <= 0:
                for src in sources.values():
                    src.close()
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
                src = sources[path] = self._source(path, local)
            if src.layout is None or self.sampling_rate not in (None, src.samplerate):
                return None
            if src.channels != 1 and not isinstance(self.channel, int):
                return None
        return np.empty((len(rows), frames), dtype=np.float32)

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
