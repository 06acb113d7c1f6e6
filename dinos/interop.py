"""Hand dinos rows to the tools people already use: lhotse manifests and an AudioFolder-style folder.

- `to_lhotse(ds)`: a lhotse `CutSet` with one `Recording` per source file and one cut per row (a row is
  a whole file or one window of it, so windows keep their offset in the parent recording), each with a
  `SupervisionSegment` whose `custom` holds the row's typed metadata (label, domain, machine, ...).
  lhotse is optional (`pip install lhotse`; it needs torch).
- `write_audiofolder(ds, out)`: one WAV per row under `<out>/<label>/` plus `metadata.csv` (first column
  `file_name`), the layout of Hugging Face's `audiofolder` builder and of most "folder of WAVs" tools.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from .errors import DinosError

#: Row fields copied into lhotse's `custom` / the metadata CSV (the typed metadata of the schema).
META_FIELDS = ("corpus", "machine", "sensor", "section", "domain", "label", "origin_split", "task_class",
               "class_name", "recording_id", "group_id", "path", "offset", "duration", "start_frame",
               "num_frames", "sample_rate", "channels")


def _plain_rows(ds):
    """Rows with ClassLabels as names and the raw `{bytes, path}` audio struct (no decoding)."""
    import datasets

    if isinstance(ds, datasets.DatasetDict | datasets.IterableDatasetDict):
        raise DinosError("pass one split (e.g. ds['train']), not a DatasetDict")
    from .formatting import stored

    raw = stored(ds).with_format(None) if isinstance(ds, datasets.Dataset) else ds
    labels = {k: f for k, f in (ds.features or {}).items() if isinstance(f, datasets.ClassLabel)}
    for row in raw:
        audio = row.get("audio")
        if not isinstance(audio, dict) or ("bytes" not in audio and "path" not in audio):
            raise DinosError("rows must carry the raw audio struct {bytes, path}; load with decode=False")
        for k, f in labels.items():
            if isinstance(row.get(k), int):
                row[k] = f.int2str(row[k])
        yield row


def _metadata(row: dict) -> dict:
    meta = {k: row[k] for k in META_FIELDS if k in row}
    meta["attributes"] = {a["name"]: a["value"] for a in row.get("attributes") or []}
    return meta


def _source_path(row: dict, root) -> str:
    path = row["audio"].get("path") or row.get("path")
    if not path:
        raise DinosError(f"row {row.get('clip_id')!r} has neither audio bytes nor a path")
    p = Path(path)
    if not p.is_absolute() and root is not None:
        p = Path(root) / p
    return str(p)


def to_lhotse(ds, *, root: str | os.PathLike | None = None):
    """A lhotse `CutSet` of the rows of `ds` (one split, built by `dinos.load_dataset` or read from an export).

    File-backed rows share one `Recording` per source file (header read once); rows with embedded bytes
    (exports) become in-memory recordings of exactly that clip. `root` resolves relative paths.
    """
    try:
        from lhotse import AudioSource, CutSet, MonoCut, MultiCut, Recording, SupervisionSegment
    except ImportError:
        raise DinosError("to_lhotse needs lhotse (pip install lhotse)") from None
    import soundfile as sf

    recordings: dict[str, Recording] = {}
    cuts = []
    for row in _plain_rows(ds):
        channels = list(range(int(row["channels"])))
        audio = row["audio"]
        if audio.get("bytes"):
            rec_id = row["clip_id"]
            info = sf.info(io.BytesIO(audio["bytes"]))
            rec = Recording(id=rec_id, sources=[AudioSource(type="memory", channels=channels, source=audio["bytes"])],
                            sampling_rate=info.samplerate, num_samples=info.frames, duration=info.frames / info.samplerate)
            start = 0.0
        else:
            rec_id = row["recording_id"]
            rec = recordings.get(rec_id)
            if rec is None:
                path = _source_path(row, root)
                try:
                    info = sf.info(path)
                except (RuntimeError, sf.LibsndfileError) as exc:
                    raise DinosError(f"cannot read audio header ({exc})", path) from None
                rec = Recording(id=rec_id, sources=[AudioSource(type="file", channels=channels, source=path)],
                                sampling_rate=info.samplerate, num_samples=info.frames,
                                duration=info.frames / info.samplerate)
            start = float(row["offset"])
        recordings[rec.id] = rec
        duration = float(row["duration"])
        sup = SupervisionSegment(id=row["clip_id"], recording_id=rec.id, start=start, duration=duration,
                                 channel=channels[0] if len(channels) == 1 else channels, custom=_metadata(row))
        cut_cls, channel = (MonoCut, 0) if len(channels) == 1 else (MultiCut, channels)
        cuts.append(cut_cls(id=row["clip_id"], start=start, duration=duration, channel=channel,
                            supervisions=[sup], recording=rec, custom={"dinos": _metadata(row)}))
    return CutSet.from_cuts(cuts)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(row: dict) -> str:
    stem = _UNSAFE.sub("_", row["recording_id"]).strip("_") or "clip"
    return f"{row['label']}/{stem}_{int(row['start_frame'])}.wav"


def write_audiofolder(ds, out: str | os.PathLike, *, root: str | os.PathLike | None = None,
                      overwrite: bool = False) -> Path:
    """One PCM WAV per row under `<out>/<label>/` and `<out>/metadata.csv` (column `file_name` first,
    then the row's metadata). The output folder is guarded (`dinos.io.OutputDir`); returns the CSV path."""
    from .audio import encode_wav, read_window
    from .io import OutputDir

    with OutputDir.open(out, tool="audiofolder", overwrite=overwrite) as folder:  # a failed run leaves nothing in a new folder
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["file_name", "clip_id", *META_FIELDS, "attributes"])
        seen: set[str] = set()
        for row in _plain_rows(ds):
            name = _file_name(row)
            if name in seen:
                raise DinosError(f"two rows map to the same file {name}")
            seen.add(name)
            audio = row["audio"]
            if audio.get("bytes"):
                data = audio["bytes"]
            else:
                arr, sr = read_window(_source_path(row, root), int(row["start_frame"]), int(row["num_frames"]))
                data = encode_wav(arr, sr)
            folder.write_bytes(name, data)
            meta = _metadata(row)
            attrs = ";".join(f"{k}={v}" for k, v in meta.pop("attributes").items())
            writer.writerow([name, row["clip_id"], *(meta[k] for k in META_FIELDS), attrs])
        folder.remove_previous()
        return folder.write_text("metadata.csv", buf.getvalue())
