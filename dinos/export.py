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

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from . import io as dio
from .errors import AudioError, DinosError, LayoutError, UnsafePathError
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
from .paths import check_relative, is_within, safe_join

DEFAULT_MAX_SHARD_MB = 500.0
DEFAULT_ROW_GROUP_MB = 64.0
_ROW_OVERHEAD = 512  # rough bytes of metadata per row, for the shard-size estimate
_KEEP_SUBTYPES = {"PCM_16", "PCM_24", "FLOAT"}  # exact through float32; anything else becomes FLOAT
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOOL = "export"  # the OutputDir tool name

# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shard:
    """One Parquet file of an export, as recorded in the manifest."""

    path: str  # relative to the export directory, POSIX separators
    num_rows: int
    num_bytes: int
    sha256: str


@dataclass
class SplitInfo:
    num_rows: int = 0
    num_bytes: int = 0  # sum of shard file sizes
    shards: list[Shard] = field(default_factory=list)


@dataclass
class Manifest:
    """Contents of `dinos_export.json` (no timestamps or local paths: re-exports are reproducible)."""

    corpus: str
    sampling_rate: int | None
    configs: dict[str, dict[str, SplitInfo]]  # config -> split -> info
    options: dict = field(default_factory=dict)  # builder options used (segment, hop, ...)
    dinos_version: str = ""
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION
    skipped: dict = field(default_factory=dict, compare=False)  # config -> skipped files; not in the JSON

    def shard_paths(self) -> list[str]:
        return [s.path for splits in self.configs.values() for info in splits.values() for s in info.shards]

    def files(self) -> list[str]:
        """Every file the export wrote, relative to its directory."""
        return self.shard_paths() + [CARD_NAME, EXPORT_MARKER]

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "skipped"}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where=None) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT_NAME:
                raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT_NAME!r}")
            if raw.get("version") != FORMAT_VERSION:
                raise ValueError(f"version {raw.get('version')!r} is not {FORMAT_VERSION}")
            configs = {
                c: {
                    s: SplitInfo(info["num_rows"], info["num_bytes"], [Shard(**sh) for sh in info["shards"]])
                    for s, info in splits.items()
                }
                for c, splits in raw["configs"].items()
            }
            for splits in configs.values():
                for info in splits.values():
                    for sh in [info, *info.shards]:
                        if not all(type(v) is int and v >= 0 for v in (sh.num_rows, sh.num_bytes)):
                            raise ValueError("row and byte counts must be non-negative integers")
                    for sh in info.shards:
                        if not isinstance(sh.path, str) or not isinstance(sh.sha256, str):
                            raise ValueError(f"shard path and sha256 must be strings: {sh!r}")
                        check_relative(sh.path, source=where)
            return cls(
                corpus=raw["corpus"],
                sampling_rate=raw["sampling_rate"],
                configs=configs,
                options=raw.get("options", {}),
                dinos_version=raw.get("dinos_version", ""),
            )
        except UnsafePathError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LayoutError(f"not a valid export manifest ({exc})", where) from None


def read_manifest(export_dir: str | os.PathLike) -> Manifest:
    """The manifest of an export directory; `LayoutError` naming the file if missing or malformed."""
    path = Path(export_dir) / EXPORT_MARKER
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayoutError("no export manifest: not a directory written by `dinos export`", path) from None
    return Manifest.from_json(text, path)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


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
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=len(self._buffer))
        self._buffer, self._buffer_bytes = [], 0

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


class _ProbeCache:
    """Remembers the last file probed (windows of one recording arrive together)."""

    def __init__(self):
        self._key, self._info = None, None

    def __call__(self, path: str):
        from .audio import probe

        if self._key != path:
            self._info, self._key = probe(path), path
        return self._info


def embed_audio(row: dict, root: str | os.PathLike, probe_cache: Callable | None = None) -> dict:
    """`row` with its audio bytes embedded and a relative audio path (see the module docstring).

    `root` is the data directory that `row["path"]` is relative to.
    """
    from .audio import encode_wav, read_window

    rel = row["path"]
    if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
        raise UnsafePathError("row path must be relative to the data directory", rel)
    full = os.path.join(str(root), rel)
    info = (probe_cache or _ProbeCache())(full)
    start, n = int(row["start_frame"]), int(row["num_frames"])
    if start == 0 and n == info.frames:
        with open(full, "rb") as fh:
            data = fh.read()
        audio_path = rel
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
    probe_cache = _ProbeCache()
    for config in configs:
        manifest.configs[config] = {}
        for split, split_rows in rows(config):
            _check_name("split", split)
            if split in manifest.configs[config]:
                raise LayoutError(f"split {split!r} of config {config!r} produced twice")
            writer = ShardWriter(stage, config, split, feats, max_shard_bytes=int(max_shard_mb * 2**20),
                                 row_group_bytes=int(row_group_mb * 2**20))
            try:
                for row in split_rows:
                    if sampling_rate is not None and row["sample_rate"] != sampling_rate:
                        raise AudioError(
                            f"sample rate {row['sample_rate']} Hz, the export's Audio feature is "
                            f"{sampling_rate} Hz", row["path"])
                    writer.add(embed_audio(row, root, probe_cache))
                shards = writer.close()
            except BaseException:
                writer.abort()
                raise
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
        streams = builder.as_streaming_dataset()
        for split, ds in streams.items():
            yield split, iter(ds)

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


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def validate_export(export_dir: str | os.PathLike, *, checksums: bool = True) -> list[str]:
    """Problems found in an export directory (empty list = valid). Each names the file.

    Checks the manifest, every shard's presence, size, sha256 (unless `checksums=False`) and row
    count, Parquet files the manifest does not list (a load would pick them up), leftovers of
    an interrupted export, and the whole card against the manifest and shards: its `configs:`
    block, and its `dataset_info` (features with ClassLabel names, split names, row counts, sizes).
    """
    root = Path(export_dir)
    problems: list[str] = []
    try:
        manifest = read_manifest(root)
    except DinosError as exc:
        return [str(exc)]
    listed = set()
    for config, splits in manifest.configs.items():
        for split, info in splits.items():
            if sum(s.num_rows for s in info.shards) != info.num_rows:
                problems.append(f"{root / EXPORT_MARKER}: {config}/{split} row count disagrees with its shards")
            for shard in info.shards:
                listed.add(shard.path)
                problems.extend(_check_shard(root, shard, checksums))
    for leftover in (STAGING_DIR, PENDING_MANIFEST):
        if (root / leftover).exists():
            problems.append(f"{root / leftover}: leftover of an interrupted export")
    data = root / DATA_DIR
    for path in sorted(data.rglob("*")) if data.is_dir() else []:
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(PARTIAL_PREFIX):
            problems.append(f"{path}: leftover of an interrupted export")
        elif rel not in listed and path.suffix == ".parquet":
            problems.append(f"{path}: Parquet file not listed in {EXPORT_MARKER} (a load would include it)")
    problems.extend(_check_card(root, manifest))
    return problems


def _check_shard(root: Path, shard: Shard, checksums: bool) -> list[str]:
    try:
        path = safe_join(root, shard.path, source=root / EXPORT_MARKER)
    except UnsafePathError as exc:
        return [f"{root / EXPORT_MARKER}: shard path {shard.path!r} leaves the export directory ({exc.reason})"]
    if not path.is_file():
        return [f"{path}: shard listed in {EXPORT_MARKER} is missing"]
    size = path.stat().st_size
    if size != shard.num_bytes:
        return [f"{path}: size {size} bytes, manifest records {shard.num_bytes}"]
    if checksums and sha256_file(path) != shard.sha256:
        return [f"{path}: sha256 differs from the manifest (file changed or corrupt)"]
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - any reader failure is a problem to report
        return [f"{path}: not a readable Parquet file ({exc})"]
    if rows != shard.num_rows:
        return [f"{path}: {rows} rows, manifest records {shard.num_rows}"]
    return []


def _check_card(root: Path, manifest: Manifest) -> list[str]:
    from .cards import read_card_header

    card = root / CARD_NAME
    try:
        header = read_card_header(card.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{card}: missing (stock `datasets` needs its `configs:` block)"]
    except DinosError as exc:
        return [f"{card}: {exc.reason}"]
    want = {
        c: {s: shard_glob(c, s) for s in splits} for c, splits in manifest.configs.items()
    }
    found = {}
    for entry in header.get("configs") or []:
        files = entry.get("data_files") or []
        found[entry.get("config_name")] = {f.get("split"): f.get("path") for f in files if isinstance(f, dict)}
    problems = []
    if found != want:
        problems.append(f"{card}: `configs:` block does not match {EXPORT_MARKER} (regenerate the export)")
    return problems + _check_card_info(root, card, header, manifest)


def _shard_features(root: Path, manifest: Manifest, config: str):
    """The `datasets.Features` recorded in the first shard of `config` (the shards are the truth:
    their sha256 is checked against the manifest); None if no shard carries them."""
    import datasets
    import pyarrow.parquet as pq

    for info in manifest.configs[config].values():
        for shard in info.shards:
            try:
                meta = pq.read_schema(safe_join(root, shard.path)).metadata or {}
                return datasets.Features.from_dict(json.loads(meta[b"huggingface"])["info"]["features"])
            except (OSError, KeyError, ValueError, UnsafePathError, TypeError):
                continue  # missing or broken shards are reported by _check_shard
    return None


def _check_card_info(root: Path, card: Path, header: dict, manifest: Manifest) -> list[str]:
    """The card's `dataset_info` against the manifest and shards: one entry per exported config,
    its features (ClassLabel names included) equal to the shards' and its split names, row counts
    and byte sizes equal to the manifest's. Stock `datasets` trusts these: swapped label names
    would relabel every row, a wrong `num_examples` breaks every load."""
    import datasets

    entries = header.get("dataset_info")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return [f"{card}: no `dataset_info` block (regenerate the export)"]
    by_config = {e.get("config_name", "default"): e for e in entries if isinstance(e, dict)}
    problems = []
    for extra in sorted(set(by_config) - set(manifest.configs), key=str):
        problems.append(f"{card}: `dataset_info` describes config {extra!r}, which {EXPORT_MARKER} does not list")
    for config, splits in manifest.configs.items():
        entry = by_config.get(config)
        if entry is None:
            problems.append(f"{card}: `dataset_info` has no entry for config {config!r}")
            continue
        try:
            card_feats = datasets.Features._from_yaml_list(entry.get("features") or [])
        except Exception as exc:  # noqa: BLE001 - any unreadable features block is a problem to report
            problems.append(f"{card}: `dataset_info` features of {config!r} are unreadable ({exc})")
        else:
            want = _shard_features(root, manifest, config)
            if want is not None and card_feats != want:
                diff = sorted(k for k in set(want) | set(card_feats) if want.get(k) != card_feats.get(k))
                problems.append(
                    f"{card}: `dataset_info` features of {config!r} differ from the shards' in "
                    f"{', '.join(diff)} (e.g. ClassLabel names edited: labels would be read wrong)"
                )
        card_splits = {s.get("name"): s for s in entry.get("splits") or [] if isinstance(s, dict)}
        if set(card_splits) != set(splits):
            problems.append(
                f"{card}: `dataset_info` splits of {config!r} are {sorted(map(str, card_splits))}, "
                f"{EXPORT_MARKER} lists {sorted(splits)}"
            )
        for split, info in splits.items():
            got = card_splits.get(split)
            if got is None:
                continue
            if got.get("num_examples") != info.num_rows or got.get("num_bytes") != info.num_bytes:
                problems.append(
                    f"{card}: {config}/{split} size in `dataset_info` ({got.get('num_examples')} rows, "
                    f"{got.get('num_bytes')} bytes) differs from {EXPORT_MARKER} ({info.num_rows} rows, "
                    f"{info.num_bytes} bytes)"
                )
    return problems
