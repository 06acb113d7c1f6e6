"""DINOS (Diverse INdustrial Operation Sounds): class-folder grammar, class table and builder.

Source: Han et al., "DINOS / IMPACT", arXiv 2507.06481; data on Kaggle
(changheonhan/dinos-diverse-industrial-operation-sounds) and Harvard Dataverse (doi:10.7910/DVN/FWAZBQ).

Published layout (after unzipping)::

    DINOS_Pretrain/<category>/**/*.wav                    # 59-s recordings (inner layout unverified)
    DINOS_Downstreams_{train,test}/<dataset>/<class folder>/*.wav   # 1-s clips

Class-folder names carry the metadata; the grammar below is the single place that reads them.
Only a few real names are known (see `KNOWN_REAL_FOLDERS`); the rest is parsed by grammar, the raw
name is kept in the `class_folder` attribute, and a name that fits no grammar is a `ParseError`
(or, with `strict=False`, a warning and a row with `task_class="none"`).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from dinos.build_rows import file_stem, wav_entries
from dinos.builder import ClipBuilder, SourceFile, builder_configs, source_files
from dinos.corpus import Archive, ConfigInfo, CorpusInfo
from dinos.errors import LayoutError, ParseError

CORPUS = "dinos"
SAMPLE_RATE = 48_000
CHANNELS = 1

CITATION = """@article{han2025dinos,
  title   = {{DINOS}: Diverse Industrial Operation Sounds and {IMPACT}, a Reference Industrial Sound Foundation Model},
  author  = {Han, Changheon and others},
  journal = {arXiv preprint arXiv:2507.06481},
  year    = {2025}
}"""
HOMEPAGE = "https://www.kaggle.com/datasets/changheonhan/dinos-diverse-industrial-operation-sounds"
LICENSE = "See the Kaggle / Harvard Dataverse (doi:10.7910/DVN/FWAZBQ) record; unverified here."

PRETRAIN_DIR = "DINOS_Pretrain"
DOWNSTREAM_DIRS = {"train": "DINOS_Downstreams_train", "test": "DINOS_Downstreams_test"}

#: config name -> published dataset folder
DATASET_FOLDERS = {
    "renishaw_l": "RenishawL",
    "vf2": "VF2",
    "yornew": "Yornew",
    "cold_spray": "ColdSpray",
    "yornew_anomaly": "Yornew_anomaly",
    "cold_spray_anomaly": "ColdSpray_anomaly",
}
#: dataset folder -> machine name in the schema
DATASET_MACHINE = {
    "RenishawL": "RenishawL",
    "VF2": "VF2",
    "Yornew": "Yornew",
    "ColdSpray": "ColdSpray",
    "Yornew_anomaly": "Yornew",
    "ColdSpray_anomaly": "ColdSpray",
}
#: sensor of a dataset whose folders do not name one (paper Table 1)
DATASET_DEFAULT_SENSOR = {"RenishawL": "stethoscope", "VF2": "stethoscope"}


@dataclass(frozen=True)
class DinosClass:
    """One benchmark class (paper Table 2) and the folder name the synthetic corpus uses for it."""

    task: str  # T1..T25
    dataset: str  # published dataset folder
    name: str  # human-readable state
    paper_count: int  # samples in paper Table 2
    label: str  # normal | anomaly (for the ASD view)
    folder: str  # class folder name (real where known, else grammar-conforming)
    sensor: str | None = None  # fixed sensor of the class, None when pooled
    attributes: dict = field(default_factory=dict)
    note: str = ""


def _yornew(task: str, idx: int, cd: str, mrr: str, rpm: int, chatter: bool, count: int, note: str = ""):
    state = "chatter" if chatter else "normal"
    return DinosClass(
        task=task,
        dataset="Yornew",
        name=f"CD{cd} MRR{mrr} {rpm // 1000}K {'chatter' if chatter else 'no chatter'}",
        paper_count=count,
        label="anomaly" if chatter else "normal",
        folder=f"{idx:03d}-{cd}_6.35_{mrr}_{rpm}_{state}",
        attributes={
            "cutting_depth_mm": cd,
            "tool_diameter_mm": "6.35",
            "mrr": mrr,
            "rpm": str(rpm),
            "chatter": "yes" if chatter else "no",
        },
        note=note,
    )


def _cold(task: str, idx: int, cond: str, name: str, sensor: str, count: int):
    return DinosClass(
        task=task,
        dataset="ColdSpray",
        name=f"{name} ({sensor})",
        paper_count=count,
        label="normal" if cond == "normal" else "anomaly",
        folder=f"{idx}-{cond}_{'mic' if sensor == 'microphone' else 'stethoscope'}",
        sensor=sensor,
        attributes={"condition": cond},
    )


#: The benchmark classes T1-T25 with the paper's counts (Table 2). Single source of truth for the
#: grammar's task ids, the synthetic corpus, the cards and `dinos validate`.
CLASSES: tuple[DinosClass, ...] = (
    DinosClass("T1", "RenishawL", "On", 386, "normal", "1-on", "stethoscope", {"state": "on"}),
    DinosClass("T2", "RenishawL", "Off", 138, "normal", "2-off", "stethoscope", {"state": "off"}),
    DinosClass("T3", "VF2", "On", 260, "normal", "1-on", "stethoscope", {"state": "on"}),
    DinosClass("T4", "VF2", "Off", 504, "normal", "2-off", "stethoscope", {"state": "off"}),
    DinosClass("T5", "VF2", "Warm-up", 354, "normal", "3-warmup", "stethoscope", {"state": "warmup"}),
    _yornew("T6", 1, "0.3", "7.62", 8000, False, 78),
    _yornew("T7", 2, "0.3", "7.62", 12000, False, 78),
    _yornew("T8", 3, "0.3", "7.62", 4000, False, 78),
    _yornew("T9", 4, "0.5", "12.7", 12000, False, 74),
    _yornew("T10", 5, "0.5", "12.7", 8000, False, 76),
    _yornew("T11", 6, "0.5", "12.7", 4000, False, 78),
    _yornew("T12", 7, "1.0", "25.4", 4000, True, 78),
    _yornew("T13", 8, "1.0", "25.4", 8000, False, 78),
    _yornew("T14", 9, "1.0", "25.4", 12000, True, 74),
    _yornew(
        "T15", 10, "3.0", "76.2", 12000, False, 78,
        note="Table 2 gives T15 and T16 the same parameters; one RPM is probably wrong.",
    ),
    _yornew("T16", 11, "3.0", "76.2", 12000, True, 76),
    _yornew(
        "T17", 12, "3.0", "76.2", 8000, True, 76,
        note="Table 2 marks T17 'N', but T26's 304 abnormal = T12+T14+T16+T17 and the real folder "
        "is `012-3.0_6.35_76.2_8000_chatter`: chatter in the data, a typo in the table.",
    ),
    _cold("T18", 1, "normal", "Normal", "stethoscope", 1214),
    _cold("T19", 2, "depleted", "Depleted powder", "stethoscope", 472),
    _cold("T20", 3, "clogging", "Powder clogging", "stethoscope", 385),
    _cold("T21", 4, "nogas", "No gas supply", "stethoscope", 384),
    _cold("T22", 5, "normal", "Normal", "microphone", 1268),
    _cold("T23", 6, "depleted", "Depleted powder", "microphone", 472),
    _cold("T24", 7, "clogging", "Powder clogging", "microphone", 385),
    _cold("T25", 8, "nogas", "No gas supply", "microphone", 384),
)  # fmt: skip
CLASS_BY_TASK = {c.task: c for c in CLASSES}

#: Real class-folder names known from the authors' public code (SPEC section 1); tests pin them.
KNOWN_REAL_FOLDERS = {
    ("ColdSpray", "1-normal_stethoscope"): "T18",
    ("ColdSpray", "5-normal_mic"): "T22",
    ("Yornew", "007-1.0_6.35_25.4_4000_chatter"): "T12",
    ("Yornew", "009-1.0_6.35_25.4_12000_chatter"): "T14",
    ("Yornew", "011-3.0_6.35_76.2_12000_chatter"): "T16",
    ("Yornew", "012-3.0_6.35_76.2_8000_chatter"): "T17",
}


@dataclass(frozen=True)
class PretrainCategory:
    name: str  # machine name in the schema
    title: str  # Table 1 category
    sensor: str
    paper_recordings: int  # 59-s recordings in Table 1
    subset_recordings: int  # recordings in the IMPACT-DINOS pretraining subset
    aliases: tuple[str, ...]  # lower-case tokens that identify the folder
    folder: str  # folder name the synthetic corpus uses


PRETRAIN_CATEGORIES: tuple[PretrainCategory, ...] = (
    PretrainCategory("SK2540", "CNC SK2540", "stethoscope", 21_570, 1_851, ("sk2540",), "CNC_SK2540_stethoscope"),
    PretrainCategory("RenishawR", "AM-LPBF RenishawR", "stethoscope", 21_600, 1_851, ("renishawr", "renishaw_r"),
                     "AM-LPBF_RenishawR_stethoscope"),
    PretrainCategory("FormAlloy", "AM-DED FormAlloy", "stethoscope", 21_600, 1_851, ("formalloy",),
                     "AM-DED_FormAlloy_stethoscope"),
    PretrainCategory("ShopFloor", "Shop floor", "microphone", 1_851, 1_851, ("shopfloor", "shop_floor", "shop-floor"),
                     "ShopFloor_microphone"),
)  # fmt: skip

#: Anomaly-detection tasks (paper Table 2 / T26-T27): dataset folder and expected normal/abnormal.
ASD_TASKS = {
    "T26": {"dataset": "Yornew_anomaly", "base": "Yornew", "paper_counts": {"normal": 618, "anomaly": 304}},
    "T27": {"dataset": "ColdSpray_anomaly", "base": "ColdSpray", "paper_counts": {"normal": 2482, "anomaly": 2482}},
}


# --------------------------------------------------------------------------------------------
# Grammar
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FolderInfo:
    """What a class folder says: the schema fields it fixes."""

    task_class: str
    class_name: str
    label: str
    sensor: str | None
    attributes: tuple[tuple[str, str], ...]


_NUM = r"\d+(?:\.\d+)?"
_YORNEW = re.compile(
    rf"^(?P<idx>\d{{1,3}})-(?P<cd>{_NUM})_(?P<tool>{_NUM})_(?P<mrr>{_NUM})_(?P<rpm>\d+)_(?P<state>[A-Za-z-]+)$"
)
_YORNEW_STATES = {"chatter": True, "normal": False, "stable": False, "nochatter": False, "no-chatter": False}
_COLD = re.compile(r"^(?P<idx>\d+)-(?P<cond>[A-Za-z][A-Za-z_ -]*?)_(?P<sensor>[A-Za-z]+)$")
_COLD_CONDITIONS = {
    "normal": "normal",
    "depleted": "depleted", "depletedpowder": "depleted", "nopowder": "depleted", "powderless": "depleted",
    "clogging": "clogging", "clog": "clogging", "clogged": "clogging", "jamming": "clogging", "powderclogging": "clogging",
    "nogas": "nogas", "nogassupply": "nogas", "gascutoff": "nogas", "gasoff": "nogas",
}  # fmt: skip
_SENSORS = {
    "mic": "microphone", "microphone": "microphone",
    "stethoscope": "stethoscope", "steth": "stethoscope", "stetho": "stethoscope",
}  # fmt: skip
_STATE = re.compile(r"^(?:(?P<idx>\d+)-)?(?P<state>[A-Za-z][A-Za-z_ -]*?)(?:_(?P<sensor>[A-Za-z]+))?$")
_STATES = {
    "on": "on", "operational": "on", "operation": "on", "running": "on",
    "off": "off", "idle": "off",
    "warmup": "warmup", "warm-up": "warmup", "warm_up": "warmup",
}  # fmt: skip
_ASD = re.compile(r"^(?:\d+-)?(?P<label>normal|abnormal|anomaly|anomalous)(?:_(?P<sensor>[A-Za-z]+))?$", re.I)


def _norm(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text.lower())


def _sensor(token: str | None, where: str) -> str | None:
    if token is None:
        return None
    try:
        return _SENSORS[token.lower()]
    except KeyError:
        raise ParseError(f"unknown sensor token {token!r} (expected one of {sorted(_SENSORS)})", where) from None


def _class_info(cls: DinosClass, class_name: str | None = None, extra: dict | None = None) -> FolderInfo:
    attrs = dict(cls.attributes)
    attrs.update(extra or {})
    return FolderInfo(cls.task, class_name or cls.name, cls.label, cls.sensor, tuple(attrs.items()))


def _parse_yornew(folder: str, where: str) -> FolderInfo:
    m = _YORNEW.match(folder)
    if not m:
        raise ParseError(
            "Yornew class folder must read <nnn>-<cutting depth>_<tool diameter>_<MRR>_<RPM>_<state>", where
        )
    state = m["state"].lower()
    if state not in _YORNEW_STATES:
        raise ParseError(f"unknown Yornew state {m['state']!r} (expected one of {sorted(_YORNEW_STATES)})", where)
    chatter = _YORNEW_STATES[state]
    cls = CLASS_BY_TASK.get(f"T{int(m['idx']) + 5}")
    if cls is None or cls.dataset != "Yornew":
        raise ParseError(f"Yornew class index {m['idx']} is outside 001-012", where)
    want = cls.attributes
    if (float(m["cd"]), float(m["mrr"]), chatter) != (
        float(want["cutting_depth_mm"]),
        float(want["mrr"]),
        want["chatter"] == "yes",
    ):
        raise ParseError(
            f"Yornew folder parameters disagree with class {cls.task} of the paper ({cls.name})", where
        )
    if int(m["rpm"]) != int(want["rpm"]):
        warnings.warn(
            f"{where}: RPM {m['rpm']} differs from the paper's {want['rpm']} for {cls.task}; "
            "the folder name is taken as truth",
            stacklevel=3,
        )
    rpm = int(m["rpm"])
    name = f"CD{m['cd']} MRR{m['mrr']} {rpm // 1000 if rpm % 1000 == 0 else rpm / 1000}K " + (
        "chatter" if chatter else "no chatter"
    )
    extra = {
        "cutting_depth_mm": m["cd"],
        "tool_diameter_mm": m["tool"],
        "mrr": m["mrr"],
        "rpm": m["rpm"],
        "chatter": "yes" if chatter else "no",
    }
    return _class_info(cls, name, extra)


def _parse_cold(folder: str, where: str) -> FolderInfo:
    m = _COLD.match(folder)
    if not m:
        raise ParseError("ColdSpray class folder must read <n>-<condition>_<sensor>", where)
    cond = _COLD_CONDITIONS.get(_norm(m["cond"]))
    if cond is None:
        raise ParseError(
            f"unknown ColdSpray condition {m['cond']!r} (expected one of {sorted(set(_COLD_CONDITIONS))})", where
        )
    sensor = _sensor(m["sensor"], where)
    for cls in CLASSES:
        if cls.dataset == "ColdSpray" and cls.attributes["condition"] == cond and cls.sensor == sensor:
            return _class_info(cls)
    raise ParseError(f"no ColdSpray class for condition {cond!r} and sensor {sensor!r}", where)  # pragma: no cover


def _parse_state(dataset: str, folder: str, where: str) -> FolderInfo:
    m = _STATE.match(folder)
    state = _STATES.get(m["state"].lower()) if m else None
    if state is None:
        raise ParseError(
            f"{dataset} class folder must read [<n>-]<state>[_<sensor>] with state one of {sorted(_STATES)}", where
        )
    for cls in CLASSES:
        if cls.dataset == dataset and cls.attributes["state"] == state:
            info = _class_info(cls)
            sensor = _sensor(m["sensor"], where)
            return info if sensor is None else FolderInfo(*info[:3], sensor, info.attributes)
    raise ParseError(f"{dataset} has no {state!r} class in the paper's Table 2", where)


_PARSERS = {
    "Yornew": _parse_yornew,
    "ColdSpray": _parse_cold,
    "VF2": lambda f, w: _parse_state("VF2", f, w),
    "RenishawL": lambda f, w: _parse_state("RenishawL", f, w),
}


def parse_class_folder(dataset: str, folder: str, where: str | None = None) -> FolderInfo:
    """Typed metadata of a class folder of a downstream dataset; `ParseError` naming it otherwise."""
    where = where or f"{dataset}/{folder}"
    if dataset not in DATASET_MACHINE:
        raise ParseError(f"unknown DINOS dataset folder {dataset!r} (expected one of {sorted(DATASET_MACHINE)})", where)
    if dataset.endswith("_anomaly"):
        base = dataset[: -len("_anomaly")]
        try:  # the base dataset's class folders first: they carry the task class
            return parse_class_folder(base, folder, where)
        except ParseError:
            m = _ASD.match(folder)
            if not m:
                raise
        label = "normal" if m["label"].lower() == "normal" else "anomaly"
        return FolderInfo("none", label, label, _sensor(m["sensor"], where), ())
    return _PARSERS[dataset](folder, where)


def parse_pretrain_category(folder: str, where: str | None = None) -> PretrainCategory:
    """The Table 1 pretraining category named by a folder under `DINOS_Pretrain/`."""
    key = folder.lower()
    for cat in PRETRAIN_CATEGORIES:
        if any(alias in key for alias in cat.aliases):
            return cat
    raise ParseError(
        "pretraining folder names no known category "
        f"(expected one containing {[a for c in PRETRAIN_CATEGORIES for a in c.aliases]})",
        where or folder,
    )


def sensor_from_file_name(name: str) -> str | None:
    """`mic`/`microphone`/`stethoscope` token in a file name (Yornew pools both sensors per class)."""
    for token in _TOKEN_SPLIT.split(file_stem(name).lower()):
        if token in _SENSORS:
            return _SENSORS[token]
    return None


_TOKEN_SPLIT = re.compile(r"[_\-. ]+")


def group_key(dataset: str, class_folder: str, file_name: str) -> str:
    """The physical event a downstream clip belongs to: `<dataset>/<class folder>/<cut>`, where the cut
    is the file stem without its sensor token (`mic_r00_0003.wav` and `stethoscope_r00_0003.wav` of
    one Yornew cut share `r00_0003`). Splits keep a group on one side. In the real DINOS the grouping
    key of the two sensors of one cut is unknown (unverified): a name without a sensor token is its
    own group, the same as grouping by recording."""
    stem = file_stem(file_name)
    tokens = [t for t in _TOKEN_SPLIT.split(stem) if t]
    cut = "_".join(t for t in tokens if t.lower() not in _SENSORS) or stem
    return f"{dataset}/{class_folder}/{cut}"


# --------------------------------------------------------------------------------------------
# Tree scanning (pure: directory listing -> SourceFile records). Plain strings and `os.scandir`:
# `datasets` swaps `Path` in this module for its streaming `xPath` (URL parsing on every call),
# which made the listing of 75 k files cost seconds.
# --------------------------------------------------------------------------------------------
def _wavs(folder: str) -> list[os.DirEntry]:
    """The `.wav` entries under `folder` (`build_rows.wav_entries`: symlinks too, dangling ones
    included, so the builder refuses those that leave data_dir or point nowhere instead of this
    listing dropping them silently), sorted by path components."""
    try:
        return wav_entries(folder)
    except PermissionError as exc:
        raise LayoutError(f"folder is not readable ({exc.strerror})", exc.filename or folder) from None


def _subdirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except PermissionError:
        raise LayoutError("folder is not readable (permission denied)", folder) from None


def _unparsed(folder: Path, exc: ParseError, dataset: str) -> FolderInfo:
    warnings.warn(f"{exc} -- kept with task_class='none' because strict=False", stacklevel=3)
    return FolderInfo("none", folder.name, "unknown", DATASET_DEFAULT_SENSOR.get(dataset), ())


def scan_downstream(root: Path, dataset: str, split: str, strict: bool = True) -> list[SourceFile]:
    """Files of one downstream dataset in one published split folder."""
    base = root / DOWNSTREAM_DIRS[split] / dataset
    if not base.is_dir():
        return []
    out = []
    machine = DATASET_MACHINE[dataset]
    default_sensor = DATASET_DEFAULT_SENSOR.get(dataset, "unknown")
    for folder in _subdirs(base):
        rel_folder = f"{DOWNSTREAM_DIRS[split]}/{dataset}/{folder.name}"
        try:
            info = parse_class_folder(dataset, folder.name, rel_folder)
        except ParseError as exc:
            if strict:
                raise
            info = _unparsed(folder, exc, dataset)
        attrs = [{"name": k, "value": v, "file_token": ""} for k, v in info.attributes]
        attrs.append({"name": "class_folder", "value": folder.name, "file_token": ""})
        fields = {
            "corpus": CORPUS,
            "machine": machine,
            "sensor": info.sensor,
            "section": -1,
            "domain": "source",
            "label": info.label,
            "origin_split": split,
            "task_class": info.task_class,
            "class_name": info.class_name,
            "attributes": attrs,
        }
        sensor_of = None if info.sensor else (lambda name: sensor_from_file_name(name) or default_sensor)
        out += source_files(_wavs, str(root), rel_folder, fields, (SAMPLE_RATE, CHANNELS), sensor_of,
                            lambda rel, name=folder.name: group_key(dataset, name, rel))
    return out


def scan_pretrain(root: Path, strict: bool = True) -> list[SourceFile]:
    base = root / PRETRAIN_DIR
    if not base.is_dir():
        return []
    loose = sorted(p for p in base.iterdir() if p.is_file() and p.suffix.lower() == ".wav")
    if loose:
        raise ParseError("audio directly under DINOS_Pretrain/ has no category folder", loose[0])
    out = []
    for folder in _subdirs(base):
        rel_folder = f"{PRETRAIN_DIR}/{folder.name}"
        try:
            cat = parse_pretrain_category(folder.name, rel_folder)
        except ParseError as exc:
            if strict:
                raise
            # README: strict=False warns and keeps the raw name (machine `unknown`), never drops files
            warnings.warn(f"{exc} -- kept with machine='unknown' because strict=False", stacklevel=2)
            sensor = sensor_from_file_name(folder.name) or "unknown"
            cat = PretrainCategory("unknown", folder.name, sensor, 0, 0, (), folder.name)
        attrs = [
            {"name": "category", "value": cat.title, "file_token": ""},
            {"name": "category_folder", "value": folder.name, "file_token": ""},
        ]
        fields = {
            "corpus": CORPUS,
            "machine": cat.name,
            "sensor": cat.sensor,
            "section": -1,
            "domain": "source",
            "label": "normal" if cat.name != "unknown" else "unknown",
            "origin_split": "pretrain",
            "task_class": "none",
            "class_name": cat.title,
            "attributes": attrs,
        }
        out += source_files(_wavs, str(root), rel_folder, fields, (SAMPLE_RATE, CHANNELS))
    return out


def check_layout(root: Path) -> None:
    expected = [PRETRAIN_DIR, *DOWNSTREAM_DIRS.values()]
    if not any((root / d).is_dir() for d in expected):
        raise LayoutError(f"not a DINOS tree: none of {expected} found", root)


def scan(root: Path, config: str, strict: bool = True) -> dict[str, list[SourceFile]]:
    """Split name -> files for a DINOS config."""
    check_layout(root)
    if config == "pretraining":
        return {"train": scan_pretrain(root, strict)}
    names = list(DATASET_FOLDERS.values()) if config == "all" else [DATASET_FOLDERS[config]]
    splits = {s: [f for d in names for f in scan_downstream(root, d, s, strict)] for s in DOWNSTREAM_DIRS}
    if config == "all":
        splits["pretrain"] = scan_pretrain(root, strict)
    return splits


# --------------------------------------------------------------------------------------------
# Builder
# --------------------------------------------------------------------------------------------
_CONFIGS = (
    ("renishaw_l", "RenishawL (AM-LPBF, stethoscope): T1 On / T2 Off."),
    ("vf2", "Haas VF-2 CNC (stethoscope): T3 On / T4 Off / T5 Warm-up."),
    ("yornew", "Yornew VMC-300 CNC (both sensors pooled): 12 cutting states T6-T17."),
    ("cold_spray", "ColdSpray CSM 108.2 (microphone and stethoscope): 8 classes T18-T25."),
    ("yornew_anomaly", "Yornew anomaly detection (T26): chatter = anomaly."),
    ("cold_spray_anomaly", "ColdSpray anomaly detection (T27): the three faults = anomaly."),
    ("pretraining", "DINOS_Pretrain: 59-s recordings of four categories (Table 1); split `train`."),
    ("all", "Every downstream dataset (train/test) plus the pretraining recordings (split `pretrain`)."),
)


def _config_splits(name: str) -> tuple[str, ...]:
    if name == "pretraining":
        return ("train",)
    return (*DOWNSTREAM_DIRS, "pretrain") if name == "all" else tuple(DOWNSTREAM_DIRS)


#: The corpus facts (dinos.corpus.CorpusInfo): the one home of what DINOS is.
INFO = CorpusInfo(
    name=CORPUS,
    pretty_name="DINOS (Diverse INdustrial Operation Sounds)",
    description="DINOS: Diverse INdustrial Operation Sounds (48 kHz, microphone and stethoscope).",
    sample_rate=SAMPLE_RATE,
    channels=CHANNELS,
    license=LICENSE,
    license_id="unknown",
    homepage=HOMEPAGE,
    citations={"": CITATION},
    configs=tuple(ConfigInfo(n, d, _config_splits(n)) for n, d in _CONFIGS),
    default_config="yornew",
    split_roles={"train": "train", "test": "test", "pretrain": "pretrain"},
    hub_configs=tuple(n for n, _ in _CONFIGS if n != "all"),
    tags=("audio", "industrial", "machine-sound", "anomaly-detection", "manufacturing", "stethoscope"),
    size_category="10K<n<100K",
    # the whole Dataverse dataset as one zip (Dataverse's documented bundle download); the layout of the
    # bundle could not be checked offline (unverified): `dinos download` unpacks it as it comes
    archives=(Archive(url="https://dataverse.harvard.edu/api/access/dataset/:persistentId/"
                          "?persistentId=doi:10.7910/DVN/FWAZBQ", filename="dinos_dataverse.zip", part="all"),),
    synth_module="dinos.synth.dinos",
)


class Dinos(ClipBuilder):
    """Hugging Face builder for DINOS over the published folder layout."""

    INFO = INFO
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = builder_configs({c.name: c.description for c in INFO.configs})
    DEFAULT_CONFIG_NAME = INFO.default_config

    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        return scan(data_dir, self.config.name, strict=self.config.strict)

    def expected_duplicates(self, group: list[str]) -> bool:
        return anomaly_copies(group)


def anomaly_copies(group: list[str]) -> bool:
    """True if `group` is one clip published in a dataset and in its `_anomaly` twin (T26/T27 relabel
    the Yornew/ColdSpray clips), in the same split folder: a copy by design, not a user's duplicate."""
    keys = set()
    datasets_seen = []
    for path in group:
        parts = path.split("/")
        if len(parts) < 3 or parts[0] not in DOWNSTREAM_DIRS.values() or parts[1] not in DATASET_MACHINE:
            return False
        keys.add((parts[0], parts[1].removesuffix("_anomaly")))
        datasets_seen.append(parts[1])
    return len(keys) == 1 and len(set(datasets_seen)) == len(datasets_seen)


def name_round_trips():
    """(value, parse(format(value))) pairs of this corpus' grammars, for the generic loader test:
    class folders of every Table 2 class, pretraining category folders, sensor tokens of file names."""
    for cls in CLASSES:
        info = parse_class_folder(cls.dataset, cls.folder)
        yield (cls.task, cls.label), (info.task_class, info.label)
    for task in ASD_TASKS.values():
        for label in ("normal", "abnormal"):
            info = parse_class_folder(task["dataset"], f"1-{label}")
            yield ("normal" if label == "normal" else "anomaly"), info.label
    for cat in PRETRAIN_CATEGORIES:
        yield cat.name, parse_pretrain_category(cat.folder).name
    for token, sensor in (("mic", "microphone"), ("stethoscope", "stethoscope")):
        yield sensor, sensor_from_file_name(f"{token}_0001.wav")
