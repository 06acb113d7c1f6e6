"""The per-file work of a build (`dinos.builder.ClipBuilder._generate_tables`): one open per file, rows
as Arrow columns.

- `SourceGuard`: `paths.check_source` at one `lstat` per file (folders resolved once);
- `probe_file`: `audio.probe` with the file opened once (`riff_verdict` + libsndfile on one descriptor);
- `windows_of`: a recording's windows as arrays; `WindowBatch` turns each file's first-window row plus its window arrays
  into the Arrow table of every window (equal to one `schema.Clip` per window: tests/test_builder_fast.py).

Every fault is re-diagnosed by the reference function (`check_source`, `audio.probe`), so the errors
are the ones those raise, naming the file.
"""

from __future__ import annotations

import functools
import os
import stat
import struct
from collections.abc import Callable

import datasets
import numpy as np
import soundfile as sf

from .audio import WAV_FORMATS, AudioInfo, probe, riff_problem
from .paths import check_source
from .segment import parse_seconds, window_arrays
from .wav import NOT_SAMPLES, parse_header


def join_relative(root: str, relative: str) -> str:
    """`os.path.join(root, relative)` for a relative POSIX path. Spelled out because `datasets`
    replaces `os.path.join` (and `dirname`, `open`, ...) in builder modules with slower wrappers."""
    return root + relative if root.endswith(os.sep) else root + os.sep + relative


@functools.lru_cache(maxsize=256)
def windows_of(frames: int, sample_rate: int, segment, hop, tail: str) -> tuple[np.ndarray, np.ndarray]:
    """Start frames and lengths (read-only int64 arrays) of the windows of a recording of `frames`
    samples (`segment=None`: the whole file); cached, the recordings of a corpus mostly share a length."""
    length = parse_seconds(segment)
    if length is None:
        starts, lengths = np.zeros(1, np.int64), np.full(1, frames, np.int64)
    else:
        starts, lengths = window_arrays(frames, sample_rate, length, parse_seconds(hop), tail)
    starts.setflags(write=False)
    lengths.setflags(write=False)
    return starts, lengths


class SourceGuard:
    """`paths.check_source` for every file of a build, at one `lstat` per file: each folder is
    resolved once. A file that is not a plain regular file with a UTF-8 name in an already-resolved
    folder inside `root` (a symlink, a missing file, ...) goes through `check_source` itself, so every
    error is the one `check_source` raises."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self._inside = os.path.realpath(self.root).rstrip(os.sep) + os.sep
        self._folders: dict[str, bool] = {}  # relative folder -> resolves inside root

    def _plain(self, relative: str) -> bool:
        """True if `relative` is a regular file (not a symlink), named in UTF-8, in a folder inside root."""
        folder = relative.rpartition("/")[0]
        inside = self._folders.get(folder)
        if inside is None:
            resolved = os.path.realpath(join_relative(self.root, folder) if folder else self.root) + os.sep
            inside = self._folders[folder] = resolved.startswith(self._inside)
        try:
            relative.encode("utf-8")
            return inside and stat.S_ISREG(os.lstat(join_relative(self.root, relative)).st_mode)
        except (UnicodeEncodeError, OSError):
            return False

    def __call__(self, relative: str) -> None:
        if not self._plain(relative):
            check_source(self.root, relative)

    def inside(self, relative: str) -> bool:
        """`paths.is_within(root / relative, root)`, cheaply for plain files."""
        from .paths import is_within

        return self._plain(relative) or is_within(join_relative(self.root, relative), self.root)


#: Bytes of a file's head read in one go; the RIFF chunk walk nearly always ends inside them.
HEAD_BYTES = 4096


def riff_verdict(head: bytes, size: int) -> bool | None:
    """The verdict of `audio._check_riff` (the reference) from the first bytes of a file of `size`
    bytes: True (it passes), False (it raises) or None (the `data` chunk lies beyond `head`)."""

    def read_at(offset: int, n: int) -> bytes:
        if offset + n > len(head) and len(head) < size:
            raise LookupError(offset)  # bytes of the file this head does not hold
        return head[offset:offset + n]

    try:
        return riff_problem(read_at, size) is None
    except LookupError:
        return None


def _fmt_tag(head: bytes) -> int | None:
    """The `format_tag` of the `fmt ` chunk of a little-endian RIFF/WAVE head, None if not in `head`."""
    pos = 12
    while pos + 10 <= len(head):
        cid, csize = head[pos:pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        if cid == b"fmt ":
            return struct.unpack_from("<H", head, pos + 8)[0]
        pos += 8 + csize + (csize & 1)
    return None


#: libsndfile's container name for a PCM_16 WAV by its `fmt ` tag (1: WAVE_FORMAT_PCM, 0xFFFE: EXTENSIBLE)
_PCM16_CONTAINER = {0x0001: "WAV", 0xFFFE: "WAVEX"}


def pcm16_info(head: bytes, size: int, read_beyond: Callable[[int, int], bytes] | None = None) -> AudioInfo | None:
    """What `audio.probe` returns for a plain PCM_16 WAV of `size` bytes whose first bytes are `head`
    (the `fmt ` and `data` chunk headers inside it), read by `dinos.wav.parse_header` without
    libsndfile; None for anything else (the caller asks libsndfile). The layouts `parse_header` takes
    are the ones libsndfile reads as `WAV`/`WAVEX` `PCM_16` with `data size / block_align` frames, and
    they pass the RIFF check (`data` fits in the file). Equal to `audio.probe`: tests/test_builder_fast.py.
    Chunks after the samples lie beyond `head`: `read_beyond(offset, n)` reads them (without it, such
    a file gets None)."""
    global _last_pcm16
    prefix, last_size, last_info = _last_pcm16
    if size == last_size and head.startswith(prefix) and head[len(prefix):len(prefix) + 4] not in NOT_SAMPLES:
        return last_info  # the files of a corpus mostly share one header (`_last_pcm16`)

    def read_at(off: int, n: int) -> bytes:
        if off + n <= len(head):
            return head[off:off + n]
        return read_beyond(off, n) if read_beyond is not None else b""

    layout = parse_header(read_at, size)
    container = _PCM16_CONTAINER.get(_fmt_tag(head)) if layout is not None else None
    if container is None:
        return None
    info = AudioInfo(layout.samplerate, layout.channels, layout.frames, container, "PCM_16")
    if layout.data_offset + 4 <= len(head) and layout.data_offset + layout.frames * layout.block_align >= size - 4:
        # the key (the head up to the samples, their first 4 bytes checked on a hit) lies in `head`, and
        # nothing after `data` was read
        _last_pcm16 = (head[:layout.data_offset], size, info)
    return info


#: (the bytes before the `data` samples, file size, `AudioInfo`) of the last plain PCM_16 header parsed,
#: kept only when the samples end the file (within the 4 bytes libsndfile ignores) and begin at least 4
#: bytes before the end of the head read (`HEAD_BYTES`). `parse_header`
#: then reads nothing past the `data` chunk header but the first 4 sample bytes (compared with
#: `NOT_SAMPLES` on every hit), and compares the `data` size with the file size alone, so a file of
#: that size whose head starts with the same bytes has the same answer.
_last_pcm16: tuple[bytes, int, AudioInfo | None] = (b"\0", -1, None)


def probe_file(path: str) -> AudioInfo:
    """`audio.probe(path)` with the file opened once: the size and one read of its head settle a plain
    PCM_16 WAV (`pcm16_info`, no libsndfile); other files share the descriptor with libsndfile's header
    read after the RIFF check. Anything unusual (a fault, a head that does not settle the RIFF check)
    is handed to `audio.probe`, so every error is the one it raises, naming the file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return probe(path)
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, HEAD_BYTES, 0) if size else b""
        fast = pcm16_info(head, size, lambda off, n: os.pread(fd, n, off)) if size else None
        if fast is not None:
            return fast
        if size == 0 or riff_verdict(head, size) is not True:
            return probe(path)
        try:
            with sf.SoundFile(fd, closefd=False) as f:
                info = AudioInfo(int(f.samplerate), int(f.channels), int(f.frames), f.format, f.subtype)
        except (sf.LibsndfileError, RuntimeError):
            return probe(path)
    finally:
        os.close(fd)
    if info.format not in WAV_FORMATS or info.frames <= 0:
        return probe(path)
    return info


class WindowBatch:
    """The rows of several files, built as Arrow columns.

    `add(row, starts, lengths)` takes a file's row for its first window (`schema.clip_to_row` form)
    and the start frame and length of each of its windows; `flush()` returns the Arrow table of every
    window of the added files, in order: the file rows are encoded once (ClassLabel names looked up
    once per file), repeated per window with `take`, and the window columns (`clip_id`, `offset`,
    `duration`, `start_frame`, `num_frames`) are computed in numpy/pyarrow. The table equals
    `schema.rows_to_table` of one `schema.Clip` row per window (tests/test_builder_fast.py).
    """

    def __init__(self, feats):
        self.schema = feats.arrow_schema
        self._labels = {k: v for k, v in feats.items() if isinstance(v, datasets.ClassLabel)}
        self._codes = {k: {name: i for i, name in enumerate(v.names)} for k, v in self._labels.items()}
        self._clear()

    def _clear(self) -> None:
        self._rows: list[dict] = []
        self._starts: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self.num_rows = 0
        self.last_key = ""

    def add(self, row: dict, starts: np.ndarray, lengths: np.ndarray) -> None:
        for col, codes in self._codes.items():
            value = row[col]
            if isinstance(value, str):
                row[col] = codes[value] if value in codes else self._labels[col].str2int(value)
        self._rows.append(row)
        self._starts.append(starts)
        self._lengths.append(lengths)
        self.num_rows += len(starts)
        self.last_key = row["clip_id"]

    def flush(self):
        import pyarrow as pa
        import pyarrow.compute as pc

        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        counts = np.fromiter((len(s) for s in self._starts), np.int64, len(self._starts))
        if (counts != 1).any():  # else each file's one row is its own first window: the table is done
            rates = np.fromiter((r["sample_rate"] for r in self._rows), np.float64, len(self._rows))
            repeat = pa.array(np.repeat(np.arange(len(counts)), counts))
            starts, lengths = np.concatenate(self._starts), np.concatenate(self._lengths)
            rate = np.repeat(rates, counts)
            path = table.column("path").take(repeat)
            clip_id = pc.binary_join_element_wise(path, pc.cast(pa.array(starts), pa.string()), "#")
            window = {"path": path, "clip_id": clip_id, "start_frame": starts, "num_frames": lengths,
                      "offset": starts / rate, "duration": lengths / rate}
            # the file columns repeated per window (`take`); the window columns made, not taken
            table = pa.Table.from_arrays(
                [_column(window[f.name], f.type) if f.name in window else table.column(i).take(repeat)
                 for i, f in enumerate(self.schema)],
                schema=self.schema,
            )
        self._clear()
        return table


def _column(values, type_):
    """`values` (a numpy array or an Arrow array) as a chunked Arrow column of `type_`."""
    import pyarrow as pa

    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values], type_)


def _parts_key(rel: str) -> list[str]:
    return rel.split("/")


def wav_entries(folder: str) -> list[os.DirEntry]:
    """The `.wav` files under `folder` (any depth, case-insensitive suffix), symlinks included
    (dangling ones too: the build reports them instead of a listing dropping them), as `os.DirEntry`s
    in the order of `sorted(Path(folder).rglob(...))` (by path components). Symlinked folders are
    listed but not entered, as `rglob` does. One `scandir` per folder, no `pathlib` object per file
    (`datasets` swaps `Path` in loader modules for a slower streaming class).

    Raises `PermissionError` (with `.filename`) for a folder that cannot be listed: the caller turns it
    into its `LayoutError`; nothing is skipped silently."""
    found: list[tuple[list[str], os.DirEntry]] = []

    def walk(path: str, prefix: str) -> None:
        with os.scandir(path) as it:
            entries = list(it)
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                walk(entry.path, prefix + name + "/")
            elif len(name) > 4 and name[-4:].lower() == ".wav" and (entry.is_symlink() or entry.is_file()):
                found.append((_parts_key(prefix + name), entry))

    walk(folder, "")
    found.sort(key=lambda item: item[0])
    return [entry for _, entry in found]


def file_stem(name: str) -> str:
    """`pathlib.PurePosixPath(name).stem` for a POSIX file name or relative path, without a path object."""
    name = name.rpartition("/")[2]
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name
