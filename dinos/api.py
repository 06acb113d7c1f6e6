"""`dinos.load_dataset`: `datasets.load_dataset`'s calling convention, the project's corpora added."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .audio import AudioDecoder, ChannelSpec
from .errors import LayoutError

_AUDIO_EXTS = {".wav", ".flac", ".ogg", ".csv", ".yaml"}


def corpora() -> list[str]:
    """The corpus names `load_dataset` resolves to the project's builders."""
    from .loaders import corpus_names

    return list(corpus_names())


def source_fingerprint(data_dir: str | os.PathLike) -> str:
    """sha256 over (relative path, size, mtime) of every audio/metadata file under `data_dir`.

    Cheap (one stat per file, no audio read); part of the cache key so that adding, removing or
    rewriting a source file invalidates a cached build.
    """
    root = Path(data_dir)
    h = hashlib.sha256()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in filenames:
            if os.path.splitext(name)[1].lower() not in _AUDIO_EXTS:
                continue
            full = os.path.join(dirpath, name)
            st = os.stat(full)
            entries.append(f"{os.path.relpath(full, root)}\0{st.st_size}\0{st.st_mtime_ns}")
    for e in sorted(entries):
        h.update(e.encode("utf-8", "surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()[:20]


def get_builder(corpus: str, name: str | None = None, *, data_dir=None, cache_dir=None, **config_kwargs):
    """An instantiated builder for one of the project's corpora (not yet prepared)."""
    from .builder import code_hash
    from .loaders import builder_class

    if data_dir is None:
        raise LayoutError(f"{corpus!r} needs data_dir= pointing at the unpacked corpus")
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise LayoutError("data_dir is not a directory", root)
    cls = builder_class(corpus)
    config_kwargs.setdefault("source_fingerprint", source_fingerprint(root))
    return cls(
        config_name=name,
        data_dir=str(root),
        cache_dir=cache_dir,
        hash=code_hash(),
        dataset_name=corpus,
        **config_kwargs,
    )


def _select_split(builder, split, streaming: bool):
    """`builder`'s split, resolving the builder's aliases (DCASE `test` = `dev_test` + `eval_test`)."""
    import datasets

    aliases = builder.INFO.split_aliases
    if not isinstance(split, str) or split not in aliases:
        return builder.as_streaming_dataset(split=split) if streaming else builder.as_dataset(split=split)
    every = builder.as_streaming_dataset() if streaming else builder.as_dataset()
    if split in every:
        return every[split]
    parts = [every[s] for s in aliases[split] if s in every]
    if not parts:
        raise ValueError(f"split {split!r} ({' + '.join(aliases[split])}) is not in this build: {sorted(every)}")
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def decode_audio(ds, *, channel: ChannelSpec = None, sampling_rate: int | None = None, root=None):
    """Attach soundfile decoding of the `audio` column to a `Dataset` or `IterableDataset`."""
    import datasets

    decoder = AudioDecoder(channel=channel, sampling_rate=sampling_rate, root=root)
    if isinstance(ds, datasets.DatasetDict | datasets.IterableDatasetDict):
        return type(ds)({k: decode_audio(v, channel=channel, sampling_rate=sampling_rate, root=root) for k, v in ds.items()})
    if isinstance(ds, datasets.IterableDataset):
        return ds.map(decoder, batched=True, batch_size=16)
    return ds.with_transform(decoder)


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

    `path` in `dinos.corpora()` builds that corpus from `data_dir` (cached; the cache is invalidated
    when source files change); other builder options (`segment`, `hop`, `tail`, `strict`,
    `skip_invalid`) go in `kwargs`. A directory written by `dinos export` loads through stock
    `datasets`. Anything else passes through to `datasets.load_dataset` unchanged.

    With `decode=True` the `audio` column decodes with soundfile to
    `{"array": float32, "sampling_rate", "path"}`; `channel` picks channels (None keeps all: 1-D for
    mono, (channels, frames) otherwise); `sampling_rate` resamples on request only.
    """
    import datasets

    if path in corpora():
        builder = get_builder(path, name, data_dir=data_dir, cache_dir=cache_dir, **kwargs)
        if not streaming:
            builder.download_and_prepare(num_proc=num_proc)
        ds = _select_split(builder, split, streaming)
        return decode_audio(ds, channel=channel, sampling_rate=sampling_rate) if decode else ds

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
