"""Plain PCM_16 WAV windows without libsndfile: the header parsed once, then `os.preadv` + one scale
(a native loop, `dinos._pcm16`, when it was built at install; numpy otherwise: the same bits).

Written from the RIFF/WAVE layout (Microsoft "Multimedia Programming Interface and Data
Specifications 1.0" and the WAVE_FORMAT_EXTENSIBLE note), not from another implementation:

- a file is `RIFF <size:u32le> WAVE` followed by chunks `<id:4 bytes> <size:u32le> <payload>`, each
  payload padded to an even length (the pad byte is not counted in `size`);
- `fmt ` holds `format_tag:u16, channels:u16, sample_rate:u32, byte_rate:u32, block_align:u16,
  bits_per_sample:u16`, then for WAVE_FORMAT_EXTENSIBLE (0xFFFE) `cb_size:u16, valid_bits:u16,
  channel_mask:u32, sub_format:GUID` where a PCM sub-format is `00000001-0000-0010-8000-00AA00389B71`;
- `data` holds `frames * block_align` bytes of interleaved little-endian samples; other chunks
  (`LIST`, `fact`, `PEAK`, `bext`, ...) may come before or after it.

Only the layouts where this reader and libsndfile agree are taken: little-endian RIFF, PCM (tag 1,
or EXTENSIBLE with the PCM GUID) at 16 bits, `block_align == 2 * channels`, `fmt ` before `data`, and
a `data` size that is a whole number of frames and fits in the file. `parse_header` returns None for
everything else (RIFX, RF64, 8/24/32-bit, float, A-law, a data size larger than the file, an odd
layout), and the caller reads those files with soundfile, which then also raises the errors it
always raised. Samples come out as `int16 * 2**-15` in float32, bit-identical to
`soundfile.read(dtype="float32")` (tested on every subtype and layout).

Agreement with libsndfile (facts about its WAV header reader, 1.0 and 1.2, read from its source and
checked against the library by the tests; none of its code): the file's chunks are walked to its
end, before and after `data`, stepping over each one as libsndfile does, and the file is declined
where the two walks could part or libsndfile would read it otherwise. libsndfile takes the last
`data` chunk and ignores (or trips on) a second `fmt `: either makes the answer None. It refuses
more than 1,024 channels and rates of 2**31 and more. It steps over an odd chunk's pad byte (1.2
always; 1.0 only where the byte is not printable: a printable one is declined). It walks the
sub-chunks of a `LIST` by their own sizes, whatever the LIST's size says, and takes a `data` marker
inside one as the samples: a LIST is taken only where its sub-chunks end exactly at its size (a
LIST of 8 bytes or less is one marker; one under 4 bytes makes it jump back into its header
buffer: None). `fact` and `bext` are read as their fields (4 and 602 bytes), then skipped to their
size (shorter ones: None); `PEAK`, `cue `, `smpl`, `acid` and top-level `INFO` have parsers of their
own (None). A non-printable marker ends its walk on a 4-byte boundary (after `data` the file is then
read as it stands). It stops within 4 bytes of the end, tested where a chunk's bytes end, before its
pad byte (4 bytes after a pad byte are read as one more marker: None). Samples whose first bytes
read `OggS` or `wvpk` are refused by it (None). tests/test_wav_layouts.py checks every layout the
walk takes against libsndfile on seeded random files (chunks real writers add, and their faults),
and the files an independent review found.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: int16 -> float32 scale libsndfile applies to PCM_16 (a power of two: the product is exact).
PCM16_SCALE = np.float32(1.0 / 32768.0)

try:  # the optional C loop (dinos/_pcm16.c, built at install when a compiler is there): one pass
    if os.environ.get("DINOS_NO_NATIVE", "").strip().lower() not in ("", "0", "false", "no"):  # numpy only
        raise ImportError("DINOS_NO_NATIVE is set")
    from dinos._pcm16 import scale_into as _native_scale
except ImportError:
    _native_scale = None
#: The native read + scale of one window (POSIX builds of `dinos._pcm16`), else None.
_native_read = getattr(sys.modules.get("dinos._pcm16"), "read_scaled", None) if _native_scale else None
#: Whether int16 -> float32 runs in the native loop (`dinos._pcm16`) rather than numpy; both give the
#: same bits. `dinos env` and the benchmarks print it (`scaling()`).
NATIVE = _native_scale is not None


def scaling() -> str:
    """How PCM_16 is converted here, in words: the native module and the loop it picked for one channel
    (`avx2` where the build and CPU have it, else `sse2`; `c` in a build without SSE2), or numpy (the
    same bits either way)."""
    if not NATIVE:
        return "numpy (dinos._pcm16 not built, or DINOS_NO_NATIVE set)"
    loops = getattr(sys.modules.get("dinos._pcm16"), "LOOPS", ())
    return f"native (dinos._pcm16, {loops[-1]} loop)" if loops else "native (dinos._pcm16)"


def mono_loops() -> tuple[str, ...]:
    """The one-channel loops of the native read here (`dinos._pcm16.LOOPS`, the module's pick last);
    () where the native read is not in use."""
    return tuple(getattr(sys.modules.get("dinos._pcm16"), "LOOPS", ())) if _native_read is not None else ()


@contextlib.contextmanager
def mono_loop(name: str):
    """Convert one channel with the native loop `name` (one of `mono_loops()`) while the block runs, then
    switch back to the loop in use before, also when the block raises. For tests and benchmarks: every
    loop gives the same bits. The switch holds for the whole process (every thread) until the block
    ends; blocks must end in the reverse order they began. `ValueError` for a loop not available here."""
    if name not in mono_loops():
        raise ValueError(f"no {name!r} loop here (available: {mono_loops() or 'none: the native read is not in use'})")
    from dinos import _pcm16

    before = _pcm16.kernel(name)
    try:
        yield name
    finally:
        _pcm16.kernel(before)


_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
#: KSDATAFORMAT_SUBTYPE_PCM as stored on disk (GUID fields little-endian, the last 8 bytes as-is).
_PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")
#: How far into a file the chunk walk reads at most (headers with huge LIST chunks are skipped by
#: seeking, so this bounds the number of reads, not the header size).
_MAX_CHUNKS = 64
#: The most channels libsndfile opens (its SF_MAX_CHANNELS).
_MAX_CHANNELS = 1024


@dataclass(frozen=True)
class WavLayout:
    """Where the PCM_16 samples of one WAV file are. Attribute names follow `soundfile.SoundFile`
    (`samplerate`, `channels`, `frames`), so the row checks accept either."""

    samplerate: int
    channels: int
    frames: int
    data_offset: int  # byte offset of the first sample

    @property
    def block_align(self) -> int:
        return 2 * self.channels


def parse_header(read_at: Callable[[int, int], bytes], size: int) -> WavLayout | None:
    """The PCM_16 layout of a WAV file of `size` bytes, or None when it is not the plain fast case.

    `read_at(offset, n)` returns up to `n` bytes at `offset` (a file or an in-memory buffer). Pure:
    no I/O of its own, never raises for a malformed file (None means "let soundfile decide").

    Every chunk is walked, before and after `data`, the way libsndfile's WAV header reader steps over
    it (module docstring, "Agreement with libsndfile"); a chunk it would step over differently, parse
    with its own rules, or refuse makes the answer None.
    """
    head = read_at(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt, layout = 12, None, None
    edge = pos  # where libsndfile's reading of the last chunk ended, before a pad byte
    for _ in range(_MAX_CHUNKS):
        if layout is not None and size - edge <= 4:
            return layout  # libsndfile stops within 4 bytes of the end (tested before it skips a pad byte)
        chunk = read_at(pos, 8)
        if len(chunk) < 8:
            return None
        cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        body = pos + 8
        if not _printable(cid):
            # libsndfile ends its walk at a non-printable marker read from a 4-byte boundary (after
            # `data` the file is then complete) and steps one byte on from anywhere else
            return layout if layout is not None and (pos + 4) % 4 == 0 else None
        step = csize + (csize & 1)  # odd-sized payloads carry one pad byte
        if cid == b"fmt ":
            if fmt is not None or layout is not None:
                return None  # a second `fmt `, or one after `data`
            fmt = _parse_fmt(read_at(body, min(csize, 40)), csize)
            if fmt is None:
                return None
        elif cid == b"data":
            if fmt is None or layout is not None:
                return None  # `data` before `fmt `, or a second `data` (libsndfile takes the last)
            channels, rate = fmt
            block = 2 * channels
            if csize == 0 or csize == 0xFFFFFFFF or csize % block or body + csize > size:
                return None  # streamed/RF64 placeholder, partial frame or truncated: soundfile's call
            first = read_at(body, 4)
            if first in NOT_SAMPLES or (len(first) < 4 and body + 4 <= size):
                return None  # libsndfile refuses samples that start like a WavPack or Ogg stream
            layout = WavLayout(samplerate=rate, channels=channels, frames=csize // block, data_offset=body)
            step = csize  # even: a whole number of 2-byte frames
        elif cid in _PARSED:
            return None  # parsed by libsndfile with rules of its own (or refused): soundfile's call
        elif cid == b"LIST" and (
                csize < 4 or _list_walk_end(read_at(body, csize) if csize <= _MAX_LIST else b"", csize) != csize):
            # a LIST of under 4 bytes makes libsndfile jump back inside its header buffer (its later
            # checks then read stale bytes); a longer one is taken where its sub-chunks end at its size
            return None
        elif csize < _FIXED_FIELDS.get(cid, 0):
            return None  # `fact`/`bext` are read as their fields whatever the size says
        if csize & 1 and cid not in _SKIPPED_PADDED and cid != b"fmt " and not _pad_stepped_over(
                read_at(body + csize, 1)):
            return None  # LIST, fact, bext and unknown chunks end at `size`, before the pad byte
        edge = body + (step if cid == b"data" else csize)
        pos = body + step
        if pos > size:
            return None
    return None


def _pad_stepped_over(pad: bytes) -> bool:
    """Whether libsndfile goes on after `pad`, the pad byte of an odd chunk it read up to its size, as
    this walk does. libsndfile 1.2 skips it; 1.0 reads a marker from it on, and a non-printable byte
    there sends it one byte on (the same place) while a printable one starts a marker (declined)."""
    return len(pad) == 1 and not 0x20 <= pad[0] <= 0x7E


def _printable(cid: bytes) -> bool:
    """All four bytes printable ASCII (C `isprint`), as libsndfile asks of an unknown chunk marker."""
    return all(0x20 <= b <= 0x7E for b in cid)


#: Markers libsndfile steps over as `size` plus the pad byte of an odd size, reading nothing inside.
_SKIPPED_PADDED = frozenset({b"iXML", b"strc", b"afsp", b"clm ", b"elmo", b"cart", b"levl", b"plst", b"DISP",
                             b"MEXT", b"PAD "})
#: Markers libsndfile reads with rules of its own (sizes that need not match the bytes it reads), or
#: refuses where they stand: a file holding one is left to soundfile.
_PARSED = frozenset({b"RIFF", b"RIFX", b"WAVE", b"INFO", b"PEAK", b"cue ", b"smpl", b"acid"})
#: Markers libsndfile reads as fixed fields of this many bytes (whatever the size says), then skips to
#: the chunk's `size`, without the pad byte of an odd size: `fact` (the frame count) and `bext` (the
#: EBU broadcast fields; a coding history beyond them is read or skipped up to `size`).
_FIXED_FIELDS = {b"fact": 4, b"bext": 602}
#: First bytes of `data` that libsndfile refuses as PCM (WavPack, Ogg payloads).
NOT_SAMPLES = frozenset({b"wvpk", b"OggS"})
#: The largest `LIST` chunk whose sub-chunks are checked (read in one piece); larger ones: soundfile.
_MAX_LIST = 1 << 16
#: `LIST` sub-chunks that libsndfile reads as text, and the longest it reads the same way here.
_LIST_TEXT = frozenset({b"ISFT", b"ICOP", b"IARL", b"IART", b"ICMT", b"ICRD", b"IENG", b"INAM", b"IPRD", b"ISBJ",
                        b"ISRC"})
_LIST_TEXT_MAX = 1024


def _list_walk_end(payload: bytes, length: int) -> int | None:
    """Where libsndfile's walk through the sub-chunks of a `LIST` chunk of `length` bytes (`payload`)
    ends, in bytes after its size field, where it can be told: None where a sub-chunk is read with
    rules of its own (`data`, `labl`, `exif`, a long text) or reaches past `length`. It steps over
    each sub-chunk as its size plus a pad byte until its count reaches `length` (libsndfile 1.0
    counted the size field too, 1.2 does not: a walk that ends exactly at `length` is the same for
    both); a `LIST` of 8 bytes or less is one marker, then skipped to its size. The caller takes the
    chunk only where this is `length`."""
    if length <= 8:
        return length
    if len(payload) < length:
        return None
    p = 0
    while p + 4 < length:  # the count of libsndfile 1.0 (the size field included) or 1.2 (not)
        marker = payload[p:p + 4]
        p += 4
        if marker in (b"adtl", b"INFO"):
            continue
        if marker in (b"data", b"labl", b"exif") or p + 4 > length:
            return None
        step = struct.unpack_from("<I", payload, p)[0]
        step += step & 1
        if marker in _LIST_TEXT and step > _LIST_TEXT_MAX:
            return None  # libsndfile's "too big" text: it counts that step differently
        p += 4 + step
        if p > length:
            return None  # a sub-chunk (or its pad byte) past the LIST's size: libsndfile ends elsewhere
    return p


def _parse_fmt(raw: bytes, csize: int) -> tuple[int, int] | None:
    """`(channels, sample_rate)` of a PCM_16 `fmt ` payload, else None."""
    if csize < 16 or len(raw) < 16:
        return None
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", raw[:16])
    if tag == _WAVE_FORMAT_EXTENSIBLE:
        if csize < 40 or len(raw) < 40:
            return None
        cb_size, valid_bits = struct.unpack("<HH", raw[16:20])
        if cb_size < 22 or raw[24:40] != _PCM_GUID or valid_bits not in (0, 16):
            return None
    elif tag != _WAVE_FORMAT_PCM:
        return None
    if bits != 16 or not 1 <= channels <= _MAX_CHANNELS or not 1 <= rate < 2**31 or block_align != 2 * channels:
        return None  # libsndfile refuses more than 1,024 channels and a rate past a signed 32-bit int
    return channels, rate


def read_file_header(fd: int, size: int, head_bytes: int = 1024) -> WavLayout | None:
    """`parse_header` over an open file descriptor (positional reads: the offset is not moved).

    The first `head_bytes` are read in one call (a plain header is 44 bytes); only chunks that
    reach past them cost another read."""
    head = os.pread(fd, head_bytes, 0)

    def read_at(off: int, n: int) -> bytes:
        if off + n <= len(head):
            return head[off : off + n]
        return os.pread(fd, n, off)

    return parse_header(read_at, size)


def read_bytes_header(data: bytes | bytearray | memoryview) -> WavLayout | None:
    """`parse_header` over the bytes of a whole WAV file."""
    view = memoryview(data)
    return parse_header(lambda off, n: bytes(view[off : off + n]), len(view))


def window_span(layout: WavLayout, start: int, num_frames: int | None) -> tuple[int, int]:
    """`(frames wanted, frames present in the file)` for a window; the rest is zero padding."""
    want = layout.frames - start if num_frames is None or num_frames < 0 else int(num_frames)
    return want, max(0, min(want, layout.frames - start))


def _short_read(got: int, wanted: int) -> OSError:
    """The error of a read that returned fewer bytes than the header promised (the file shrank)."""
    return OSError(f"read {got} of {wanted} bytes: the file is shorter than its header says")


def read_int16(fd: int, layout: WavLayout, start: int, frames: int, scratch: np.ndarray) -> np.ndarray:
    """`frames` interleaved frames from `start` as an int16 `(frames, channels)` view of `scratch`.

    `scratch` is a 1-D int16 buffer the caller reuses (grown when too small; the returned view may
    live in a new one, so keep the returned array only until the next call). A short read (the file
    shrank after its header was parsed) raises `OSError`.
    """
    n = frames * layout.channels
    buf = scratch[:n]
    nbytes = n * 2
    got = os.preadv(fd, [buf], layout.data_offset + start * layout.block_align) if n else 0
    if got != nbytes:
        raise _short_read(got, nbytes)
    out = buf.reshape(frames, layout.channels)
    return out if _LITTLE else out.byteswap()


_LITTLE = np.little_endian


def bytes_int16(data, layout: WavLayout, start: int, frames: int) -> np.ndarray:
    """The same as `read_int16` for a WAV file held in memory (no copy)."""
    lo = layout.data_offset + start * layout.block_align
    arr = np.frombuffer(data, dtype="<i2", count=frames * layout.channels, offset=lo)
    return arr.reshape(frames, layout.channels)


def scale_into(raw: np.ndarray, out: np.ndarray) -> None:
    """`out[...] = raw * 2**-15` as float32 (exact), `raw` int16 of `out`'s shape.

    The native loop when both are contiguous, else numpy's two passes (cast, then scale in place).
    All are exact, so the result is the same."""
    if raw.shape == out.shape and _native(raw, out, 1, 0):
        return
    out[...] = raw
    np.multiply(out, PCM16_SCALE, out=out)


def scaled(raw: np.ndarray) -> np.ndarray:
    """`raw * 2**-15` as a new float32 array of `raw`'s shape (see `scale_into`)."""
    out = np.empty(raw.shape, dtype=np.float32)
    scale_into(raw, out)
    return out


def _native(buf: np.ndarray, out: np.ndarray, stride: int, offset: int) -> bool:
    """`out.flat[k] = buf.flat[offset + k * stride] * 2**-15` in the native loop; False (nothing
    written) when it is not built or the arrays are not both C-contiguous native int16 / writable
    float32 (the buffer protocol refuses them: BufferError, TypeError, ValueError); a `buf` too short
    for `out` is an IndexError (a caller's bug, never silently served by the fallback)."""
    if _native_scale is None:
        return False
    try:
        _native_scale(buf, out, stride, offset)
    except (BufferError, TypeError, ValueError):
        return False
    return True


def _scale_channel(buf: np.ndarray, out: np.ndarray, channels: int, channel: int) -> None:
    """`out` (`n` items) = channel `channel` of the interleaved contiguous int16 `buf` * 2**-15."""
    if not _native(buf, out, channels, channel):
        src = buf if channels == 1 else buf[channel::channels]
        np.multiply(src.reshape(out.shape), PCM16_SCALE, out=out, dtype=np.float32)


def _read_scaled(fd: int, offset: int, out: np.ndarray, scratch: np.ndarray, ch: int, channel: int,
                 stream: bool = False) -> np.ndarray:
    """`len(out) * ch` int16 samples at byte `offset` into `scratch` (grown when too small; returned),
    channel `channel` of them scaled into `out`: one native call (read + scale, the GIL released once)
    when it is built and the arrays fit it, else `os.preadv` + `_scale_channel`. A short read (the
    file shrank after its header was parsed) raises `OSError` (`out` may be partly written).
    `stream=True`: the native loop writes `out` with non-temporal stores (a destination larger than
    the CPU cache, see `_pcm16.c`); the values are the same either way."""
    need = out.size * ch
    if scratch.size < need:
        scratch = np.empty(max(need, 2 * scratch.size), dtype=np.int16)
    if not need:
        return scratch
    got = None
    if _native_read is not None and _LITTLE:
        try:
            got = _native_read(fd, offset, scratch, out, ch, channel, stream)
        except (BufferError, TypeError, ValueError):  # `out` not a contiguous writable float32 array
            got = None
    if got is None:
        buf = scratch[:need]
        got = os.preadv(fd, [buf], offset)
        if got == 2 * need:
            if not _LITTLE:
                buf.byteswap(inplace=True)
            _scale_channel(buf, out, ch, channel)
    if got != 2 * need:
        raise _short_read(got, 2 * need)
    return scratch


def decode_window_into(fd: int, layout: WavLayout, start: int, out: np.ndarray, scratch: np.ndarray,
                       channel: int = 0, stream: bool = False) -> np.ndarray:
    """Frames `[start, start + len(out))` of one channel, as float32 into the 1-D `out`, zero past the end.

    The int16 frames go first into `scratch`, a small buffer the caller reuses (returned, grown when
    too small: keep the returned one): a 1-s window is 96 KB, so it stays in the CPU cache, and one
    pass then reads it from there and writes `out` once (reading a whole batch of int16 first and
    converting afterwards would send the int16 bytes through main memory twice). A short read (the
    file shrank after its header was parsed) raises `OSError`. `stream`: see `_read_scaled`."""
    want = out.shape[0]
    if (_native_read is not None and _LITTLE and layout.channels == 1 and out.ndim == 1 and 0 < want
            and start + want <= layout.frames):
        # the common case (a mono window inside the file) in one native call, without `_read_scaled`'s
        # Python; anything the call refuses (`out` not contiguous float32, `scratch` too small) takes
        # the general path below, which grows `scratch` or falls back to numpy
        try:
            got = _native_read(fd, layout.data_offset + 2 * start, scratch, out, 1, 0, stream)
        except (BufferError, TypeError, ValueError, IndexError):
            pass
        else:
            if got != 2 * want:
                raise _short_read(got, 2 * want)
            return scratch
    have = max(0, min(want, layout.frames - start))
    ch = layout.channels
    scratch = _read_scaled(fd, layout.data_offset + start * 2 * ch, out[:have], scratch, ch, channel % ch, stream)
    if have < want:
        out[have:] = 0.0
    return scratch


def decode_run_into(fd: int, layout: WavLayout, start: int, out: np.ndarray, scratch: np.ndarray,
                    channel: int = 0, stream: bool = False) -> np.ndarray:
    """`out.shape[0]` consecutive windows of `out.shape[1]` frames from `start` (one channel) into the
    rows of the 2-D float32 `out`, with one read and one scaling pass; every window must lie inside
    the file (tails go through `decode_window_into`). Returns `scratch` as `decode_window_into`."""
    rows, frames = out.shape
    if start + rows * frames > layout.frames:
        raise ValueError("a run of windows must lie inside the file")
    ch = layout.channels
    return _read_scaled(fd, layout.data_offset + start * 2 * ch, out, scratch, ch, channel % ch, stream)
