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

    `source` is a path or the bytes of a whole audio file. Resamples (soxr, quality HQ) only when
    `sampling_rate` is given and differs from the file's rate. Returns `(array, sampling_rate)`.
    `expect` (`sample_rate`, `channels`): what the row recorded; a file that differs is an `AudioError`.
    """
    where = path_for_errors if path_for_errors is not None else (
        "<bytes>" if isinstance(source, bytes | bytearray) else source
    )
    target = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    try:
        with sf.SoundFile(target) as f:
            if expect:
                check_row_audio(f, where, start_frame=start_frame, **expect)
            arr, sr = _read_open(f, start_frame, num_frames, channel, where)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(f"cannot decode audio ({exc})", where) from None
    except FileNotFoundError:
        raise AudioError("file does not exist", where) from None
    if sampling_rate is not None and sampling_rate != sr:
        arr, sr = _resample(arr, sr, sampling_rate), sampling_rate
    return arr, sr


#: Subtypes whose samples are integers, hence always finite (the NaN/inf scan is skipped for them).
_INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "ULAW", "ALAW"})


_PCM16_SCALE = np.float32(1.0 / 32768.0)


def _read_pcm16(f: sf.SoundFile, frames: int) -> np.ndarray:
    """`f.read(frames, dtype="float32", always_2d=True, fill_value=0.0)` for PCM_16, bit for bit.

    libsndfile's int16 -> float conversion is several times slower than reading the raw int16 and
    scaling by 2**-15 in numpy (exact in float32: the same values libsndfile returns).
    """
    raw = np.frombuffer(f.buffer_read(frames, dtype="int16"), dtype=np.int16).reshape(-1, f.channels)
    if frames < 0 or raw.shape[0] == frames:
        return raw * _PCM16_SCALE
    out = np.zeros((frames, f.channels), dtype=np.float32)  # past the end: zero-padded
    np.multiply(raw, _PCM16_SCALE, out=out[: raw.shape[0]])
    return out


def _read_open(f: sf.SoundFile, start_frame: int, num_frames: int | None, channel: ChannelSpec, where):
    """The window of an open `SoundFile` as float32 (see `read_window`); seeks, so not thread-safe."""
    if start_frame:
        if start_frame >= f.frames:
            raise AudioError(f"window starts at frame {start_frame}, file has {f.frames} frames", where)
        f.seek(start_frame)
    elif f.tell():
        f.seek(0)
    frames = -1 if num_frames is None else num_frames
    if f.subtype == "PCM_16":
        data = _read_pcm16(f, frames)
    else:
        data = f.read(frames, dtype="float32", always_2d=True, fill_value=0.0)
    if data.shape[0] == 0:
        raise AudioError("no samples in the requested window", where)
    if f.subtype not in _INTEGER_SUBTYPES:
        _check_finite(data, where)
    return select_channels(data, channel, where), f.samplerate


def _resample(arr: np.ndarray, sr: int, target: int) -> np.ndarray:
    """`arr` (frames last: 1-D or `(channels, frames)`) resampled from `sr` to `target` Hz, float32.

    soxr at quality "HQ": the same samples as `librosa.resample(..., res_type="soxr_hq")`, without
    librosa. The output has `ceil(frames * target / sr)` frames (librosa's length rule; soxr's own
    output is zero-padded or cut to it). Departure from librosa: that length is computed exactly in
    integers, where librosa's floating-point ratio can add one trailing zero (1 s at 44.1 kHz gives
    48001 samples at 48 kHz there, 48000 here).
    """
    import soxr

    if sr == target:
        return np.asarray(arr, dtype=np.float32)
    x = np.asarray(arr, dtype=np.float32)
    n = x.shape[-1]
    out = soxr.resample(np.ascontiguousarray(x.T), int(sr), int(target), quality="HQ").T
    want = -(-n * int(target) // int(sr))
    if out.shape[-1] > want:
        out = out[..., :want]
    elif out.shape[-1] < want:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, want - out.shape[-1])]
        out = np.pad(out, pad)
    return np.ascontiguousarray(out, dtype=np.float32)


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
    """path -> open `SoundFile` (LRU order); weak-referenceable so `_OPEN_CACHES` can track it."""

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
    """`AudioError` when the file differs from what its row recorded at build time."""
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

    Windows of files on disk are read through up to `open_files` kept-open `SoundFile` handles
    (least recently used closed first; 0 opens the file for every window). Handles belong to one
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
        open_files: int = 64,
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
        del state["_local"]  # open handles never travel to another process
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("open_files", 64)
        self.__dict__.update(state)
        self._local = threading.local()

    def _handle(self, path: str) -> sf.SoundFile:
        """An open `SoundFile` for `path` from this thread's LRU (opened on a miss)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # new thread, or a forked worker
            local.pid, local.files = os.getpid(), _HandleCache()
            _OPEN_CACHES.add(local.files)
        files = local.files
        f = files.get(path)
        if f is not None:
            files.move_to_end(path)
            return f
        try:
            f = sf.SoundFile(path)
        except (sf.LibsndfileError, RuntimeError) as exc:
            if not os.path.exists(path):
                raise AudioError("file does not exist", path) from None
            raise AudioError(f"cannot decode audio ({exc})", path) from None
        except FileNotFoundError:
            raise AudioError("file does not exist", path) from None
        files[path] = f
        while len(files) > self.open_files:
            files.popitem(last=False)[1].close()
        return f

    def _read_cached(self, path: str, start_frame: int, num_frames: int | None, expect: dict) -> tuple[np.ndarray, int]:
        f = self._handle(path)
        try:
            check_row_audio(f, path, start_frame=start_frame, **expect)
            return _read_open(f, start_frame, num_frames, self.channel, path)
        except (sf.LibsndfileError, RuntimeError) as exc:
            self._local.files.pop(path, None)
            f.close()
            raise AudioError(f"cannot decode audio ({exc})", path) from None

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
        if audio is None:
            return None
        data, path = audio.get("bytes"), self._resolve(audio.get("path"))
        norm = self._affine(stats, path)
        expect = {"sample_rate": sample_rate, "channels": channels}
        if data is not None:
            where = path or "<bytes>"
            arr, sr = read_window(data, channel=self.channel, path_for_errors=where, expect=expect)
        elif path is not None and self.open_files > 0:
            arr, sr = self._read_cached(path, start_frame or 0, num_frames, expect)
        elif path is not None:
            arr, sr = read_window(path, start_frame or 0, num_frames, channel=self.channel, expect=expect)
        else:
            raise AudioError("audio struct has neither bytes nor path")
        if norm is not None:  # before resampling: the statistics are those of the source samples
            arr = (arr * np.float32(norm[0]) + np.float32(norm[1])).astype(np.float32, copy=False)
        if self.sampling_rate is not None and self.sampling_rate != sr:
            arr, sr = _resample(arr, sr, self.sampling_rate), self.sampling_rate
        return {"array": arr, "sampling_rate": sr, "path": path}

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
        starts = batch.get("start_frame") or none
        counts = batch.get("num_frames") or none
        stats = batch.get("stats") or none
        rates = batch.get("sample_rate") or none
        chans = batch.get("channels") or none
        out = dict(batch)
        out[self.column] = [
            self.decode_one(a, s, n, t, sample_rate=r, channels=c)
            for a, s, n, t, r, c in zip(audios, starts, counts, stats, rates, chans, strict=True)
        ]
        return out

    def __repr__(self) -> str:
        return f"AudioDecoder(channel={self.channel!r}, sampling_rate={self.sampling_rate!r})"
