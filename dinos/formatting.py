"""Decoded audio on every standard `datasets` access path of a `dinos.load_dataset` result.

Why a format, and why a thin subclass
-------------------------------------
The `audio` column is stored as Hugging Face's `Audio(decode=False)` struct `{bytes, path}` (stock
`datasets` 5.x decodes audio only through torchcodec). A row's clip is not a function of that struct
alone: a window of a longer file needs the row's `start_frame`/`num_frames`, a normalised build its
`stats`. So decoding cannot live in the column's feature (a feature sees one value); it lives in a
*format* that sees whole rows:

- `DinosFormatter` is registered with `datasets` as the format type `"dinos"`. It decodes the `audio`
  column with `dinos.audio.AudioDecoder` (soundfile) and hands every other column to the stock
  formatter the user asked for (python, numpy, torch, jax, tensorflow, or a `set_transform` function,
  which receives the decoded batch as with stock decoding). Because it is a format, `datasets` carries
  it through `select`, `filter`, `shuffle`, `train_test_split`, `sort`, `map`, `iter`, `__getitems__`
  (torch `DataLoader`) and `concatenate_datasets` of datasets with the same settings.
- `DinosDataset` is a `datasets.Dataset` subclass with no state of its own beyond the decode settings.
  It exists because `with_format("torch")` would otherwise *replace* the format (and silently return
  the undecoded struct): its `set_format` turns a request for `"torch"` into `"dinos"` with torch
  output. It also keeps `map` from writing decoded arrays back, makes `cast_column("audio",
  Audio(sampling_rate=16000))` resample, makes `to_iterable_dataset()` decode, and keeps its class
  across every method that returns a dataset.

What `ds.features["audio"]` shows: `Audio(decode=False)`, the *stored* column (what Parquet/Arrow
hold and what `concatenate_datasets` compares); `ds.format["type"] == "dinos"` says it is decoded, and
`repr(ds)` says how. The decoded value is `{"array": float32 (frames,) or (channels, frames),
"sampling_rate": int, "path": str}` (tensors under a torch format).

Paths that cannot decode say so (`DinosError`) instead of returning the struct: `with_format("pandas")`
/ `"polars"`, a window row read without its `start_frame`/`num_frames` columns, a normalised row
without `stats`, a `map` function that returns a changed `audio` value, and renaming the `audio`
column (`dinos.stored(ds)` is the stored struct on purpose). `with_format("arrow")` and
`ds.to_pandas()` / `ds.data` are the raw Arrow storage, as in stock `datasets`.

Known gap: stock `datasets.concatenate_datasets` of dinos datasets with *different* decode settings
(another `channel` or `sampling_rate`) resets the format, so the result holds the stored struct. Give
them the same settings first (`ds.cast_column("audio", Audio(sampling_rate=16000))`), then concatenate.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from typing import Any

import datasets
import pyarrow as pa
from datasets.formatting import get_format_type_from_alias, get_formatter
from datasets.formatting.formatting import Formatter, TensorFormatter

from .audio import AudioDecoder
from .errors import DinosError
from .schema import AUDIO_COLUMN

FORMAT_TYPE = "dinos"

#: Row columns the decoder reads besides `audio` (window, normalisation, build-time checks).
_CONTEXT = ("start_frame", "num_frames", "stats", "sample_rate", "channels")
_WINDOW = ("start_frame", "num_frames")
#: Output types whose values can hold a decoded array; `arrow` stays the raw storage.
_DECODED_OUTPUTS = (None, "numpy", "torch", "jax", "tensorflow", "custom")
_RAW_OUTPUTS = ("arrow",)

_HOW = (
    "decode with dinos: `dinos.load_dataset(...)` rows, `ds.with_format(None|'numpy'|'torch')`, "
    "or `dinos.decode(row)` for one row"
)


def decode_settings(channel=None, sampling_rate: int | None = None, root=None, normalize: bool = True,
                    pad_tail: bool = True) -> dict:
    """The decoder settings as a plain dict (comparable, deep-copyable: it travels in format kwargs).
    `pad_tail=False`: the rows come from a build without `tail="pad"` (`dinos.load_dataset` says which),
    so a window reaching past its file's end means the file was shortened: an error, not zero padding."""
    chan = list(channel) if isinstance(channel, list | tuple) else channel
    return {"channel": chan, "sampling_rate": sampling_rate, "root": None if root is None else str(root),
            "normalize": bool(normalize), "pad_tail": bool(pad_tail)}


@functools.lru_cache(maxsize=32)
def _decoder(key: tuple) -> AudioDecoder:
    """One `AudioDecoder` per settings in a process, so its kept-open file handles are reused."""
    channel, sampling_rate, root, normalize, pad_tail = key
    chan = list(channel) if isinstance(channel, tuple) else channel
    return AudioDecoder(channel=chan, sampling_rate=sampling_rate, root=root, normalize=normalize, pad_tail=pad_tail)


def decoder_for(settings: Mapping) -> AudioDecoder:
    """The (shared) `AudioDecoder` for `decode_settings(...)`."""
    chan = settings.get("channel")
    chan = tuple(chan) if isinstance(chan, list | tuple) else chan
    return _decoder((chan, settings.get("sampling_rate"), settings.get("root"), settings.get("normalize", True),
                     settings.get("pad_tail", True)))


def decode_table(pa_table: pa.Table, settings: Mapping, normalized: bool) -> list | None:
    """The decoded `audio` values of `pa_table`'s rows (None without an `audio` column).

    `DinosError` when the rows need a column that is not in the table: a row read from a path (not
    embedded bytes) needs `start_frame`/`num_frames`; a normalised build needs `stats`.
    """
    names = pa_table.column_names
    if AUDIO_COLUMN not in names:
        return None
    audios = pa_table.column(AUDIO_COLUMN).to_pylist()
    missing = [c for c in _WINDOW if c not in names]
    if missing and any(a is not None and a.get("bytes") is None for a in audios):
        raise DinosError(
            f"cannot decode `audio` without the row's {' and '.join(missing)}: these rows are windows of "
            f"files on disk; keep those columns (e.g. `select_columns([..., 'start_frame', 'num_frames'])`), "
            "or index rows (`ds[i]['audio']`) rather than the column alone"
        )
    if normalized and settings.get("normalize", True) and "stats" not in names:
        raise DinosError(
            "cannot decode `audio` without the row's `stats`: this build is normalised (`normalize=`); "
            "keep the `stats` column, or load with `decode=False` for the raw samples"
        )
    batch = {AUDIO_COLUMN: audios}
    for c in _CONTEXT:
        col = pa_table.column(c) if c in names else None
        # statistics that are all null, or not applied, are left out (a struct column costs a dict per row)
        if col is not None and not (c == "stats" and (col.null_count == len(col) or not settings.get("normalize", True))):
            batch[c] = col.to_pylist()
    return decoder_for(settings)(batch)[AUDIO_COLUMN]


_INNER: dict = {}  # id(features) -> (features, {key: (inner, python)}); features kept alive for the check


def _inner_formatters(features, output, output_kwargs: dict, token_per_repo_id):
    """The stock formatters for every column but `audio`, built once per (features object, output).

    `datasets` makes a new formatter for every `ds[i]`; building the features without `audio` and
    their decoders each time would cost more than reading a short clip.
    """
    def build():
        rest = None if features is None else datasets.Features({k: v for k, v in features.items() if k != AUDIO_COLUMN})
        return (get_formatter(output, features=rest, token_per_repo_id=token_per_repo_id, **output_kwargs),
                get_formatter(None, features=rest, token_per_repo_id=token_per_repo_id))

    if output_kwargs or token_per_repo_id or features is None:
        return build()
    entry = _INNER.get(id(features))
    if entry is None or entry[0] is not features:
        if len(_INNER) >= 16:
            _INNER.pop(next(iter(_INNER)))
        entry = _INNER[id(features)] = (features, {})
    if output not in entry[1]:
        entry[1][output] = build()
    return entry[1][output]


class DinosFormatter(Formatter):
    """Format type `"dinos"`: the `audio` column decoded with soundfile, the other columns formatted
    by the stock formatter of type `output` (`None`, `numpy`, `torch`, `jax`, `tensorflow`) or passed,
    decoded, to a `set_transform` function (`output="custom"`, `output_kwargs={"transform": f}`).

    `user_columns`/`user_output_all_columns` are the user's column selection, applied *after* decoding (stock
    `datasets` would drop the window columns before the formatter sees them).
    """

    def __init__(self, features=None, token_per_repo_id=None, *, decode: Mapping | None = None,
                 output: str | None = None, output_kwargs: Mapping | None = None, user_columns=None,
                 user_output_all_columns: bool = False, normalized: bool = False, **unexpected):
        super().__init__(features, token_per_repo_id)
        if unexpected:
            raise TypeError(f"unexpected dinos format options {sorted(unexpected)}")
        if output not in _DECODED_OUTPUTS:
            raise DinosError(f"the dinos format cannot produce {output!r} output ({_HOW})")
        self.settings = dict(decode or decode_settings())
        self.output = output
        self.output_kwargs = dict(output_kwargs or {})
        self.columns = None if user_columns is None else list(user_columns)
        self.output_all_columns = user_output_all_columns
        self.normalized = normalized
        inner_type = None if output == "custom" else output
        inner_kwargs = {} if output == "custom" else self.output_kwargs
        self.inner, self.python = _inner_formatters(features, inner_type, inner_kwargs, token_per_repo_id)

    # -- helpers -------------------------------------------------------------------------------
    def _selected(self, names: list[str]) -> tuple[list[str], list[str]]:
        """(formatted columns, extra python columns) of a table with `names`, in table order."""
        if self.columns is None:
            return list(names), []
        chosen = [n for n in names if n in self.columns]
        extra = [n for n in names if n not in self.columns] if self.output_all_columns else []
        return chosen, extra

    def _audio_value(self, decoded: list, row: bool):
        if not isinstance(self.inner, TensorFormatter):
            return decoded[0] if row else decoded
        if row:
            return self.inner.recursive_tensorize({AUDIO_COLUMN: decoded[0]})[AUDIO_COLUMN]
        return [self.inner.recursive_tensorize({AUDIO_COLUMN: d})[AUDIO_COLUMN] for d in decoded]

    def _format(self, pa_table: pa.Table, row: bool) -> dict:
        names = pa_table.column_names
        chosen, extra = self._selected(names)
        decoded = decode_table(pa_table, self.settings, self.normalized) if AUDIO_COLUMN in chosen + extra else None
        out: dict[str, Any] = {}
        if self.output == "custom":
            batch = self.python.format_batch(pa_table.select([n for n in chosen if n != AUDIO_COLUMN]))
            batch = dict(batch)
            if decoded is not None and AUDIO_COLUMN in chosen:
                batch[AUDIO_COLUMN] = decoded
            batch = {n: batch[n] for n in chosen if n in batch}
            formatted = self.output_kwargs["transform"](batch)
            out = dict(formatted) if isinstance(formatted, Mapping) else formatted
            if row:
                out = {k: v[0] for k, v in out.items()}
        else:
            table = pa_table.select([n for n in chosen if n != AUDIO_COLUMN])
            part = self.inner.format_row(table) if row else self.inner.format_batch(table)
            for n in chosen:
                out[n] = self._audio_value(decoded, row) if n == AUDIO_COLUMN else part[n]
        if extra and isinstance(out, dict):
            table = pa_table.select([n for n in extra if n != AUDIO_COLUMN])
            part = self.python.format_row(table) if row else self.python.format_batch(table)
            for n in extra:
                out[n] = (decoded[0] if row else decoded) if n == AUDIO_COLUMN else part[n]
        return out

    # -- the Formatter interface -----------------------------------------------------------------
    def format_row(self, pa_table: pa.Table) -> dict:
        return self._format(pa_table, row=True)

    def format_batch(self, pa_table: pa.Table) -> dict:
        return self._format(pa_table, row=False)

    def format_column(self, pa_table: pa.Table):
        name = pa_table.column_names[0]
        if name != AUDIO_COLUMN:
            if self.output == "custom":
                return self._format(pa_table, row=False)[name]
            return self.inner.format_column(pa_table)
        values = self._audio_value(decode_table(pa_table, self.settings, self.normalized), row=False)
        return values


datasets.formatting._register_formatter(DinosFormatter, FORMAT_TYPE)


def _is_normalized(ds: datasets.Dataset) -> bool:
    """True when some row carries recording statistics (a `normalize=` build)."""
    if "stats" not in ds.column_names:
        return False
    col = ds.data.column("stats")
    return col.null_count < len(col)


def _adopt(out, settings: Mapping | None):
    """Give a plain `Dataset` (or every one of a `DatasetDict`) produced from a `DinosDataset` back its class."""
    if isinstance(out, datasets.DatasetDict):
        for v in out.values():
            _adopt(v, settings)
        return out
    if type(out) is datasets.Dataset and settings is not None:
        out.__class__ = DinosDataset
        out._dinos_decode = dict(settings)
    return out


class DinosDataset(datasets.Dataset):
    """A `datasets.Dataset` whose `audio` column decodes with soundfile on every access path.

    Made by `dinos.load_dataset` (and `dinos.decode_audio`); see the module docstring for what each
    stock operation does. `decode_settings` (channel, sampling_rate, root, normalize) say how.
    """

    _dinos_decode: dict | None = None

    @property
    def decode_settings(self) -> dict:
        return dict(self._dinos_decode or decode_settings())

    def _format_kwargs_for(self, output, output_kwargs, columns, output_all_columns) -> dict:
        if isinstance(columns, str):
            columns = [columns]
        if columns is not None:
            unknown = sorted(set(columns) - set(self.column_names))
            if unknown:
                raise ValueError(f"Columns {unknown} not in the dataset. Current columns in the dataset: {self.column_names}")
            columns = list(columns)
        return {"decode": self.decode_settings, "output": output, "output_kwargs": dict(output_kwargs),
                "user_columns": columns, "user_output_all_columns": bool(output_all_columns),
                "normalized": _is_normalized(self)}

    def set_format(self, type=None, columns=None, output_all_columns=False, **format_kwargs):  # noqa: A002
        """`datasets.Dataset.set_format`, the `audio` column staying decoded for every decoded output type."""
        format_kwargs.update(format_kwargs.pop("format_kwargs", {}))
        kind = get_format_type_from_alias(type)
        if kind == FORMAT_TYPE or kind in _RAW_OUTPUTS:
            return super().set_format(type=type, columns=columns, output_all_columns=output_all_columns, **format_kwargs)
        if kind not in _DECODED_OUTPUTS:
            raise DinosError(
                f"format {type!r} cannot hold decoded audio; {_HOW}. For the metadata as a table use "
                f"`ds.remove_columns('audio').with_format({type!r})` or `ds.to_pandas()` (audio undecoded)"
            )
        kwargs = self._format_kwargs_for(kind, format_kwargs, columns, output_all_columns)
        super().set_format(type=FORMAT_TYPE, columns=None, output_all_columns=False, **kwargs)

    def _fast_select_column(self, column_name: str) -> datasets.Dataset:
        # `ds["audio"]` (a `Column`) reads one column; decoding a window needs the rest of the row.
        if column_name == AUDIO_COLUMN and self._format_type == FORMAT_TYPE:
            return self
        return super()._fast_select_column(column_name)

    def map(self, function: Callable | None = None, *args, **kwargs):
        """`datasets.Dataset.map` with decoded inputs. An `audio` value returned unchanged keeps the
        stored (undecoded) column; a changed one is a `DinosError` (return it under another name)."""
        if self._format_type != FORMAT_TYPE:
            return _adopt(super().map(function, *args, **kwargs), self._dinos_decode)
        if function is None:  # a copy of the stored rows (`flatten_indices` is one): never decoded
            out = _adopt(_plain(self).map(None, *args, **kwargs), self._dinos_decode)
            for d in out.values() if isinstance(out, datasets.DatasetDict) else [out]:
                d.set_format(**_user_format(self))
            return out
        # positional order of `Dataset.map`: function, with_indices, with_rank, input_columns, batched, ...
        input_columns = kwargs.get("input_columns", args[2] if len(args) > 2 else None)
        if isinstance(input_columns, str):
            input_columns = [input_columns]
        if input_columns is not None and AUDIO_COLUMN not in input_columns:
            plain = _plain(self)  # the function never sees audio: no decoding needed
            out = plain.map(function, *args, **kwargs)
            out = _adopt(out, self._dinos_decode)
            for d in out.values() if isinstance(out, datasets.DatasetDict) else [out]:
                d.set_format(**_user_format(self))
            return out
        if input_columns is not None:
            function = _ColumnArgs(function, input_columns)
            if len(args) > 2:
                args = (*args[:2], None, *args[3:])
            else:
                kwargs["input_columns"] = None
        batched = kwargs.get("batched", args[3] if len(args) > 3 else False)
        return _adopt(super().map(_KeepStoredAudio(function, batched), *args, **kwargs), self._dinos_decode)

    def cast_column(self, column: str, feature, new_fingerprint: str | None = None):
        """`cast_column("audio", Audio(sampling_rate=16000))` resamples on decoding (soundfile + soxr, no
        torchcodec); `Audio(decode=False)` returns a plain `Dataset` with the stored struct."""
        if column != AUDIO_COLUMN or not isinstance(feature, datasets.Audio):
            kwargs = {} if new_fingerprint is None else {"new_fingerprint": new_fingerprint}
            return _adopt(super().cast_column(column, feature, **kwargs), self._dinos_decode)
        if not feature.decode:
            return _plain(self)
        if getattr(feature, "num_channels", None) is not None:
            raise DinosError(
                "dinos never downmixes; pick channels with `dinos.load_dataset(..., channel=0)` "
                "(or `channel=[0, 1]`) instead of Audio(num_channels=...)"
            )
        out = copy.deepcopy(self)
        out._dinos_decode = {**self.decode_settings, "sampling_rate": feature.sampling_rate}
        user = _user_format(self)
        out.set_format(**user)
        return out

    def rename_column(self, original_column_name: str, new_column_name: str, new_fingerprint: str | None = None):
        """`datasets.Dataset.rename_column`; renaming `audio` is a `DinosError` (see `rename_columns`)."""
        return self.rename_columns({original_column_name: new_column_name}, new_fingerprint)

    def rename_columns(self, column_mapping: dict[str, str], new_fingerprint: str | None = None):
        """`datasets.Dataset.rename_columns`. dinos decodes the column named `audio`: renamed, it would
        come back as the stored `{bytes, path}` struct, so renaming it is a `DinosError` that says how to
        get a decoded column under another name (or the stored struct on purpose)."""
        new = column_mapping.get(AUDIO_COLUMN, AUDIO_COLUMN)
        if new != AUDIO_COLUMN:
            raise DinosError(
                f"renaming the decoded `{AUDIO_COLUMN}` column to {new!r} would return its stored "
                f"{{bytes, path}} struct (dinos decodes the column named `{AUDIO_COLUMN}`). For decoded "
                f"arrays under another name: `ds.map(lambda r: {{{new!r}: r['{AUDIO_COLUMN}']['array']}})`; "
                f"for the stored struct on purpose: `dinos.stored(ds).rename_column('{AUDIO_COLUMN}', {new!r})`"
            )
        kwargs = {} if new_fingerprint is None else {"new_fingerprint": new_fingerprint}
        return _adopt(super().rename_columns(column_mapping, **kwargs), self._dinos_decode)

    def flatten(self, new_fingerprint: str | None = None, max_depth: int = 16):
        """`datasets.Dataset.flatten`; with the decoded `audio` column present a `DinosError`: flattening
        would turn it into its stored `audio.bytes` / `audio.path` fields."""
        if AUDIO_COLUMN in self.column_names:
            raise DinosError(
                f"flatten() would split the decoded `{AUDIO_COLUMN}` column into its stored `{AUDIO_COLUMN}.bytes`/"
                f"`{AUDIO_COLUMN}.path` fields; flatten the metadata with "
                f"`ds.remove_columns('{AUDIO_COLUMN}').flatten()`, or the stored struct on purpose with "
                "`dinos.stored(ds).flatten()`"
            )
        kwargs = {} if new_fingerprint is None else {"new_fingerprint": new_fingerprint}
        return _adopt(super().flatten(max_depth=max_depth, **kwargs), self._dinos_decode)

    def to_iterable_dataset(self, num_shards: int = 1) -> datasets.IterableDataset:
        """`datasets.Dataset.to_iterable_dataset` whose rows decode like this dataset's."""
        user = _user_format(self)
        ids = _plain(self).to_iterable_dataset(num_shards=num_shards)
        ids = decode_iterable(ids, self.decode_settings)
        if user["columns"] is not None:
            ids = ids.select_columns(user["columns"])
        kind = user["type"]
        if kind == "custom":
            return ids.map(user["format_kwargs"]["transform"], batched=True)
        return ids.with_format(kind) if kind is not None else ids

    def save_to_disk(self, dataset_path, *args, **kwargs) -> None:
        """Save the *stored* data (a plain `Dataset`, `audio` undecoded), so that stock
        `datasets.load_from_disk` reads it in any process; decode it again with
        `dinos.decode_audio(datasets.load_from_disk(path), channel=..., sampling_rate=...)`.

        `datasets` embeds the bytes of each local file into the saved rows: right for a row that is a
        whole file, wrong for a window of a longer file (its bytes would be the whole file). Rows read
        from disk are therefore checked first (one header read per file); a window is a `DinosError`
        pointing at `dinos export`, which embeds exactly each window."""
        _refuse_windows_from_disk(self)
        return _plain(self).save_to_disk(dataset_path, *args, **kwargs)

    def push_to_hub(self, repo_id: str, *args, **kwargs):
        """`datasets.Dataset.push_to_hub` of the stored data, refusing window rows as `save_to_disk`
        does (they would be uploaded as whole files); `dinos export` + `dinos push` handle windows."""
        _refuse_windows_from_disk(self)
        return _plain(self).push_to_hub(repo_id, *args, **kwargs)

    def __repr__(self) -> str:
        s = self.decode_settings
        return (f"{super().__repr__()}  # audio decoded by dinos with soundfile (channel={s['channel']!r}, "
                f"sampling_rate={s['sampling_rate']!r}); features show the stored Audio(decode=False) struct")


def _refuse_windows_from_disk(ds: datasets.Dataset) -> None:
    """`DinosError` if some row reads a window (not the whole file) of a file on disk."""
    import soundfile as sf

    names = ds.column_names
    if AUDIO_COLUMN not in names or any(c not in names for c in _WINDOW):
        return
    table = ds.with_format("arrow")[:] if ds._indices is not None else ds.data.table
    audio = table.column(AUDIO_COLUMN).combine_chunks()
    paths = audio.field("path").to_pylist()
    has_bytes = audio.field("bytes").is_valid().to_pylist()
    starts, counts = table.column("start_frame").to_pylist(), table.column("num_frames").to_pylist()
    root = ds.decode_settings.get("root") if isinstance(ds, DinosDataset) else None
    frames: dict[str, int | None] = {}
    for path, embedded, start, count in zip(paths, has_bytes, starts, counts, strict=True):
        if embedded or path is None:
            continue
        if path not in frames:
            full = path if root is None or path.startswith("/") else f"{root}/{path}"
            try:
                frames[path] = sf.info(full).frames
            except (sf.LibsndfileError, RuntimeError, OSError):
                frames[path] = None
        if (start or 0, count) != (0, frames[path]):
            raise DinosError(
                f"save_to_disk would store the whole file {path} for a row that is a window of it "
                f"(frames {start}..{(start or 0) + (count or 0)}): `datasets` embeds local files whole. "
                "Use `dinos export` (embeds exactly each window) and load that, or save an unsegmented build"
            )


def _user_format(ds: datasets.Dataset) -> dict:
    """The format the user asked for (`set_format` arguments), read back from the dinos format."""
    if ds._format_type != FORMAT_TYPE:
        return {"type": ds._format_type, "columns": ds._format_columns,
                "output_all_columns": ds._output_all_columns, "format_kwargs": dict(ds._format_kwargs or {})}
    kw = ds._format_kwargs
    return {"type": kw.get("output"), "columns": kw.get("user_columns"),
            "output_all_columns": kw.get("user_output_all_columns", False), "format_kwargs": dict(kw.get("output_kwargs") or {})}


def stored(ds):
    """`ds` with the stored `audio` struct `{bytes, path}` instead of decoded audio: a plain
    `datasets.Dataset` (python format) for a `DinosDataset`, each split so for a `DatasetDict`, `ds`
    itself for anything else (a streaming load decodes in its iterator: `decode=False` there).
    Same as `ds.cast_column("audio", datasets.Audio(decode=False))` on a `DinosDataset`."""
    if isinstance(ds, datasets.DatasetDict):
        return datasets.DatasetDict({k: stored(v) for k, v in ds.items()})
    return _plain(ds) if isinstance(ds, DinosDataset) else ds


def _plain(ds: datasets.Dataset) -> datasets.Dataset:
    """A plain `datasets.Dataset` over the same table, unformatted: the stored `audio` struct."""
    out = copy.deepcopy(ds)
    out.__class__ = datasets.Dataset
    out.__dict__.pop("_dinos_decode", None)
    datasets.Dataset.set_format(out)
    return out


class _ColumnArgs:
    """`function(*[row[c] for c in columns], *rest)`: `input_columns` applied after decoding."""

    def __init__(self, function: Callable, columns: list[str]):
        self.function, self.columns = function, list(columns)

    def __call__(self, inputs, *rest, **kwargs):
        return self.function(*[inputs[c] for c in self.columns], *rest, **kwargs)


class _KeepStoredAudio:
    """Wraps a `map` function: an `audio` output identical to the decoded input is dropped (so the
    stored struct is kept); any other `audio` output is refused, since the stored column can only hold
    a file's bytes and path, not a decoded array."""

    def __init__(self, function: Callable, batched: bool):
        self.function, self.batched = function, batched

    @staticmethod
    def _digest(array) -> bytes:
        """A digest of the array's bytes: any in-place edit (a reversal or a permutation too, which keep
        the sum) changes it; NaN samples compare equal to themselves here."""
        import hashlib

        import numpy as np

        arr = np.ascontiguousarray(np.asarray(array))
        return hashlib.blake2b(arr.view(np.uint8).reshape(-1), digest_size=16).digest() + str(arr.shape).encode()

    @classmethod
    def _snapshot(cls, given) -> list:
        """(dict, its array object, a digest of its bytes) per decoded value."""
        values = given if isinstance(given, list | tuple) else [given]
        return [(d, d.get("array"), cls._digest(d["array"])) if isinstance(d, Mapping) and "array" in d
                else (d, None, b"") for d in values]

    def __call__(self, inputs, *rest, **kwargs):
        given = inputs.get(AUDIO_COLUMN) if isinstance(inputs, Mapping) else None
        before = self._snapshot(given) if given is not None else []
        out = self.function(inputs, *rest, **kwargs)
        if not isinstance(out, Mapping) or AUDIO_COLUMN not in out:
            return out
        value = out[AUDIO_COLUMN]
        same = value is given or (
            self.batched and isinstance(value, list | tuple) and isinstance(given, list | tuple)
            and len(value) == len(given) and all(a is b for a, b in zip(value, given, strict=True))
        )
        if same:
            after = self._snapshot(given)
            same = all(d0 is d1 and a0 is a1 and s0 == s1 for (d0, a0, s0), (d1, a1, s1) in zip(before, after, strict=True))
        if not same:
            raise DinosError(
                "a `map` function returned a changed `audio` value; the stored `audio` column holds a file's "
                "bytes and path, not decoded arrays. Return the new samples under another name "
                "(e.g. {'waveform': ...}), or load with `decode=False` and write the bytes yourself"
            )
        return {k: v for k, v in out.items() if k != AUDIO_COLUMN}


def decode_iterable(ids: datasets.IterableDataset, settings: Mapping) -> datasets.IterableDataset:
    """`ids` with its `audio` column decoded (batched `map`, 16 rows at a time)."""
    dec = decoder_for(settings)
    return ids.map(dec, batched=True, batch_size=16)


def as_decoded(ds: datasets.Dataset, settings: Mapping) -> DinosDataset:
    """A `DinosDataset` over `ds`'s table, decoding with `settings` (python output)."""
    out = copy.deepcopy(ds)
    out.__class__ = DinosDataset
    out._dinos_decode = dict(settings)
    if ds._format_type == FORMAT_TYPE:  # e.g. `datasets.concatenate_datasets` of dinos datasets
        out.set_format(**_user_format(ds))
    else:
        out.set_format()
    return out


def _wrap(name: str):
    base = getattr(datasets.Dataset, name)

    @functools.wraps(base)
    def method(self, *args, **kwargs):
        return _adopt(base(self, *args, **kwargs), self._dinos_decode)

    return method


# Every public `Dataset` method that may return a new `Dataset` (select, filter, shuffle, sort,
# train_test_split, shard, take, skip, remove_columns, ...) returns a `DinosDataset` again.
for _name, _attr in list(vars(datasets.Dataset).items()):
    if (_name.startswith("_") or _name in vars(DinosDataset) or not callable(_attr)
            or isinstance(_attr, staticmethod | classmethod)):
        continue
    setattr(DinosDataset, _name, _wrap(_name))
del _name, _attr


def decode(example: Mapping, *, channel=None, sampling_rate: int | None = None, normalize: bool = True,
           root=None) -> dict:
    """Decode one row of a stock-`datasets` load of a `dinos export` (or of a `decode=False` build).

    Returns a copy of `example` whose `audio` is `{"array": float32, "sampling_rate", "path"}`, exactly
    what `dinos.load_dataset` gives for that row: `channel` picks channels (None keeps all: 1-D for mono,
    (channels, frames) otherwise), `sampling_rate` resamples on request, the row's `stats` normalise when
    the export was built with `normalize=` (unless `normalize=False`). Rows that point at files on
    disk (a `decode=False` build) need `root` (the corpus folder) when their paths are relative, and
    their `start_frame`/`num_frames`.
    """
    if AUDIO_COLUMN not in example:
        raise DinosError(f"row has no {AUDIO_COLUMN!r} column (columns: {', '.join(example)})")
    audio = example[AUDIO_COLUMN]
    if isinstance(audio, Mapping) and "array" in audio:
        raise DinosError("row's audio is already decoded (it has an 'array')")
    if audio is not None and audio.get("bytes") is None and any(c not in example for c in _WINDOW):
        raise DinosError("a row read from a file needs its start_frame and num_frames to decode")
    dec = decoder_for(decode_settings(channel, sampling_rate, root, normalize))
    value = dec.decode_one(audio, example.get("start_frame"), example.get("num_frames"), example.get("stats"),
                           sample_rate=example.get("sample_rate"), channels=example.get("channels"))
    return {**example, AUDIO_COLUMN: value}
