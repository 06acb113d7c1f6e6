"""Hub-ready Parquet export: shards of bounded size, audio embedded, plus a dataset card.

Layout of an export directory (names in `dinos.export_layout`)::

    README.md                          card whose YAML `configs:` lists every config and split
    dinos_export.json                  manifest: corpus, configs, splits, shards (rows, bytes, sha256)
    data/<config>/<split>-NNNNN.parquet
    .dinos-output.json                 output-folder marker (`dinos.io.OutputDir`): the files the tool wrote

Stock `datasets.load_dataset(<dir>, <config>, split=...)` loads it with the features of
`dinos.schema.features(sampling_rate=<corpus rate>)` (the `Audio` column stays `decode=False`);
`dinos.load_dataset(<dir>, <config>)` does the same and decodes with soundfile.

Each row's audio is embedded: a whole-file row carries the file's bytes unchanged; a window of a
longer file carries exactly that window as WAV bytes (same subtype when it is PCM_16/PCM_24/FLOAT).
The struct's `path` is relative (no local absolute path leaves the machine).

All or nothing: the whole new `data/` is written in a hidden staging folder and published by
`_publish` in steps that each leave the folder as the old export, the new export, or a folder
every loader refuses with an error (never a partial or mixed dataset): see `_publish`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath

from . import io as dio
from .errors import AudioError, LayoutError, UnsafePathError
from .export_layout import (  # noqa: F401 - re-exported: part of the export API
    CARD_NAME,
    DATA_DIR,
    EXPORT_MARKER,
    FORMAT_NAME,
    FORMAT_VERSION,
    OLD_DATA_DIR,
    PARTIAL_NAMES,
    PARTIAL_PREFIX,
    PENDING_MANIFEST,
    STAGING_DIR,
    is_export_dir,
    shard_glob,
    shard_name,
)
from .paths import is_within

DEFAULT_MAX_SHARD_MB = 500.0
DEFAULT_ROW_GROUP_MB = 64.0
_ROW_OVERHEAD = 512  # rough bytes of metadata per row, for the shard-size estimate
_KEEP_SUBTYPES = {"PCM_16", "PCM_24", "FLOAT"}  # exact through float32; anything else becomes FLOAT
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOOL = "export"  # the OutputDir tool name

# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
from .export_manifest import Manifest, Shard, SplitInfo, read_manifest, sha256_file  # noqa: E402,F401


class ShardWriter:
    """Writes the rows of one config/split as Parquet shards of at most ~`max_shard_bytes` each.

    Each shard is written atomically (`dinos.io.atomic_path`) under `out_dir`. A row larger than
    the bound gets a shard of its own. Row groups hold at most ~`row_group_bytes`.
    """

    def __init__(self, out_dir: Path, config: str, split: str, features, *, max_shard_bytes: int,
                 row_group_bytes: int):
        self.out_dir = Path(out_dir)
        self.config, self.split = config, split
        self.features = features
        self.schema = features.arrow_schema
        self.max_shard_bytes = max(1, int(max_shard_bytes))
        self.row_group_bytes = max(1, min(int(row_group_bytes), self.max_shard_bytes))
        self.shards: list[Shard] = []
        self._writer = None
        self._ctx = None  # the open dinos.io.atomic_path of the shard in progress
        self._buffer: list[dict] = []
        self._buffer_bytes = 0
        self._arena = bytearray()  # the audio bytes of a row group (reused)
        self._shard_bytes = 0
        self._shard_rows = 0

    def _open(self) -> None:
        import pyarrow.parquet as pq

        self._ctx = dio.atomic_path(self.out_dir / shard_name(self.config, self.split, len(self.shards)))
        tmp = self._ctx.__enter__()
        self._writer = pq.ParquetWriter(str(tmp), self.schema)

    def _flush_group(self) -> None:
        import pyarrow as pa

        if not self._buffer:
            return
        if self._writer is None:
            self._open()
        audio = [row["audio"] for row in self._buffer]
        blobs = [a["bytes"] for a in audio]
        total = sum(len(b) for b in blobs if b is not None)
        if any(b is None for b in blobs) or total >= 2**31:  # rare: let pyarrow build the column
            table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        else:  # the audio bytes go into one reused buffer: no fresh memory per row group
            table = pa.Table.from_pylist([{**row, "audio": None} for row in self._buffer], schema=self.schema)
            i = self.schema.get_field_index("audio")
            table = table.set_column(i, self.schema.field(i), self._audio_column(blobs, [a["path"] for a in audio]))
        self._writer.write_table(table, row_group_size=len(self._buffer))
        del table  # the arena is reused by the next row group
        self._buffer, self._buffer_bytes = [], 0

    def _audio_column(self, blobs: list[bytes], paths: list[str | None]):
        """The `{bytes, path}` struct column, its bytes copied into `self._arena` (kept between row
        groups: `ParquetWriter.write_table` has serialised them when it returns)."""
        import numpy as np
        import pyarrow as pa

        sizes = np.fromiter((len(b) for b in blobs), np.int64, len(blobs))
        offsets = np.zeros(len(blobs) + 1, np.int32)
        np.cumsum(sizes, out=offsets[1:])
        total = int(offsets[-1])
        if len(self._arena) < total:
            self._arena = bytearray(total)
        view = memoryview(self._arena)
        for blob, start in zip(blobs, offsets[:-1].tolist(), strict=False):
            view[start:start + len(blob)] = blob
        data = pa.Array.from_buffers(pa.binary(), len(blobs), [None, pa.py_buffer(offsets), pa.py_buffer(view[:total])])
        audio_type = self.schema.field("audio").type
        return pa.StructArray.from_arrays([data, pa.array(paths, pa.string())], fields=list(audio_type))

    def _close_shard(self) -> None:
        self._flush_group()
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        ctx, self._ctx = self._ctx, None
        ctx.__exit__(None, None, None)  # renames the finished shard into place
        rel = shard_name(self.config, self.split, len(self.shards))
        final = self.out_dir / rel
        self.shards.append(Shard(rel, self._shard_rows, final.stat().st_size, sha256_file(final)))
        self._shard_rows = self._shard_bytes = 0

    def add(self, row: dict) -> None:
        """Append one row (features-encoded: ClassLabels as ints, audio as `{bytes, path}`)."""
        size = len(row["audio"]["bytes"] or b"") + _ROW_OVERHEAD
        if self._shard_rows and self._shard_bytes + size > self.max_shard_bytes:
            self._close_shard()
        self._buffer.append(row)
        self._buffer_bytes += size
        self._shard_bytes += size
        self._shard_rows += 1
        if self._buffer_bytes >= self.row_group_bytes:
            self._flush_group()

    def close(self) -> list[Shard]:
        self._close_shard()
        return self.shards

    def abort(self) -> None:
        """Remove the shard in progress (closed shards stay in the staging folder)."""
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is discarded anyway
                pass
            self._writer = None
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            try:
                ctx.__exit__(RuntimeError, RuntimeError("export aborted"), None)  # removes the temp file
            except RuntimeError:
                pass


class _SourceCache:
    """The source file of the rows being exported, kept open (windows of one recording arrive
    together): its header info and, for a plain PCM_16 WAV, where its sample bytes lie."""

    def __init__(self):
        self._key = None
        self._fh = None
        self.checked: str | None = None  # the last row path found relative and inside the data directory
        self.info = None
        self.pcm16: tuple[int, int] | None = None  # (data offset, data bytes) of a plain PCM_16 WAV

    def __call__(self, path: str) -> _SourceCache:
        from .audio import probe

        if self._key != path:
            self.close()
            self.info = probe(path)
            self._fh = open(path, "rb")  # noqa: SIM115 - kept open for the file's windows, closed by close()
            self._key = path
            self.pcm16 = pcm16_data(self._fh, self.info) if self.info.subtype == "PCM_16" else None
        return self

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fh.fileno(), size, offset)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._key = self._fh = self.info = self.pcm16 = None


def pcm16_data(fh, info) -> tuple[int, int] | None:
    """`(offset, size)` of the sample bytes of a little-endian RIFF/WAVE PCM_16 file (`fmt ` tag 1,
    or WAVE_FORMAT_EXTENSIBLE), when its `data` chunk agrees with libsndfile's frame count `info.frames`;
    None for anything else (RF64, RIFX, unusual sizes): those windows go through soundfile."""
    import struct

    head = os.pread(fh.fileno(), 1 << 16, 0)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt_ok = 12, False
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 24 <= len(head):
            tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
            fmt_ok = (tag in (1, 0xFFFE) and bits == 16 and channels == info.channels
                      and rate == info.sample_rate and align == 2 * channels)
        elif cid == b"data":
            if fmt_ok and size // (2 * info.channels) == info.frames:
                return pos + 8, size
            return None
        pos += 8 + size + (size & 1)
    return None


def wav_header(sample_rate: int, channels: int, frames: int) -> bytes:
    """The 44-byte header `soundfile.write(format="WAV", subtype="PCM_16")` writes (tested byte for byte)."""
    import struct

    data = frames * channels * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data, b"WAVE", b"fmt ", 16, 1, channels, sample_rate,
                       sample_rate * channels * 2, channels * 2, 16, b"data", data)


def embed_audio(row: dict, root: str | os.PathLike, sources: _SourceCache | None = None) -> dict:
    """`row` with its audio bytes embedded and a relative audio path (see the module docstring).

    `root` is the data directory that `row["path"]` is relative to. A window of a plain PCM_16 WAV
    is its sample bytes copied behind a WAV header (the samples `read_window` decodes, bit for bit,
    zero-padded past the end); other subtypes are decoded and re-encoded with soundfile. `sources`
    keeps the current source file open between calls (closed by its owner); without it, the file is
    opened for this row only.
    """
    if sources is None:
        sources = _SourceCache()
        try:
            return embed_audio(row, root, sources)
        finally:
            sources.close()
    from .audio import encode_wav, read_window

    rel = row["path"]
    if rel != sources.checked:  # the windows of one file share the check
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            raise UnsafePathError("row path must be relative to the data directory", rel)
        sources.checked = rel
    full = os.path.join(str(root), rel)
    source = sources(full)
    info = source.info
    start, n = int(row["start_frame"]), int(row["num_frames"])
    if start == 0 and n == info.frames:
        with open(full, "rb") as fh:
            data = fh.read()
        audio_path = rel
    else:
        if source.pcm16 is not None:
            if start >= info.frames:
                raise AudioError(f"window starts at frame {start}, file has {info.frames} frames", full)
            offset, size = source.pcm16
            align = 2 * info.channels
            want = n * align
            samples = source.read(offset + start * align, min(want, size - start * align))
            if len(samples) < min(want, size - start * align):
                raise AudioError(f"window of {n} frames at {start} read back {len(samples) // align} frames", full)
            data = wav_header(info.sample_rate, info.channels, n) + samples + bytes(want - len(samples))
        else:
            arr, sr = read_window(full, start, n)
            if arr.shape[-1] != n:
                raise AudioError(f"window of {n} frames at {start} read back {arr.shape[-1]} frames", full)
            subtype = info.subtype if info.subtype in _KEEP_SUBTYPES else "FLOAT"
            data = encode_wav(arr, sr, subtype)
        audio_path = f"{rel.rsplit('.', 1)[0]}_{start}-{start + n}.wav"
    out = dict(row)
    out["audio"] = {"bytes": data, "path": audio_path}
    return out


def _check_name(kind: str, name: str) -> None:
    if not _NAME_RE.match(name):
        raise LayoutError(f"{kind} name {name!r} cannot be used as a folder/file name in an export")


def _previous_export_files(out: Path) -> list[str] | None:
    """What an export written before the output marker existed owns (for `OutputDir.open(adopt=)`)."""
    names = {p.name for p in out.iterdir()}
    if not names & {EXPORT_MARKER, PENDING_MANIFEST, STAGING_DIR}:
        return None
    return [CARD_NAME, EXPORT_MARKER, DATA_DIR, *PARTIAL_NAMES]


def _check_previous(out: Path, outdir: dio.OutputDir) -> None:
    """Before anything changes: the previous export's files are ours and unedited, `data/` holds only them."""
    ours: set[str] = set()
    for name in (EXPORT_MARKER, PENDING_MANIFEST):
        if (out / name).is_file():  # a manifest naming ../victim raises UnsafePathError here
            ours |= set(Manifest.from_json((out / name).read_text(encoding="utf-8"), out / name).shard_paths())
    for name in (DATA_DIR, STAGING_DIR, OLD_DATA_DIR):
        d = out / name
        if d.is_symlink() or (d.exists() and not is_within(d, out)):
            raise UnsafePathError("is a symlink; dinos export only removes files inside the output directory", d)
    outdir.check_previous()  # a hand-edited README.md or manifest: refuse, nothing changed
    data = out / DATA_DIR
    for path in sorted(data.rglob("*")) if data.is_dir() else []:
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in ours and not path.name.startswith(PARTIAL_PREFIX) \
                and not dio.is_temp_name(path.name):  # those two: leftovers of a killed run
            raise LayoutError(
                "file not written by a previous export would be removed or loaded with this one; "
                "move it away first (dinos export never deletes files it did not write)",
                path,
            )


def _publish(out: Path, outdir: dio.OutputDir, stage: Path, manifest: Manifest, card: str) -> None:
    """Move a staged export into place. After every step a load sees the old export, the new one, or
    an error (never a partial or mixed dataset):

    1. the pending manifest lists the new shards (a kill from here on leaves files known to be ours);
    2. the old manifest goes: `dinos.load_dataset` no longer takes the folder for an export;
    3. the old `data/` is renamed away: the old card points at no files, so stock `datasets` errors;
    4. the new card is written: it points at no files yet, stock `datasets` still errors;
    5. the staged `data/` is renamed into place in one step: stock `datasets` loads the new export;
    6. the new manifest is written: `dinos.load_dataset` loads it; leftovers are removed.
    """
    dio.write_text(out / PENDING_MANIFEST, manifest.to_json())
    _after_step("pending")
    (out / EXPORT_MARKER).unlink(missing_ok=True)
    _after_step("manifest removed")
    if (out / DATA_DIR).exists():
        os.replace(out / DATA_DIR, out / OLD_DATA_DIR)
    _after_step("old data removed")
    outdir.write_text(CARD_NAME, card)
    _after_step("card written")
    outdir.path_for(DATA_DIR)
    os.replace(stage / DATA_DIR, out / DATA_DIR)
    _after_step("data published")
    outdir.write_text(EXPORT_MARKER, manifest.to_json())
    _after_step("manifest written")
    for name in (OLD_DATA_DIR, STAGING_DIR):
        if (out / name).exists():
            shutil.rmtree(out / name)
    (out / PENDING_MANIFEST).unlink(missing_ok=True)
    outdir.remove_previous()


def _after_step(step: str) -> None:
    """Called after each publishing step (tests load the folder here to check it is never mixed)."""


def write_export(
    out: str | os.PathLike,
    corpus: str,
    rows: Callable[[str], Iterable[tuple[str, Iterable[dict]]]],
    configs: list[str],
    *,
    root: str | os.PathLike,
    sampling_rate: int | None,
    options: dict | None = None,
    overwrite: bool = False,
    max_shard_mb: float = DEFAULT_MAX_SHARD_MB,
    row_group_mb: float = DEFAULT_ROW_GROUP_MB,
    progress: Callable[[str], None] | None = None,
) -> Manifest:
    """Write an export of `configs` to `out` and return its manifest.

    `rows(config)` yields `(split, row iterator)` pairs; rows are features-encoded rows of the one
    clip schema with `path` relative to `root` (where the audio is read from). Rows are streamed:
    memory holds at most one row group. Each config's rows must share `sampling_rate` (the
    exported `Audio` feature's rate).

    `out` is guarded by `dinos.io.OutputDir`: a folder holding anything the tool did not write is
    refused, a previous export is replaced only with `overwrite=True` and only if its files were not
    edited; `out` inside `root` is refused before anything is created. The export is staged and
    published all or nothing (`_publish`).
    """
    from . import __version__, cards, schema

    if not configs:
        raise LayoutError("no configs to export")
    for c in configs:
        _check_name("config", c)
    for name, value in (("max_shard_mb", max_shard_mb), ("row_group_mb", row_group_mb)):
        if not (isinstance(value, (int, float)) and value > 0 and value != float("inf")):
            raise LayoutError(f"{name} must be a positive finite number, got {value!r}")
    out = dio.OutputDir.check_path(out)
    if is_within(out, root):
        raise LayoutError(f"output directory lies inside the data directory {root} (a later build would "
                          "read it as corpus files); choose a folder outside it (nothing was created)", out)
    outdir = dio.OutputDir.open(out, tool=TOOL, overwrite=overwrite, adopt=_previous_export_files)
    out = outdir.root
    _check_previous(out, outdir)
    for name in (STAGING_DIR, PENDING_MANIFEST, OLD_DATA_DIR):
        outdir.path_for(name)  # recorded before it exists: a killed run's leftovers are known to be ours
    stage = out / STAGING_DIR
    for leftover in (stage, out / OLD_DATA_DIR):  # of a killed run (checked above: ours, no symlinks)
        if leftover.exists():
            shutil.rmtree(leftover)
    dio.clean_partials(out)
    feats = schema.features(sampling_rate=sampling_rate)
    manifest = Manifest(corpus, sampling_rate, {}, dict(options or {}), __version__)
    try:
        _write_configs(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                       progress)
        _publish(out, outdir, stage, manifest, cards.render_export_card(manifest, source_dir=root))
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    return manifest


def _write_configs(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                   progress) -> None:
    source = _SourceCache()
    try:
        _write_each_config(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                           progress, source)
    finally:
        source.close()


def _write_each_config(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                       progress, source) -> None:
    for config in configs:
        manifest.configs[config] = {}
        for split, split_rows in rows(config):
            _check_name("split", split)
            if split in manifest.configs[config]:
                raise LayoutError(f"split {split!r} of config {config!r} produced twice")
            writer = ShardWriter(stage, config, split, feats, max_shard_bytes=int(max_shard_mb * 2**20),
                                 row_group_bytes=int(row_group_mb * 2**20))
            bar = _row_bar(progress, f"{config}/{split}")
            try:
                for row in split_rows:
                    if sampling_rate is not None and row["sample_rate"] != sampling_rate:
                        raise AudioError(
                            f"sample rate {row['sample_rate']} Hz, the export's Audio feature is "
                            f"{sampling_rate} Hz", row["path"])
                    writer.add(embed_audio(row, root, source))
                    bar.update(1)
                shards = writer.close()
            except BaseException:
                writer.abort()
                raise
            finally:
                bar.close()
            if not shards:
                continue
            manifest.configs[config][split] = SplitInfo(
                sum(s.num_rows for s in shards), sum(s.num_bytes for s in shards), shards
            )
            if progress:
                n = manifest.configs[config][split].num_rows
                progress(f"{config}/{split}: {n} rows in {len(shards)} shard(s)")
        if not manifest.configs[config]:
            raise LayoutError(f"config {config!r} produced no rows", root)


def _row_bar(progress: Callable[[str], None] | None, name: str):
    """A per-row progress bar on stderr (rows, rate), shown when progress lines are (not `--quiet`)."""
    import sys

    from tqdm import tqdm

    return tqdm(desc=name, unit=" rows", file=sys.stderr, disable=progress is None, mininterval=0.5, leave=False)


def read_skip_report(builder) -> list[dict]:
    """The files a `skip_invalid` build of `builder` skipped: `[{"path", "reason"}, ...]` (empty if none)."""
    from .builder import skip_report_path

    path = skip_report_path(builder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _builder_rows(corpus: str, data_dir, cache_dir, builder_kwargs: dict, builders: dict) -> Callable:
    from .api import get_builder
    from .builder import skip_report_path

    def rows(config: str) -> Iterator[tuple[str, Iterable[dict]]]:
        builder = get_builder(corpus, config, data_dir=data_dir, cache_dir=cache_dir, **builder_kwargs)
        builders[config] = builder
        if builder_kwargs.get("skip_invalid"):  # the report then lists this build's skips only
            skip_report_path(builder).unlink(missing_ok=True)
        for split, tables in builder.split_tables():
            yield split, (row for table in tables for row in table.to_pylist())

    return rows


def export(
    corpus: str,
    configs: list[str],
    *,
    data_dir: str | os.PathLike,
    out: str | os.PathLike,
    overwrite: bool = False,
    max_shard_mb: float = DEFAULT_MAX_SHARD_MB,
    row_group_mb: float = DEFAULT_ROW_GROUP_MB,
    cache_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
    **builder_kwargs,
) -> Manifest:
    """Export configs of one of the project's corpora (built from `data_dir`) to `out`.

    `builder_kwargs` are the builder options (`segment`, `hop`, `tail`, `strict`, `skip_invalid`,
    ...); they are recorded in the manifest. Returns the manifest that was written; with
    `skip_invalid=True` its `skipped` maps each config to the files its build skipped (and why).
    """
    from .loaders import builder_class, corpus_names

    if corpus not in corpus_names():
        raise LayoutError(f"unknown corpus {corpus!r} (expected one of {list(corpus_names())})")
    cls = builder_class(corpus)
    known = [c.name for c in cls.BUILDER_CONFIGS]
    for c in configs:
        if c not in known:
            raise LayoutError(f"{corpus} has no config {c!r} (known: {', '.join(known)})")
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise LayoutError("data_dir is not a directory", root)
    options = {k: v for k, v in sorted(builder_kwargs.items()) if v is not None}
    builders: dict = {}
    manifest = write_export(
        out,
        corpus,
        _builder_rows(corpus, root, cache_dir, builder_kwargs, builders),
        list(configs),
        root=root,
        sampling_rate=cls.INFO.sample_rate,
        options=options,
        overwrite=overwrite,
        max_shard_mb=max_shard_mb,
        row_group_mb=row_group_mb,
        progress=progress,
    )
    manifest.skipped = {c: read_skip_report(b) for c, b in builders.items()}
    return manifest


from .export_check import validate_export  # noqa: E402,F401 - the validation half of the export API
