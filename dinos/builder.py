"""Shared `GeneratorBasedBuilder` machinery: corpus parsers produce `SourceFile`s, this turns them
into rows of the one clip schema (one row per file, or one per window when segmenting)."""

from __future__ import annotations

import hashlib
import importlib
import operator
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from . import schema
from .audio import AudioInfo, check_info, read_window, recording_stats
from .build_rows import SourceGuard, WindowBatch, join_relative, probe_file, windows_of
from .corpus import CorpusInfo
from .errors import AudioError, DinosError, LayoutError, ParseError, UnsafePathError
from .paths import printable
from .segment import parse_normalize

#: WAV subtypes that can hold NaN/inf; such files are read in full at build time to check.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


@dataclass(frozen=True)
class SourceFile:
    """One audio file as the corpus parser understands it, before its header is read.

    `fields` is a typed `schema.FileFields` (the `Clip` fields the file name and folders fix: corpus,
    machine, sensor, section, domain, label, origin_split, task_class, class_name, attributes,
    provenance, group_id, ...). A parser may pass a dict; it is validated here, and a value the schema
    does not allow is a `ParseError` naming the file, at scan time rather than in the middle of a build.
    """

    path: str  # relative to data_dir, POSIX separators
    fields: schema.FileFields
    sample_rate: int | None = None  # documented rate (None: any)
    channels: int | None = None  # documented channel count (None: any)

    def __post_init__(self) -> None:
        global _last_fields
        if isinstance(self.fields, schema.FileFields):
            return
        from pydantic import ValidationError

        # The files of one folder carry equal fields but for `group_id` (a free string): a dict equal
        # to the last one validated, `group_id` aside, reuses it with its own `group_id` set.
        group = self.fields.get("group_id", "")
        key = repr({k: v for k, v in self.fields.items() if k != "group_id"})
        if _last_fields[0] == key and type(group) is str:
            typed = _last_fields[1]
            if typed.group_id != group:
                typed = typed.model_copy(update={"group_id": group})
            object.__setattr__(self, "fields", typed)
            return
        try:
            typed = schema.FileFields(**self.fields)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ParseError(f"the parser produced fields the schema does not allow ({problems})", self.path) from None
        _last_fields = (key, typed)
        object.__setattr__(self, "fields", typed)


#: (repr of a parser's fields dict without `group_id`, its validated `FileFields`): the last one
#: validated (immutable, shared between `SourceFile`s)
_last_fields: tuple[str, schema.FileFields | None] = ("", None)


def source_files(listing, root: str, rel_folder: str, base: dict, audio: tuple[int | None, int | None],
                 sensor_of=None, group_of=None) -> list[SourceFile]:
    """The `SourceFile`s of the files `listing(folder)` gives (`os.DirEntry`s, as
    `build_rows.wav_entries`) under `rel_folder` (relative to `root`), with the documented
    `(sample_rate, channels)` `audio`: fields `base`, with `sensor_of(name)` as the sensor when given
    and `group_of(rel)` (`rel`: the path relative to the folder) as the `group_id` when given. The
    first file of each sensor is validated (a `ParseError` naming it if the schema refuses its
    fields); the others share its typed fields with their own `group_id` (a copy: no second
    validation, the fields are the same but for that string)."""
    folder = join_relative(root, rel_folder)
    cut = len(folder) + 1
    out: list[SourceFile] = []
    typed: dict = {}  # sensor -> typed fields of the first file with it
    for entry in listing(folder):
        rel = entry.path[cut:]
        path = f"{rel_folder}/{rel}"
        sensor = base["sensor"] if sensor_of is None else sensor_of(entry.name)
        group = "" if group_of is None else group_of(rel)
        first = typed.get(sensor)
        if first is None:
            fields = {**base, "sensor": sensor}
            if group_of is not None:
                fields["group_id"] = group
            src = SourceFile(path, fields, *audio)
            typed[sensor] = src.fields
        else:
            src = SourceFile(path, first if first.group_id == group else first.model_copy(update={"group_id": group}),
                             *audio)
        out.append(src)
    return out


@dataclass
class ClipBuilderConfig(datasets.BuilderConfig):
    """Options shared by every corpus builder (all take part in the cache key)."""

    segment: float | str | None = None  # window length (seconds or "1s"); None = one row per file
    hop: float | str | None = None  # window hop; default = segment (no overlap)
    tail: str = "drop"  # partial last window: drop | pad | keep
    strict: bool = True  # unknown folder/file names are errors (False: warn and keep raw name)
    skip_invalid: bool = False  # opt-in: skip unreadable audio and record it in the skip report
    source_fingerprint: str = ""  # set by dinos.load_dataset from the files' sizes and mtimes
    normalize: str | None = None  # None | rms | zscore | rms+zscore: per-recording stats in the `stats` column
    options: dict = field(default_factory=dict)  # corpus-specific options

def builder_configs(descriptions: dict[str, str], version: str = "1.0.0") -> list[ClipBuilderConfig]:
    """One `ClipBuilderConfig` per (name, description), all at `version`."""
    return [
        ClipBuilderConfig(name=name, version=datasets.Version(version), description=desc)
        for name, desc in descriptions.items()
    ]


class ClipBuilder(datasets.ArrowBasedBuilder):
    """Base class: subclasses set `CORPUS`, `BUILDER_CONFIGS` and implement `scan()`.

    An `ArrowBasedBuilder` (the batched form of `GeneratorBasedBuilder`): rows are encoded here and
    written in Arrow batches, because `datasets`' own per-example encoding of an `Audio` column
    imports torchcodec even for a plain `{bytes, path}` struct (SPEC section 5).
    """

    #: rows per Arrow table handed to `datasets`' writer (a file's windows are never split between two)
    BATCH_ROWS = 8192
    DEFAULT_WRITER_BATCH_SIZE = BATCH_ROWS  # `datasets` would cut each table into record batches of 1000 rows

    BUILDER_CONFIG_CLASS = ClipBuilderConfig
    #: the corpus facts (`dinos.corpus.CorpusInfo`); subclasses set it
    INFO: CorpusInfo

    @property
    def CORPUS(self) -> str:  # noqa: N802 - kept for callers of the old class attribute
        return self.INFO.name

    def _info(self) -> datasets.DatasetInfo:
        config = self.config.name if getattr(self, "config", None) is not None else ""
        year = next((c.year for c in self.INFO.configs if c.name == config), None)
        return datasets.DatasetInfo(
            description=self.INFO.description,
            features=schema.features(),
            citation=self.INFO.citation("" if year is None else year),
            homepage=self.INFO.homepage,
            license=self.INFO.license,
        )

    # -- to implement -------------------------------------------------------------------------
    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        """Split name -> files of this config, from the directory tree alone (no audio read)."""
        raise NotImplementedError

    # -- datasets hooks -----------------------------------------------------------------------
    def _data_root(self) -> Path:
        if not self.config.data_dir:
            raise LayoutError(f"the {self.CORPUS!r} builder needs data_dir= (the unpacked corpus)")
        # `datasets` swaps `Path` in builder modules for its streaming `xPath` (URL parsing on every
        # join); a plain local `pathlib.Path` keeps the scan of 75 k files fast (looked up at call time:
        # a module-level alias would be swapped too)
        root = importlib.import_module("pathlib").Path(self.config.data_dir).expanduser().resolve()
        if not root.is_dir():
            raise LayoutError("data_dir is not a directory", root)
        return root

    def _split_generators(self, dl_manager):
        parse_normalize(self.config.normalize)  # fail before any file is read
        root = self._data_root()
        splits = self.scan(root)
        if not any(splits.values()):
            raise LayoutError(f"no audio files for config {self.config.name!r}", root)
        listed = [f.path for files in splits.values() for f in files]
        for rel in unlisted_dangling_links(root, listed):  # a scanner's `is_file()` would drop them unseen
            exc = AudioError(f"dangling symlink: its target {os.readlink(root / rel)!r} does not exist", root / rel)
            if not self.config.skip_invalid:
                raise exc
            self._record_skip(printable(rel), exc.reason)
        groups = duplicate_groups(root, listed)
        warn_duplicates([g for g in groups if not self.expected_duplicates(g)])
        return [
            datasets.SplitGenerator(name=name, gen_kwargs={"files": files, "root": str(root)})
            for name, files in splits.items()
            if files
        ]

    def split_tables(self):
        """`(split, Arrow tables)` of this config, straight from `_generate_tables`: nothing is cached
        and no `datasets.IterableDataset` is made (creating one imports torch when it is installed).
        Skips and drops are reported as in streaming (`_event`)."""
        for gen in self._split_generators(None):
            yield str(gen.name), (table for _, table in self._generate_tables(**gen.gen_kwargs))

    def expected_duplicates(self, group: list[str]) -> bool:
        """True if the corpus publishes these paths as copies of one recording on purpose (not
        reported); a loader overrides it. Default: every duplicate is reported."""
        return False

    # -- trust: every file read stays inside data_dir; events kept with the build -------------
    def download_and_prepare(self, *args, **kwargs):
        """`datasets`' build, with the library's own error (never `DatasetGenerationError`) and a
        build report: warnings, skipped files and dropped windows are stored next to the Arrow files
        and replayed on every cached load (`dinos.buildlog`)."""
        import warnings

        from . import buildlog

        events = Path(self._output_dir + ".dinos-events.jsonl")
        events.unlink(missing_ok=True)
        self._events_path = str(events)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    super().download_and_prepare(*args, **kwargs)
                except datasets.exceptions.DatasetGenerationError as exc:
                    raise unwrap_error(exc) from None
            report = buildlog.read_report(self._output_dir)
            if report is None:  # built just now (a cached build always carries its report)
                mine = [w for w in caught if issubclass(w.category, UserWarning)]
                report = buildlog.report_from(
                    [str(w.message) for w in mine],
                    buildlog.read_events(events),
                    segment=str(self.config.segment),
                    tail=self.config.tail,
                )
                buildlog.write_report(self._output_dir, report)
                caught = [w for w in caught if w not in mine]
            for w in caught:  # other libraries' warnings pass through unchanged
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        finally:
            self._events_path = None
            events.unlink(missing_ok=True)
        self._write_skip_report(report)
        buildlog.emit(report)
        self.build_report = report

    def _write_skip_report(self, report) -> None:
        """The `skip_invalid` report file (`skip_report_path`), rewritten from the build's report."""
        import json

        from .io import atomic_path

        path = skip_report_path(self)
        if not report.skipped:
            path.unlink(missing_ok=True)
            return
        with atomic_path(path) as tmp:
            tmp.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in report.skipped), encoding="utf-8")

    def _event(self, event: dict, pending: list | None = None) -> None:
        """Record a skip or drop for the build report. Without one (streaming: no
        `download_and_prepare`), a skip is appended to the skip report and warned at once, and a
        drop joins `pending`, warned once when the split's generator ends."""
        import json
        import warnings

        from . import buildlog

        path = getattr(self, "_events_path", None)
        if path:
            buildlog.record_event(path, event)
        elif event["kind"] == "skip":
            report = skip_report_path(self)
            report.parent.mkdir(parents=True, exist_ok=True)
            with open(report, "a", encoding="utf-8") as fh:  # one short line per skip: appends are atomic
                fh.write(json.dumps({"path": event["path"], "reason": event["reason"]}, ensure_ascii=False) + "\n")
            warnings.warn(
                f"skipped invalid audio {event['path']}: {event['reason']} (listed in {report})",
                buildlog.BuildWarning,
                stacklevel=3,
            )
        elif pending is not None:
            pending.append(event)

    def _record_skip(self, path: str, reason: str) -> None:
        self._event({"kind": "skip", "path": path, "reason": reason})

    def _stats(self, full: str) -> schema.RecordingStats | None:
        """The recording's statistics when `normalize=` is set (one read of the file), else None."""
        mode = parse_normalize(self.config.normalize)
        if mode is None:
            return None
        st = recording_stats(full)
        return schema.RecordingStats(mode=mode, mean=st.mean, std=st.std, rms=st.rms)

    def _generate_tables(self, files: list[SourceFile], root: str):
        """Arrow tables of the split's rows, one file at a time (see `_file_windows`): a file's fields
        are checked and encoded once, its windows are built as columns; a table is yielded once it
        holds at least `BATCH_ROWS` rows (a file's windows are never split between two tables)."""
        from . import buildlog

        batch = WindowBatch(self.info.features)
        pending: list[dict] = []  # drops seen while streaming (no build report to hold them)
        guard = SourceGuard(root)
        for src in files:
            part = self._file_windows(src, root, guard, pending)
            if part is None:
                continue
            batch.add(*part)
            if batch.num_rows >= self.BATCH_ROWS:
                yield batch.last_key, batch.flush()
        if batch.num_rows:
            yield "last", batch.flush()
        if pending:
            report = buildlog.report_from([], pending, segment=str(self.config.segment), tail=self.config.tail)
            buildlog.emit(report)

    def _file_windows(self, src: SourceFile, root: str, guard: SourceGuard, pending: list | None):
        """`(row, starts, lengths)` of one file: its row in `clip_to_row` form for its first window
        (one `schema.Clip` built and validated per file) and the start frame and length of every
        window as arrays; None when the file has no window or was skipped (`skip_invalid`)."""
        full = join_relative(root, src.path)
        try:
            guard(src.path)
            info = probe_file(full)
            check_info(info, full, sample_rate=src.sample_rate, channels=src.channels)
            if info.subtype in FLOAT_SUBTYPES:  # rare in these corpora: read once for NaN/inf
                read_window(full)
            stats = self._stats(full)
        except (AudioError, LayoutError) as exc:
            if not self.config.skip_invalid or isinstance(exc, UnsafePathError):
                raise
            self._record_skip(printable(src.path), exc.reason)
            return None
        starts, lengths = self._window_arrays(info)
        end = int(starts[-1] + lengths[-1]) if len(starts) else 0
        if end < info.frames:  # only `tail="drop"` leaves frames after the last window
            drop = {"kind": "drop", "path": src.path, "frames": info.frames - end, "whole": not len(starts)}
            self._event(drop, pending)
        if not len(starts):
            return None
        return self._file_row(src, full, info, stats, int(starts[0]), int(lengths[0])), starts, lengths

    def _file_row(self, src: SourceFile, full: str, info: AudioInfo, stats, start: int, n: int) -> dict:
        """The row (`schema.clip_to_row` form) of the window `(start, n)` of `src`: its validated
        `FileFields` (dumped once per fields object) plus the window's fields. Equal to building a
        `schema.Clip` (tests/test_builder_fast.py), whose checks the window fields pass by
        construction (the probe guarantees a positive rate, channel count and length)."""
        if self._dumped[0] is not src.fields:
            self._dumped = (src.fields, _dump_fields(src.fields, *self._dumped))
        row = schema.default_group({
            **self._dumped[1],
            "clip_id": schema.make_clip_id(src.path, start),
            "path": src.path,
            "recording_id": src.path.rsplit(".", 1)[0],
            "offset": start / info.sample_rate,
            "duration": n / info.sample_rate,
            "start_frame": start,
            "num_frames": n,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "stats": None if stats is None else stats.model_dump(),
        })
        row["attributes"] = list(row["attributes"])
        row[schema.AUDIO_COLUMN] = {"bytes": None, "path": full}
        return row

    _dumped: tuple = (None, {})  # (the last FileFields dumped, its dump)

    def _window_arrays(self, info: AudioInfo):
        """Start frames and lengths (int64 arrays, read-only) of the windows `segment.window_frames`
        defines. The recordings of a corpus mostly share one length: computed once per length."""
        return windows_of(info.frames, info.sample_rate, self.config.segment, self.config.hop, self.config.tail)


def _dump_fields(fields: schema.FileFields, last: schema.FileFields | None, last_dump: dict) -> dict:
    """`fields.model_dump()`. The files of a folder carry fields that differ in `group_id` alone (the
    parser copies one validated object per file with its own `group_id`): when every other field of
    `fields` is the very object `last` holds, the last dump is reused with `group_id` replaced (a plain
    string in both). Identity, not equality: equal values of another type or sign would dump apart."""
    if last is not None and type(last) is type(fields):
        now, before = fields.__dict__, last.__dict__
        names = tuple(now)
        if names == tuple(before):  # the same fields in the same order
            same = list(map(operator.is_, now.values(), before.values()))
            same[names.index("group_id")] = True
            if all(same):
                return {**last_dump, "group_id": now["group_id"]}
    return fields.model_dump()


#: Files up to this size are hashed to find byte-identical copies (larger ones: links only).
DUPLICATE_HASH_MAX_BYTES = 8 << 20


def duplicate_groups(root: str | os.PathLike, paths: list[str]) -> list[list[str]]:
    """Groups of `paths` (relative to `root`) that are the same audio: one file reached twice (hard
    link, symlink) or byte-identical copies. Cheap: one stat per file; only files that share a size
    (and are at most `DUPLICATE_HASH_MAX_BYTES`) are compared, first by a sample of their bytes
    (`SAMPLE_BYTES` at the start and in the middle: recordings of one length differ there), and only
    files whose samples agree are read in full and hashed. Files that do not resolve inside `root`
    or do not exist are left to the per-file check of the build."""
    root = os.fspath(root)
    guard = SourceGuard(root)
    by_inode: dict[tuple[int, int], list[str]] = {}
    sizes: dict[tuple[int, int], int] = {}
    for rel in paths:
        try:
            st = os.stat(join_relative(root, rel))
        except OSError:
            continue
        if guard.inside(rel):
            key = (st.st_dev, st.st_ino)
            by_inode.setdefault(key, []).append(rel)
            sizes[key] = st.st_size
    by_size: dict[int, list[list[str]]] = {}
    for key, group in by_inode.items():  # each group: the paths of one file on disk
        by_size.setdefault(sizes[key], []).append(group)
    merged: list[list[str]] = []
    for size, groups in by_size.items():
        if len(groups) < 2 or size > DUPLICATE_HASH_MAX_BYTES:
            merged += groups
            continue
        for candidates in _buckets(root, groups, size, sample=True):
            if len(candidates) == 1:
                merged += candidates
            else:  # same sample: the whole bytes decide
                merged += [[p for g in bucket for p in g] for bucket in _buckets(root, candidates, size, sample=False)]
    return sorted(sorted(g) for g in merged if len(g) > 1)


#: Bytes read at the start and in the middle of a file to tell same-size files apart cheaply.
SAMPLE_BYTES = 4096


def _buckets(root: str, groups: list[list[str]], size: int, *, sample: bool) -> list[list[list[str]]]:
    """`groups` (the paths of one file each) bucketed by the blake2b digest of their file's bytes: all
    of them, or (`sample`) `SAMPLE_BYTES` at the start and in the middle."""
    by_digest: dict[bytes, list[list[str]]] = {}
    for group in groups:
        fd = os.open(join_relative(root, group[0]), os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            data = os.pread(fd, SAMPLE_BYTES, 0) + os.pread(fd, SAMPLE_BYTES, size // 2) if sample else fh.read()
        by_digest.setdefault(hashlib.blake2b(data, digest_size=16).digest(), []).append(group)
    return list(by_digest.values())


def unlisted_dangling_links(root: str | os.PathLike, paths: list[str]) -> list[str]:
    """Dangling audio symlinks (`.wav`/`.flac`) in the folders that hold `paths` but not among them:
    a corpus scanner that lists files with `is_file()` never sees a link whose target is gone, and
    the build must not drop it silently. One `scandir` per folder."""
    listed = set(paths)
    out = []
    for folder in sorted({p.rpartition("/")[0] for p in paths}):
        try:
            entries = list(os.scandir(join_relative(os.fspath(root), folder) if folder else os.fspath(root)))
        except OSError:
            continue
        for entry in entries:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            if (
                entry.is_symlink()
                and os.path.splitext(entry.name)[1].lower() in (".wav", ".flac")
                and rel not in listed
                and not os.path.exists(entry.path)
            ):
                out.append(rel)
    return sorted(out)


def warn_duplicates(groups: list[list[str]], examples: int = 5) -> None:
    """One warning naming the groups of paths that are the same audio (each path stays a row)."""
    import warnings

    if not groups:
        return
    def paths(g: list[str]) -> str:  # a group of thousands of links is named by its first few
        rest = f" = ... ({len(g)} paths)" if len(g) > examples else ""
        return " = ".join(printable(p) for p in g[:examples]) + rest

    shown = "; ".join(paths(g) for g in groups[:examples])
    more = f"; and {len(groups) - examples} more" if len(groups) > examples else ""
    warnings.warn(
        f"same audio reachable under several paths ({len(groups)} group(s); hard link, symlink or identical "
        f"copy), each path is a row of its own: {shown}{more}",
        stacklevel=3,
    )


def unwrap_error(exc: BaseException) -> BaseException:
    """The error a `datasets.exceptions.DatasetGenerationError` hides in its chain: the first
    `DinosError` (naming the file and the reason), else the innermost cause."""
    seen, cur, last = set(), exc, exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, DinosError):
            return cur
        last = cur
        cur = cur.__cause__ or cur.__context__
    return last


def skip_report_path(builder: datasets.DatasetBuilder) -> Path:
    """Where a `skip_invalid` build lists the files it skipped (one JSON object per line)."""
    return Path(builder._cache_dir_root) / f"skipped-{builder.dataset_name}-{builder.config_id}.jsonl"


def code_hash() -> str:
    """Hash of the library code that shapes rows (schema, builder, audio probing, windowing and every
    corpus loader), so upgrading `dinos` invalidates cached builds."""
    from . import audio, buildlog, paths, segment

    loaders_dir = Path(schema.__file__).resolve().parent / "loaders"
    try:
        import dinos.loaders as _loaders

        loaders_dir = Path(_loaders.__file__).resolve().parent
    except ImportError:  # pragma: no cover
        pass
    from . import build_rows

    files = [Path(m.__file__) for m in (schema, audio, segment, paths, buildlog, build_rows)] + [Path(__file__)]
    files += sorted(loaders_dir.rglob("*.py"))  # loader packages too (loaders/dcase_task2/)
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]
