"""`dinos.load_dataset`: `datasets.load_dataset`'s calling convention, the project's corpora added."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .audio import ChannelSpec
from .errors import LayoutError

_AUDIO_EXTS = {".wav", ".flac", ".ogg", ".csv", ".yaml"}


def corpora() -> list[str]:
    """The corpus names `load_dataset` resolves to the project's builders."""
    from .loaders import corpus_names

    return list(corpus_names())


def source_fingerprint(data_dir: str | os.PathLike) -> str:
    """sha256 over (relative path, size, mtime, ctime, inode) of every audio/metadata file under `data_dir`.

    Cheap (one stat per file, no audio read); part of the cache key so that adding, removing or
    rewriting a source file invalidates a cached build. mtime alone is not enough: a file rewritten
    and given back its old mtime (`touch -r`, `cp -p`, `rsync -t`) keeps it, but its ctime (which no
    tool can set back) and, when replaced by rename, its inode change. Symlinked folders are followed
    once (loops are cut); a dangling symlink enters as such (the build then names it).

    One `os.scandir` per folder, one `DirEntry.stat()` per file (same value as `os.walk(followlinks=True)`
    + `os.stat` + `os.path.relpath`, which it replaced: 75 k files in a fraction of a second).
    """
    entries: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    try:
        _fingerprint_dir(os.fspath(data_dir), "", os.stat(data_dir), entries, seen_dirs)
    except OSError:  # no such folder: nothing to fingerprint (os.walk yielded nothing either)
        pass
    entries.sort()
    entries.append("")  # every line ends with a newline
    return hashlib.sha256("\n".join(entries).encode("utf-8", "surrogateescape")).hexdigest()[:20]


def _fingerprint_dir(path: str, rel: str, st_dir, entries: list[str], seen_dirs: set) -> None:
    """Append the fingerprint lines of the files under `path` (`rel` from the root), depth first in
    name order like `os.walk`, so that a folder reached twice counts once, under its first path."""
    if (st_dir.st_dev, st_dir.st_ino) in seen_dirs:  # a symlink loop or a second link to a folder
        return
    seen_dirs.add((st_dir.st_dev, st_dir.st_ino))
    try:
        with os.scandir(path) as it:
            listing = list(it)
    except OSError:  # unreadable folder: skipped, as os.walk does
        return
    subdirs = []
    for entry in listing:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        name = rel + entry.name if not rel else rel + os.sep + entry.name
        if is_dir:
            subdirs.append((entry.name, entry, name))
            continue
        stem = entry.name.lstrip(".")  # os.path.splitext's extension, without its cost per file
        dot = stem.rfind(".")
        if dot < 0 or stem[dot:].lower() not in _AUDIO_EXTS:
            continue
        try:
            st = entry.stat()
        except OSError:  # dangling symlink, or removed while walking
            entries.append(f"{name}\0missing")
            continue
        entries.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}")
    for _, entry, name in sorted(subdirs, key=lambda d: d[0]):
        try:
            st_sub = entry.stat()
        except OSError:
            continue
        _fingerprint_dir(entry.path, name, st_sub, entries, seen_dirs)


def _packaged_builders() -> set[str]:
    """`datasets`' own builder names (`csv`, `parquet`, `audiofolder`, ...): bare names that pass through."""
    try:
        from datasets.packaged_modules import _PACKAGED_DATASETS_MODULES
    except ImportError:  # pragma: no cover - a future `datasets` that moved it
        return {"csv", "json", "parquet", "text", "arrow", "audiofolder", "imagefolder", "webdataset"}
    return set(_PACKAGED_DATASETS_MODULES)


def check_corpus_name(path: str) -> None:
    """Refuse a name that is neither a corpus, a Hub repo id (`org/name`) nor a path, with a hint.

    `datasets.load_dataset("dino")` would try the Hub and fail with a `ConnectionError`; a typo
    of a corpus name deserves `unknown corpus 'dino'; did you mean 'dinos'?`.
    """
    import difflib

    from .errors import DinosError

    if not isinstance(path, str) or "/" in path or os.sep in path or path.startswith(".") or os.path.exists(path):
        return
    names = corpora()
    if path in names or path in _packaged_builders():
        return
    close = difflib.get_close_matches(path.lower(), names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise DinosError(
        f"unknown corpus {path!r}{hint} (corpora: {', '.join(names)}; a Hub dataset is `org/name`, "
        "a local one a path)"
    )


def get_builder(corpus: str, name: str | None = None, *, data_dir=None, cache_dir=None, **config_kwargs):
    """An instantiated builder for one of the project's corpora (not yet prepared).

    `name` (the config) is required when the corpus has more than one: a `DinosError` lists them
    instead of a silent default (a 2023 DCASE tree would otherwise be read as `2025-all`).
    """
    from .builder import code_hash
    from .loaders import builder_class

    if data_dir is None:
        raise LayoutError(f"{corpus!r} needs data_dir= pointing at the unpacked corpus")
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise LayoutError("data_dir is not a directory", root)
    cls = builder_class(corpus)
    _check_options(corpus, cls, name, config_kwargs, root)
    config_kwargs.setdefault("source_fingerprint", source_fingerprint(root))
    return cls(
        config_name=name,
        data_dir=str(root),
        cache_dir=cache_dir,
        hash=code_hash(),
        dataset_name=corpus,
        **config_kwargs,
    )


def build_report(ds):
    """The `dinos.buildlog.BuildReport` stored with the cached build `ds` (a `Dataset` or
    `DatasetDict` returned by `load_dataset`): skipped files, recordings and frames dropped by
    segmentation, warnings. None for data that was not built by a `dinos` builder (streaming, exports).
    """
    from .buildlog import read_report

    parts = ds.values() if hasattr(ds, "values") else [ds]
    for part in parts:
        for f in getattr(part, "cache_files", None) or []:
            report = read_report(Path(f["filename"]).parent)
            if report is not None:
                return report
    return None


def _suggest(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _config_list(configs: list[str], limit: int = 20) -> str:
    """All config names, or for a long list the `all` ones and a count of the rest (with an example)."""
    if len(configs) <= limit:
        return ", ".join(configs)
    alls = [c for c in configs if c == "all" or c.endswith("-all")]
    rest = [c for c in configs if c not in alls]
    return f"{', '.join(alls)}, and {len(rest)} more such as {', '.join(rest[:3])}"


def _check_options(corpus: str, cls, name: str | None, options: dict, root: Path | None = None) -> None:
    """`DinosError` for an unknown config name or builder option, with the closest valid one. A missing
    config name is suggested from the tree at `root` when the builder can tell (`configs_for_tree`)."""
    import dataclasses

    from .errors import DinosError

    configs = [c.name for c in cls.BUILDER_CONFIGS]
    if name is None and len(configs) > 1:
        fitting = cls.configs_for_tree(root) if root is not None and hasattr(cls, "configs_for_tree") else []
        example = (fitting or [getattr(getattr(cls, "INFO", None), "default_config", None) or configs[0]])[-1]
        hint = f"; the folders in data_dir fit {', '.join(fitting)}" if fitting else ""
        raise DinosError(
            f"corpus {corpus!r} has {len(configs)} configs; name one, e.g. "
            f"dinos.load_dataset({corpus!r}, {example!r}, data_dir=...){hint} (configs: {_config_list(configs)})"
        )
    if name is not None and name not in configs:
        raise DinosError(f"unknown config {name!r} of corpus {corpus!r}{_suggest(name, configs)} (configs: {', '.join(configs)})")
    known = {f.name for f in dataclasses.fields(cls.BUILDER_CONFIG_CLASS)} - {"name", "version", "data_dir", "data_files"}
    for key in options:
        if key not in known:
            raise DinosError(
                f"unknown option {key}={options[key]!r} for {corpus!r}{_suggest(key, sorted(known))} "
                f"(options: {', '.join(sorted(known - {'description', 'source_fingerprint'}))})"
            )


def _select_split(builder, split, streaming: bool):
    """`builder`'s split, resolving the builder's aliases (DCASE `test` = `dev_test` + `eval_test`)."""
    import datasets

    from .errors import DinosError

    aliases = builder.INFO.split_aliases
    plain = isinstance(split, str) and split.isidentifier()  # not `train[:10%]` or `train+test`
    if plain and split not in aliases and builder.info.splits and split not in builder.info.splits:
        have = sorted(builder.info.splits)
        raise DinosError(f"split {split!r} is not in this build{_suggest(split, have)} (splits: {', '.join(have)})")
    if not isinstance(split, str) or split not in aliases:
        return builder.as_streaming_dataset(split=split) if streaming else builder.as_dataset(split=split)
    every = builder.as_streaming_dataset() if streaming else builder.as_dataset()
    if split in every:
        return every[split]
    parts = [every[s] for s in aliases[split] if s in every]
    if not parts:
        raise ValueError(f"split {split!r} ({' + '.join(aliases[split])}) is not in this build: {sorted(every)}")
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def decode_audio(ds, *, channel: ChannelSpec = None, sampling_rate: int | None = None, root=None,
                 pad_tail: bool = True):
    """Decode the `audio` column of a `Dataset`, `IterableDataset` or `DatasetDict` with soundfile.

    A map-style `Dataset` becomes a `dinos.formatting.DinosDataset`: every standard access path
    (`ds[i]`, `iter`, `map`, `with_format("numpy"|"torch")`, `to_iterable_dataset`, a torch
    `DataLoader`, `select`/`filter`/`shuffle`/`train_test_split`) gives decoded float32 audio, or a
    `DinosError` naming the dinos way (see `docs/export.md`, "Decoded audio on every access path").
    An `IterableDataset` gets a batched decoding `map`. A dataset whose format is already the dinos
    one (e.g. `datasets.concatenate_datasets` of dinos datasets) keeps its settings when none are given.
    `pad_tail=False` for rows of a build without `tail="pad"` (`load_dataset` sets it from the build):
    a window reaching past its file's end then means the file was shortened since the build, an
    `AudioError` instead of a zero-padded clip (with the default True such windows are zero-padded).
    """
    import datasets

    from .formatting import FORMAT_TYPE, as_decoded, decode_iterable, decode_settings

    if isinstance(ds, datasets.DatasetDict | datasets.IterableDatasetDict):
        return type(ds)({k: decode_audio(v, channel=channel, sampling_rate=sampling_rate, root=root, pad_tail=pad_tail)
                         for k, v in ds.items()})
    settings = decode_settings(channel, sampling_rate, root, pad_tail=pad_tail)
    if isinstance(ds, datasets.IterableDataset):
        return decode_iterable(ds, settings)
    if ds._format_type == FORMAT_TYPE and channel is None and sampling_rate is None and root is None:
        settings = dict(ds._format_kwargs["decode"])
    return as_decoded(ds, settings)


def load_dataset(
    path: str,
    name: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    split: str | None = None,
    streaming: bool = False,
    cache_dir: str | None = None,
    decode: bool = True,
    channel: ChannelSpec = None,
    sampling_rate: int | None = None,
    num_proc: int | None = None,
    **kwargs,
):
    """Load a corpus like `datasets.load_dataset`.

    `path` in `dinos.corpora()` builds config `name` of that corpus from `data_dir` (cached; the cache
    is invalidated when source files change); `name` is required when the corpus has several configs
    (a `DinosError` lists them; no silent default). Other builder options (`segment`, `hop`, `tail`, `strict`,
    `skip_invalid`) go in `kwargs`. A directory written by `dinos export` loads through stock
    `datasets`. A Hub id (`org/name`), a path or one of `datasets`' packaged builders (`parquet`,
    `csv`, `audiofolder`, ...) passes through to `datasets.load_dataset` unchanged; any other bare
    name is a `DinosError` suggesting the closest corpus (`unknown corpus 'dino'; did you mean 'dinos'?`).

    Build errors are the library's own (`dinos.AudioError`, `LayoutError`, `UnsafePathError`, ...,
    naming the file), never `datasets`' `DatasetGenerationError`; build warnings are stored with the
    cache and shown again on every cached load (`dinos.build_report(ds)` returns them).

    With `decode=True` the `audio` column decodes with soundfile to
    `{"array": float32, "sampling_rate", "path"}`; `channel` picks channels (None keeps all: 1-D for
    mono, (channels, frames) otherwise); `sampling_rate` resamples on request only. A map-style
    result is a `dinos.DinosDataset` (format type `"dinos"`): `with_format("numpy"|"torch")`, `iter`,
    `map`, `to_iterable_dataset`, a torch `DataLoader`, `select`/`filter`/`shuffle`/`train_test_split`
    and `cast_column("audio", Audio(sampling_rate=...))` all keep decoding (`dinos.formatting`).
    """
    import datasets

    check_corpus_name(path)
    if path in corpora():
        prepare = {k: kwargs.pop(k) for k in ("download_mode", "verification_mode") if k in kwargs}
        builder = get_builder(path, name, data_dir=data_dir, cache_dir=cache_dir, **kwargs)
        if not streaming:
            builder.download_and_prepare(num_proc=num_proc, **prepare)
        ds = _select_split(builder, split, streaming)
        pad = getattr(builder.config, "tail", None) == "pad"  # only then may a window reach past its file's end
        return decode_audio(ds, channel=channel, sampling_rate=sampling_rate, pad_tail=pad) if decode else ds

    from .export_layout import is_export_dir

    if is_export_dir(path):
        ds = datasets.load_dataset(
            str(path), name, split=split, streaming=streaming, cache_dir=cache_dir, data_dir=data_dir, **kwargs
        )
        return decode_audio(ds, channel=channel, sampling_rate=sampling_rate) if decode else ds

    if data_dir is not None:
        kwargs["data_dir"] = data_dir
    if num_proc is not None:
        kwargs["num_proc"] = num_proc
    return datasets.load_dataset(path, name, split=split, streaming=streaming, cache_dir=cache_dir, **kwargs)
