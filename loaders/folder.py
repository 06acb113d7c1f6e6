"""A user's own recordings in the one clip schema: `dinos.load_dataset("folder", data_dir=D, ...)`.

Two ways to say what each file is:

1. **Folders** (default)::

       D/<label>/*.wav                       machine = `machine=` option, else the name of D
       D/<machine>/<label>/*.wav
       D/<machine>/<id or section>/<label>/*.wav

   The label folder's name is looked up (case-insensitively) in `LABEL_NAMES` merged with the
   `labels=` option (`{"cavitation": "anomaly"}`); a name in neither is an error (with `strict=False`:
   a warning and label `unknown`). The raw folder name is kept in `class_name`. A section folder is
   `id_00`, `section_01`, `sec2`, `unit-3` or a bare number 0-99 (`SECTION_RE`).

2. **A manifest** (`manifest="meta.csv"` or `.parquet`, relative to D or absolute): one row per file,
   columns `file` (path relative to D) and `label` (mapped as above); optional `machine`, `section`,
   `domain`, `sensor`, `group` (files of one physical event, kept together by every split) and
   `snr_db`; every other column becomes an attribute (name = column, value = the cell as text).

Any sample rate, bit depth and channel count (rows carry each file's own; `channel=` and
`sampling_rate=` pick and resample at decoding). Very short clips work with `segment=` and
`tail="pad"`. Only WAV files are read (the one decoder, `dinos.audio`, probes RIFF/WAV); other files
in the tree are ignored, hidden ones too.

There are no published splits: every clip lands in the builder's one split `train` (the `datasets`
audiofolder convention) with `origin_split="unsplit"`; `dinos.protocols` writes hold-out, k-fold
and anomaly-detection split files over it.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import datasets

from dinos import schema
from dinos.builder import ClipBuilder, ClipBuilderConfig, SourceFile
from dinos.corpus import ConfigInfo, CorpusInfo
from dinos.errors import LayoutError, ParseError, UnsafePathError

CORPUS = "folder"
AUDIO_SUFFIXES = (".wav",)
#: label folder / manifest value (lower case) -> schema label. Overridden and extended by `labels=`.
LABEL_NAMES: dict[str, str] = {
    **dict.fromkeys(("normal", "ok", "good", "healthy", "nominal"), "normal"),
    **dict.fromkeys(
        ("abnormal", "anomaly", "anomalous", "ng", "fault", "faulty", "defect", "defective", "broken", "bad",
         "failure", "damaged"),
        "anomaly",
    ),
    "unknown": "unknown",
}
SECTION_RE = re.compile(r"^(?:(?:id|section|sec|unit)[_-]?)?(?P<n>\d{1,2})$", re.IGNORECASE)
MANIFEST_REQUIRED = ("file", "label")
MANIFEST_FIELDS = ("machine", "section", "domain", "sensor", "group", "snr_db")

CITATION = """@misc{dinos_folder,
  title  = {dinos: a typed loader for industrial machine-sound corpora (folder loader for a user's own recordings)},
  note   = {Cite the recordings themselves as their owner asks; this entry cites the loader only},
  year   = {2026}
}"""


# ------------------------------------------------------------------------------------------------
# Grammars (pure)
# ------------------------------------------------------------------------------------------------
def label_table(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """`LABEL_NAMES` with `overrides` (folder name -> normal|anomaly|unknown) applied; keys lower case."""
    table = dict(LABEL_NAMES)
    for name, label in (overrides or {}).items():
        if label not in schema.LABELS:
            raise ParseError(f"labels={{{name!r}: {label!r}}}: a label must be one of {schema.LABELS}")
        table[str(name).lower()] = label
    return table


def parse_label(name: str, table: dict[str, str]) -> str:
    """The schema label of a folder name or manifest value; `ParseError` when the table lacks it."""
    label = table.get(name.strip().lower())
    if label is None:
        known = ", ".join(sorted(k for k, v in table.items() if v != "unknown"))
        raise ParseError(
            f"label {name!r} is not in the label table ({known}); map it with labels={{{name!r}: 'anomaly'}}"
        )
    return label


def parse_section(name: str) -> int:
    """Section number of an `id_00` / `section_01` / `03` folder name; `ParseError` otherwise."""
    m = SECTION_RE.match(name)
    if not m:
        raise ParseError("not a section folder (expected id_00, section_01, sec2, unit-3 or a number 0-99)", name)
    return int(m["n"])


def format_section(section: int) -> str:
    return f"id_{section:02d}"


def path_fields(parts: tuple[str, ...], default_machine: str, table: dict[str, str]) -> dict:
    """Machine, section, label and class name from a file's folders (relative to D, file name excluded)."""
    if not parts:
        raise ParseError("a file must sit in a label folder (D/<label>/x.wav), not at the top of D")
    if len(parts) > 3:
        raise ParseError("too deep: expected D/[<machine>/][<id or section>/]<label>/<file>")
    label_dir = parts[-1]
    return {
        "machine": parts[0] if len(parts) >= 2 else default_machine,
        "section": parse_section(parts[1]) if len(parts) == 3 else -1,
        "label": parse_label(label_dir, table),
        "class_name": label_dir,
    }


def _fields(machine: str, section: int, label: str, class_name: str, *, sensor: str = "unknown",
            domain: str = "unknown", group: str = "", snr_db: float | None = None, attributes=(),
            truth: str = "folder", folder: str = "") -> dict:
    return {
        "corpus": CORPUS,
        "machine": machine,
        "sensor": sensor,
        "section": section,
        "domain": domain,
        "label": label,
        "origin_split": "unsplit",
        "task_class": "none",
        "class_name": class_name,
        "attributes": list(attributes),
        "group_id": group,
        "snr_db": snr_db,
        "provenance": {"folder": folder, "truth": truth},
    }


# ------------------------------------------------------------------------------------------------
# Scanning (I/O)
# ------------------------------------------------------------------------------------------------
def _fail(strict: bool, exc: Exception) -> None:
    if strict:
        raise exc
    warnings.warn(f"{exc} (strict=False: kept with label 'unknown')", stacklevel=3)


def _audio_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES:
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def scan_folders(root: Path, *, machine: str | None = None, labels: dict | None = None, sensor: str = "unknown",
                 strict: bool = True) -> list[SourceFile]:
    """Every WAV under `root` in the folder layout; `LayoutError` naming the file when one does not fit."""
    table = label_table(labels)
    default_machine = machine or root.name
    files = []
    for p in _audio_files(root):
        rel = p.relative_to(root)
        try:
            f = path_fields(rel.parts[:-1], default_machine, table)
        except ParseError as exc:
            if not strict and "label" in exc.reason and len(rel.parts) > 1:
                _fail(False, LayoutError(exc.reason, p))
                parts = rel.parts[:-1]
                f = {"machine": parts[0] if len(parts) >= 2 else default_machine,
                     "section": -1, "label": "unknown", "class_name": parts[-1]}
            else:
                raise LayoutError(exc.reason, p) from None
        files.append(SourceFile(rel.as_posix(), _fields(**f, sensor=sensor, folder=rel.parts[-2])))
    return files


def read_manifest(path: Path):
    """The manifest as a pandas frame of strings (CSV or Parquet)."""
    import pandas as pd

    if not path.is_file():
        raise LayoutError("manifest not found", path)
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path).astype(str)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad manifest
        raise ParseError(f"cannot read manifest ({exc})", path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in MANIFEST_REQUIRED if c not in frame.columns]
    if missing:
        raise ParseError(f"manifest lacks column(s) {missing} (required: {list(MANIFEST_REQUIRED)})", path)
    return frame


def manifest_row_fields(row: dict, default_machine: str, table: dict[str, str], sensor: str) -> dict:
    """Schema fields of one manifest row (pure)."""
    text = {k: str(v).strip() for k, v in row.items()}
    section = text.get("section", "")
    snr = text.get("snr_db", "")
    attrs = [
        schema.Attribute(name=k, value=v).model_dump()
        for k, v in text.items()
        if k not in MANIFEST_REQUIRED + MANIFEST_FIELDS and v != ""
    ]
    return _fields(
        text.get("machine") or default_machine,
        int(section) if section not in ("", "-1") else -1,
        parse_label(text["label"], table),
        text["label"],
        sensor=text.get("sensor") or sensor,
        domain=text.get("domain") or "unknown",
        group=text.get("group", ""),
        snr_db=float(snr) if snr not in ("", "nan", "None") else None,
        attributes=attrs,
        truth="manifest",
    )


def scan_manifest(root: Path, manifest: str, *, machine: str | None = None, labels: dict | None = None,
                  sensor: str = "unknown") -> list[SourceFile]:
    """The files a manifest lists, each checked to exist inside `root`."""
    path = Path(manifest).expanduser()
    path = path if path.is_absolute() else root / path
    frame = read_manifest(path)
    table = label_table(labels)
    seen: set[str] = set()
    files = []
    for i, row in enumerate(frame.to_dict("records"), start=2):
        where = f"{path}:{i}"
        rel = str(row["file"]).strip().replace("\\", "/")
        full = (root / rel).resolve()
        if not full.is_relative_to(root):
            raise UnsafePathError(f"file {rel!r} is outside data_dir", where)
        if not full.is_file():
            raise LayoutError(f"file {rel!r} listed in the manifest does not exist under data_dir", where)
        if rel in seen:
            raise ParseError(f"file {rel!r} is listed twice", where)
        seen.add(rel)
        try:
            fields = manifest_row_fields(row, machine or root.name, table, sensor)
            schema.Clip(clip_id="x", path=rel, recording_id="x", offset=0, duration=1, start_frame=0,
                        num_frames=1, sample_rate=1, channels=1, **fields)
        except (ParseError, ValueError) as exc:
            raise ParseError(getattr(exc, "reason", str(exc).splitlines()[0]), where) from None
        files.append(SourceFile(full.relative_to(root).as_posix(), fields))
    if not files:
        raise LayoutError("manifest lists no files", path)
    return files


def _file_digest(path: str | None) -> str:
    if not path:
        return ""
    p = Path(path).expanduser()
    return hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else ""


# ------------------------------------------------------------------------------------------------
# Facts and builder
# ------------------------------------------------------------------------------------------------
INFO = CorpusInfo(
    name=CORPUS,
    pretty_name="Own recordings (folder)",
    description="A user's own machine recordings, labelled by folder names or a manifest, in the dinos clip schema.",
    sample_rate=None,  # any rate: rows carry each file's own rate, exports keep it (Audio(sampling_rate=None))
    channels=None,
    license="the recordings' owner decides; the loader is part of dinos",
    license_id="other",
    homepage="https://huggingface.co/docs/datasets/audio_dataset",  # no home of its own: the audiofolder convention it follows
    citations={"": CITATION},
    configs=(ConfigInfo("default", "Every WAV under data_dir (folder layout or manifest).", ("train",)),),
    default_config="default",
    split_roles={"train": "train"},
    tags=("audio", "machine-sound", "anomaly-detection"),
    synth_module="dinos.synth.folder",
    notes={"splits": "No published split: one builder split `train`, origin_split `unsplit`; see dinos.protocols."},
)


@dataclass
class FolderConfig(ClipBuilderConfig):
    """`ClipBuilderConfig` plus the folder options (all part of the cache key)."""

    labels: dict | None = None  # label-name overrides, e.g. {"cavitation": "anomaly"}
    manifest: str | None = None  # CSV/Parquet manifest (relative to data_dir or absolute)
    machine: str | None = None  # machine name for D/<label>/ layouts (default: the folder's name)
    sensor: str = "unknown"
    manifest_digest: str = ""  # sha256 of the manifest's bytes (set by the builder: part of the cache key)


class Folder(ClipBuilder):
    """Hugging Face builder for a user's folder of labelled WAV files (or a manifest)."""

    INFO = INFO
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = FolderConfig
    BUILDER_CONFIGS = [FolderConfig(name=c.name, version=datasets.Version("1.0.0"), description=c.description)
                       for c in INFO.configs]
    DEFAULT_CONFIG_NAME = INFO.default_config

    def __init__(self, *args, **kwargs):
        manifest = kwargs.get("manifest")
        if manifest and not kwargs.get("manifest_digest"):  # a manifest outside data_dir escapes the fingerprint
            p = Path(manifest).expanduser()
            kwargs["manifest_digest"] = _file_digest(str(p if p.is_absolute() else Path(kwargs.get("data_dir") or ".") / p))
        super().__init__(*args, **kwargs)

    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        c = self.config
        if c.sensor not in schema.SENSORS:
            raise ParseError(f"sensor={c.sensor!r} is not one of {schema.SENSORS}")
        if c.manifest:
            files = scan_manifest(data_dir, c.manifest, machine=c.machine, labels=c.labels, sensor=c.sensor)
        else:
            files = scan_folders(data_dir, machine=c.machine, labels=c.labels, sensor=c.sensor, strict=c.strict)
        return {"train": files}


def name_round_trips():
    """(value, parse(format(value))) pairs of the section-folder grammar and the label table."""
    for s in (0, 1, 7, 42, 99):
        yield s, parse_section(format_section(s))
    table = label_table()
    for name, label in LABEL_NAMES.items():
        yield label, parse_label(name.upper(), table)


def data_summary(machines, sections, labels, sample_rates, channels) -> str:
    """Markdown table of a built folder corpus (clip counts per machine, section and label, with the
    rates and channel counts met): for the card of an export, generated from the data."""
    from collections import Counter

    rows = Counter(zip(machines, sections, labels, strict=True))
    fmt: dict[tuple, set] = {}
    for m, s, r, c in zip(machines, sections, sample_rates, channels, strict=True):
        fmt.setdefault((m, s), set()).add(f"{r / 1000:g} kHz x {c}")
    lines = ["| machine | section | label | clips | rate x channels |", "|---|---|---|---|---|"]
    for (m, s, lab), n in sorted(rows.items()):
        lines.append(f"| {m} | {'-' if s == -1 else f'{s:02d}'} | {lab} | {n:,} | {', '.join(sorted(fmt[(m, s)]))} |")
    return "\n".join(lines)
