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
from pathlib import Path

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
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOOL = "export"  # the OutputDir tool name

# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
from .export_manifest import Manifest, Shard, SplitInfo, read_manifest, sha256_file  # noqa: E402,F401
from .export_shards import (  # noqa: E402,F401 - re-exported: part of the export API
    ShardWriter,
    _SourceCache,
    embed_audio,
    pcm16_data,
    plain_pcm16,
    wav_header,
)


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
    clip schema with `path` relative to `root` (where the audio is read from), given as dicts or as
    Arrow tables of that schema (batches of rows, written column by column). Rows are streamed:
    memory holds at most two row groups of audio (one read while the other is written). Each config's rows must share `sampling_rate` (the
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
        writers = _write_configs(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb,
                                 row_group_mb, progress)
        try:  # the card is rendered while the last shards' sha256 are still being computed
            card = cards.render_export_card(manifest, source_dir=root)
            for writer in writers:
                writer.finish()
        except BaseException:
            for writer in writers:
                writer.abort()
            raise
        _publish(out, outdir, stage, manifest, card)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    return manifest


def _write_configs(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                   progress) -> list[ShardWriter]:
    """Write every split's shards into `stage`; the writers, whose last shard each still needs
    `ShardWriter.finish()` (its sha256 awaited, the file moved into place)."""
    source = _SourceCache()
    writers: list[ShardWriter] = []
    try:
        _write_each_config(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                           progress, source, writers)
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    finally:
        source.close()
    return writers


def _write_each_config(manifest, stage, rows, configs, root, feats, sampling_rate, max_shard_mb, row_group_mb,
                       progress, source, writers) -> None:
    for config in configs:
        manifest.configs[config] = {}
        for split, split_rows in rows(config):
            _check_name("split", split)
            if split in manifest.configs[config]:
                raise LayoutError(f"split {split!r} of config {config!r} produced twice")
            writer = ShardWriter(stage, config, split, feats, max_shard_bytes=int(max_shard_mb * 2**20),
                                 row_group_bytes=int(row_group_mb * 2**20), root=root, sources=source)
            bar = _row_bar(progress, f"{config}/{split}")
            try:
                for item in split_rows:
                    if isinstance(item, dict):
                        _check_rate(sampling_rate, [item["sample_rate"]], [item["path"]])
                        writer.add(item)
                        bar.update(1)
                    else:  # an Arrow table of rows: stays columnar (only the audio column is built)
                        _check_rate(sampling_rate, item.column("sample_rate"), item.column("path"))
                        writer.add_table(item, bar.update)
                shards = writer.close(finish=False)
                writers.append(writer)
            except BaseException:
                writer.abort()
                raise
            finally:
                bar.close()
            if not shards:
                continue
            manifest.configs[config][split] = SplitInfo(  # `shards` is the writer's own list: its
                sum(s.num_rows for s in shards), sum(s.num_bytes for s in shards), shards  # finish() fills
            )  # in the last shard's sha256
            if progress:
                n = manifest.configs[config][split].num_rows
                progress(f"{config}/{split}: {n} rows in {len(shards)} shard(s)")
        if not manifest.configs[config]:
            raise LayoutError(f"config {config!r} produced no rows", root)


def _check_rate(sampling_rate: int | None, rates, paths) -> None:
    """`AudioError` naming the first row whose sample rate is not the export's `Audio` rate."""
    if sampling_rate is None:
        return
    if not isinstance(rates, list):
        import pyarrow.compute as pc

        if pc.all(pc.equal(rates, sampling_rate)).as_py() is not False and rates.null_count == 0:
            return
        rates, paths = rates.to_pylist(), paths.to_pylist()
    for rate, path in zip(rates, paths, strict=True):
        if rate != sampling_rate:
            raise AudioError(f"sample rate {rate} Hz, the export's Audio feature is {sampling_rate} Hz", path)


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
        yield from builder.split_tables()  # Arrow tables of the clip schema: written column by column

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
