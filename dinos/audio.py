"""Audio I/O: probing, validated windowed reads (plain PCM_16 WAV via `dinos.wav`, the rest via
soundfile) and, re-exported from `dinos.decoder`, the row decoder.

No torchcodec anywhere: the `audio` column is stored as the plain HF `Audio` struct `{bytes, path}`
with `decode=False`, and `AudioDecoder` turns it into `{"array", "sampling_rate", "path"}`.

Contract of a row's audio: if `bytes` is set, the bytes are exactly this clip; otherwise the clip is
frames `[start_frame, start_frame + num_frames)` of the file at `path` (zero-padded past its end).
"""

from __future__ import annotations

import errno
import io
import os
import struct
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


def riff_problem(read_at, size: int) -> str | None:
    """Why a RIFF/WAVE file of `size` bytes has truncated `data` (libsndfile would silently shorten it),
    or None. `read_at(offset, n)` returns the file's bytes, fewer than `n` only at its end; it may raise
    `LookupError` for bytes it does not hold (a caller that has only the head of the file)."""
    head = read_at(0, 12)
    if len(head) < 12:
        return f"truncated header ({size} bytes): not a complete WAV file"
    if head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return None  # not RIFF/WAVE: left to libsndfile and the format check
    fmt = "<I" if head[:4] == b"RIFF" else ">I"
    pos = 12
    while True:
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            return "truncated WAV: no `data` chunk before end of file"
        cid, csize = chunk[:4], struct.unpack(fmt, chunk[4:])[0]
        if cid == b"data":
            available = size - (pos + 8)
            if csize not in (0, 0xFFFFFFFF) and csize > available:
                return f"truncated WAV data: header promises {csize} bytes, file holds {available}"
            return None
        pos += 8 + csize + (csize & 1)


def _check_riff(path: Path, size: int) -> None:
    """Detect truncated WAV data that libsndfile would silently shorten."""
    with open(path, "rb") as fh:

        def read_at(offset: int, n: int) -> bytes:
            fh.seek(offset)
            return fh.read(n)

        problem = riff_problem(read_at, size)
    if problem is not None:
        raise AudioError(problem, path)


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


class TooManyOpenFiles(OSError):
    """`os.open` of a recording failed with EMFILE/ENFILE: the caller may close kept-open files and retry."""


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
            if exc.errno in (errno.EMFILE, errno.ENFILE):
                raise TooManyOpenFiles(exc.errno, exc.strerror, path) from None
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

    def __del__(self) -> None:
        # a thread's file cache is dropped with the thread (`threading.local`): its raw descriptors
        # must close with it, or every thread that read batches leaks its kept-open recordings
        try:
            if self.fd is not None:
                fd, self.fd = self.fd, None
                os.close(fd)
        except (AttributeError, OSError):  # half-built, or closed already
            pass

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
    Resamples (soxr, quality HQ) only when `sampling_rate` is given and differs from the file's
    rate. Returns `(array, sampling_rate)`. `expect` (`sample_rate`, `channels`): what the row
    recorded; a file that differs is an `AudioError`.
    """
    where = path_for_errors if path_for_errors is not None else (
        "<bytes>" if isinstance(source, bytes | bytearray) else source
    )
    if isinstance(source, bytes | bytearray | memoryview):
        arr, sr = _read_bytes(source, start_frame, num_frames, channel, where, expect)
    else:
        try:
            src = _Source(str(source))
        except TooManyOpenFiles as exc:
            raise AudioError(f"cannot open audio ({exc.strerror})", where) from None
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
    (raw int16 scaled by 2**-15 in `dinos.wav`: several times faster than libsndfile's conversion)."""
    raw = np.frombuffer(f.buffer_read(frames, dtype="int16"), dtype=np.int16).reshape(-1, f.channels)
    if frames < 0 or raw.shape[0] == frames:
        return wav.scaled(raw)
    out = np.zeros((frames, f.channels), dtype=np.float32)  # past the end: zero-padded
    wav.scale_into(raw, out[: raw.shape[0]])
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
    """WAV bytes of `array` ((frames,) or (channels, frames)); the same bytes for the same array.

    libsndfile writes a `PEAK` chunk into FLOAT/DOUBLE files whose timestamp is the current time, so
    the same samples encoded a second later differed (and so did an export's shards and their sha256);
    that timestamp is set to 0 here. The peak values it records stay."""
    buf = io.BytesIO()
    data = array.T if array.ndim == 2 else array
    sf.write(buf, data, sample_rate, format="WAV", subtype=subtype)
    return _without_peak_time(buf.getvalue())


def _without_peak_time(wav: bytes) -> bytes:
    """`wav` with the timestamp of its `PEAK` chunk (if any) zeroed; every other byte unchanged."""
    pos, end = 12, len(wav)
    while pos + 8 <= end:
        cid = wav[pos : pos + 4]
        size = int.from_bytes(wav[pos + 4 : pos + 8], "little")
        if cid == b"data":
            return wav  # libsndfile writes PEAK before data
        if cid == b"PEAK" and size >= 8:
            out = bytearray(wav)
            out[pos + 12 : pos + 16] = bytes(4)  # version (4 bytes), then the timestamp (4 bytes)
            return bytes(out)
        pos += 8 + size + (size & 1)
    return wav


def check_row_audio(
    f, where, *, sample_rate: int | None, channels: int | None, start_frame: int = 0,
    num_frames: int | None = None, pad_tail: bool = True,
) -> None:
    """`AudioError` when the file differs from what its row recorded at build time. `f` is anything
    with `samplerate`, `channels` and `frames` (a `SoundFile`, a `dinos.wav.WavLayout`).

    With `num_frames` and `pad_tail=False` (a build without `tail="pad"`, where no window reaches
    past its file's end) a window that ends past the end of the file is an error too: the file was
    shortened since the build, and zero-padding it would be a silently different clip."""
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
    if not pad_tail and num_frames is not None and start_frame + num_frames > f.frames:
        raise AudioError(
            f"file changed since the dataset was built: the row's window ends at frame "
            f"{start_frame + num_frames}, the file has {f.frames} frames; rebuild the dataset",
            where,
        )


# The row decoder lives in `dinos.decoder`; `dinos.audio.AudioDecoder` stays its public name.
from .decoder import AudioDecoder, _close_open_files  # noqa: E402, F401
