"""One clip schema for every corpus.

`Clip` (pydantic) is the single definition; `FEATURES` (Hugging Face `datasets.Features`) is derived
from it, so rows from DINOS, MIMII DUE and DCASE Task 2 share one Arrow schema and concatenate.

Categorical fields use `Literal` types; their ordered arguments become the `ClassLabel` names, so the
integer codes are fixed and documented here.

`corpus` and `machine` are open strings, not ClassLabels: a user's own corpus (`dinos.load_dataset("folder",
...)`) brings machine names no fixed list can hold, and rows of every corpus must still concatenate
(`datasets.concatenate_datasets` needs identical features). The trade-off: no integer codes for these two
columns (use `ds.class_encode_column("machine")` when a model wants them). Each loader checks the names of
its own corpus (its machine list is in the loader, the one home of that fact).
"""

from __future__ import annotations

import types
import typing
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

SENSORS = ("microphone", "stethoscope", "unknown")
DOMAINS = ("source", "target", "unknown")
LABELS = ("normal", "anomaly", "unknown")
#: `unsplit` (appended last, so the older codes stay): a user's own corpus published without split
#: folders (`dinos.load_dataset("folder", ...)`); its split files come from `dinos.protocols`.
ORIGIN_SPLITS = ("train", "test", "supplemental", "pretrain", "unsplit")

#: Benchmark class ids. "none" for clips that belong to no classification task.
TASK_CLASSES = ("none",) + tuple(f"T{i}" for i in range(1, 26))

Sensor = Literal[SENSORS]  # type: ignore[valid-type]
Domain = Literal[DOMAINS]  # type: ignore[valid-type]
Label = Literal[LABELS]  # type: ignore[valid-type]
OriginSplit = Literal[ORIGIN_SPLITS]  # type: ignore[valid-type]
TaskClass = Literal[TASK_CLASSES]  # type: ignore[valid-type]


class Attribute(BaseModel):
    """One name/value pair, values kept as strings exactly as the source gives them."""

    model_config = ConfigDict(frozen=True)
    name: str = Field(description="Attribute name as the source spells it (CSV column value or folder grammar).")
    value: str = Field(description="Attribute value as a string, exactly as the source gives it.")
    file_token: str = Field(
        default="",
        description="The `<key>_<value>` text in the file name where it differs from name/value; else empty.",
    )


class Provenance(BaseModel):
    """Where a row's facts come from: typed, instead of strings in the free-form `attributes` bag."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    year: int = Field(default=-1, description="Challenge year of the release (DCASE; MIMII DUE: 2021); -1 where none.")
    part: str = Field(default="", description="Release part: `dev` / `eval` (DCASE, MIMII DUE); '' where none.")
    folder: str = Field(default="", description="Raw name of the folder that fixed the class (DINOS class/category folder); ''.")
    full_file_name: str = Field(default="", description="Full-attribute file name of a blind or hidden-attribute clip, when resolved; ''.")
    truth: str = Field(default="", description="Where label/domain come from: `file_name`, `folder`, `evaluator`, `eval_data_list`, `correspondence`, `manifest`; ''.")
    attributes_hidden: bool = Field(default=False, description="The published name hides the attributes (`noAttribute`, blind eval names).")
    quirks: tuple[str, ...] = Field(default=(), description="Known irregularities of the source name (e.g. a missing `test` token).")


class RecordingStats(BaseModel):
    """Per-recording statistics for `normalize=` (computed once at build time over the whole file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    mode: str = Field(description="The normalisation the row was built for: `rms`, `zscore` or `rms+zscore`.")
    mean: float = Field(description="Mean of the recording's samples (all channels).")
    std: float = Field(description="Standard deviation of the recording's samples.")
    rms: float = Field(description="Root mean square of the recording's samples.")


class Clip(BaseModel):
    """One row of any corpus: a window `[offset, offset + duration)` of one recording."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clip_id: str = Field(description="Stable clip identity: `<path>#<start_frame>`. Used by split files.")
    corpus: str = Field(min_length=1, description="Which corpus the clip comes from (the loader's name).")
    machine: str = Field(min_length=1, description="Machine type (DCASE/MIMII), DINOS dataset/category, or a user's machine name.")
    sensor: Sensor = Field(description="`microphone` (air-borne), `stethoscope` (contact), `unknown` if the source does not say.")
    section: int = Field(ge=-1, le=99, description="DCASE/MIMII section (2020: machine id); -1 where none.")
    domain: Domain = Field(description="DCASE domain; DINOS clips are `source`; `unknown` if hidden.")
    label: Label = Field(description="`normal`/`anomaly`; `unknown` when no ground truth is available.")
    origin_split: OriginSplit = Field(description="Folder the file was published in (train/test/...); `unsplit` for a corpus without split folders.")
    task_class: TaskClass = Field(description="DINOS benchmark class id (T1-T25), `none` elsewhere.")
    class_name: str = Field(description="Human-readable state, e.g. `CD1.0 MRR25.4 4K chatter`; '' if none.")
    attributes: tuple[Attribute, ...] = Field(default=(), description="Name/value pairs (operating conditions).")
    recording_id: str = Field(description="The source recording: its path relative to data_dir, no extension.")
    group_id: str = Field(
        default="",
        description="The physical event the clip belongs to (one cut recorded by several sensors shares it); "
        "splits never separate a group. Defaults to `recording_id`.",
    )
    path: str = Field(description="Path of the source audio file relative to data_dir (POSIX separators).")
    offset: float = Field(ge=0, description="Start of the clip within the recording, seconds.")
    duration: float = Field(gt=0, description="Clip length, seconds.")
    start_frame: int = Field(ge=0, description="Start of the clip within the recording, samples.")
    num_frames: int = Field(gt=0, description="Clip length, samples.")
    sample_rate: int = Field(gt=0, description="Sample rate of the source file, Hz.")
    channels: int = Field(gt=0, description="Channel count of the source file (decoding picks channels explicitly).")
    provenance: Provenance = Field(default_factory=Provenance, description="Where the row's facts come from (typed).")
    stats: RecordingStats | None = Field(default=None, description="Recording statistics for `normalize=`; null when not built with it.")
    snr_db: float | None = Field(
        default=None,
        description="SNR of the mix in dB where the corpus states one per clip (MIMII 2019 archive folders); null elsewhere.",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_group(cls, data):
        return default_group(data) if isinstance(data, dict) else data


def default_group(data: dict) -> dict:
    """`data` (a `Clip`'s fields) with `group_id` defaulting to `recording_id` (the one rule)."""
    if not data.get("group_id") and data.get("recording_id"):
        data = {**data, "group_id": data["recording_id"]}
    return data


#: Clip fields that come from the audio or the window, not from a file's name and folders.
WINDOW_FIELDS = ("clip_id", "recording_id", "path", "offset", "duration", "start_frame", "num_frames",
                 "sample_rate", "channels", "stats")

#: What a corpus parser knows of a file before its header is read: the `Clip` fields its name and
#: folders fix. Derived from `Clip` (same types, defaults and descriptions), so it cannot drift.
FileFields = create_model(
    "FileFields",
    __config__=ConfigDict(frozen=True, extra="forbid"),
    **{name: (f.annotation, f) for name, f in Clip.model_fields.items() if name not in WINDOW_FIELDS},
)

#: Name of the audio column. Stored as the HF `Audio` struct `{bytes, path}` with decode=False.
AUDIO_COLUMN = "audio"


def _literal_names(annotation) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return tuple(typing.get_args(annotation))
    return None


def _feature_of(name: str, ann):
    """The `datasets` feature of one pydantic annotation (Literal -> ClassLabel, models -> structs)."""
    import datasets

    names = _literal_names(ann)
    if names is not None:
        return datasets.ClassLabel(names=list(names))
    simple = {str: "string", int: "int64", float: "float64", bool: "bool"}
    if ann in simple:
        return datasets.Value(simple[ann])
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if typing.get_origin(ann) in (typing.Union, types.UnionType) and len(args) == 1:
        return _feature_of(name, args[0])  # Optional[X]: nullable X (Arrow columns are nullable)
    if typing.get_origin(ann) is tuple and args and args[-1] is Ellipsis:
        return datasets.List(_feature_of(name, args[0]))
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return {k: _feature_of(f"{name}.{k}", f.annotation) for k, f in ann.model_fields.items()}
    raise TypeError(f"schema field {name!r} has no Features mapping")  # pragma: no cover - tests/test_schema.py


def _hf_features():
    return {name: _feature_of(name, field.annotation) for name, field in Clip.model_fields.items()}


def features(sampling_rate: int | None = None):
    """The `datasets.Features` of every corpus: the audio column first, then the `Clip` fields."""
    import datasets

    feats = {AUDIO_COLUMN: datasets.Audio(sampling_rate=sampling_rate, decode=False)}
    feats.update(_hf_features())
    return datasets.Features(feats)


def field_docs() -> dict[str, str]:
    """Field name -> description (used for the README table and the cards)."""
    docs = {AUDIO_COLUMN: "Audio struct `{bytes, path}` (HF `Audio`, decode=False); decoded by `dinos.audio`."}
    docs.update({k: v.description or "" for k, v in Clip.model_fields.items()})
    return docs


def categorical_names() -> dict[str, tuple[str, ...]]:
    """Field name -> ordered ClassLabel names."""
    out = {}
    for k, v in Clip.model_fields.items():
        names = _literal_names(v.annotation)
        if names is not None:
            out[k] = names
    return out


def decoded_column(ds, column: str) -> list:
    """The values of `column` of a `datasets.Dataset` as names: ClassLabel codes become their names,
    other columns are returned as stored. The one place that decodes ClassLabels for consumers."""
    feat = ds.features[column]
    values = ds[column]
    if hasattr(feat, "int2str"):
        return [feat.int2str(int(v)) if isinstance(v, int) else v for v in values]
    return list(values)


def make_clip_id(path: str, start_frame: int) -> str:
    return f"{path}#{start_frame}"


def clip_to_row(clip: Clip, audio_path: str | None, audio_bytes: bytes | None = None) -> dict:
    """Arrow row for `clip`: ClassLabel fields as their string names (datasets encodes them)."""
    row = clip.model_dump()
    row["attributes"] = list(row["attributes"])
    row[AUDIO_COLUMN] = {"bytes": audio_bytes, "path": audio_path}
    return row


def rows_to_table(rows: list[dict], feats=None):
    """Arrow table of rows in `clip_to_row` form (ClassLabels as names), encoded for `feats`.

    Encodes without `datasets`' per-example `Audio` encoder, which would import torchcodec.
    """
    import datasets
    import pyarrow as pa

    feats = feats or features()
    labels = {k: v for k, v in feats.items() if isinstance(v, datasets.ClassLabel)}
    encoded = []
    for row in rows:
        row = dict(row)
        for col, label in labels.items():
            if isinstance(row[col], str):
                row[col] = label.str2int(row[col])
        encoded.append(row)
    return pa.Table.from_pylist(encoded, schema=feats.arrow_schema)


def dataset_from_rows(rows: list[dict], feats=None):
    """A `datasets.Dataset` with the clip schema from rows in `clip_to_row` form."""
    import datasets

    feats = feats or features()
    return datasets.Dataset(rows_to_table(rows, feats), info=datasets.DatasetInfo(features=feats))
