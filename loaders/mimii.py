"""MIMII (2019): the original malfunctioning-machine sound corpus (Zenodo record 3384388).

Source: Purohit et al., "MIMII Dataset: Sound Dataset for Malfunctioning Industrial Machine
Investigation and Inspection", DCASE 2019 Workshop (arXiv 1909.09347). Four machine types (fan, pump,
slider, valve), four machine ids each, 10-s clips recorded with an 8-microphone circular array at
16 kHz, mixed with factory noise at three signal-to-noise ratios (6, 0 and -6 dB). One archive per
SNR and machine type, `<snr>_dB_<machine>.zip`; every archive unpacks to the same
`<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav` tree, so each must be unpacked into a folder named
after the archive (`dinos download` does; `unzip 6_dB_fan.zip -d 6_dB_fan` by hand)::

    <data_dir>/<snr>_dB_<machine>/<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav
    <data_dir>/<snr>_dB_<machine>/id_XX/{normal,abnormal}/NNNNNNNN.wav      (archive unpacked one level up)

Rows: `snr_db` from the archive folder (typed), `section` = machine id, `label` from the label
folder, `domain` = `source` (the corpus has no domain shift), all 8 channels kept (`channel=0` gives
the first, as the AWS blog uses). The corpus publishes no train/test split: every clip is in the
builder's one split `train` with `origin_split="unsplit"` (the `datasets` audiofolder convention);
split files come from `dinos splits make --protocol asd|holdout|kfold` (`dinos.protocols`).
`group_id` is `<machine>/id_XX/<label>/<number>`: the three SNR mixes of a recording share it, so no
split separates them (the per-SNR archives hold the same file numbers; we assume they are the same
machine recordings mixed at different SNRs, as the paper describes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import datasets

from dinos.builder import ClipBuilder, SourceFile, builder_configs
from dinos.corpus import Archive, ConfigInfo, CorpusInfo
from dinos.errors import LayoutError, ParseError

CORPUS = "mimii"
SAMPLE_RATE = 16_000
CHANNELS = 8
CLIP_SECONDS = 10.0
MACHINES = ("fan", "pump", "slider", "valve")
MACHINE_IDS = (0, 2, 4, 6)
SNRS_DB = (6, 0, -6)
#: label folder -> schema label
LABEL_FOLDERS = {"normal": "normal", "abnormal": "anomaly"}
ZENODO_RECORD = "3384388"

CITATION = """@inproceedings{purohit2019mimii,
  title     = {{MIMII} Dataset: Sound Dataset for Malfunctioning Industrial Machine Investigation and Inspection},
  author    = {Purohit, Harsh and Tanabe, Ryo and Ichige, Kenji and Endo, Takashi and Nikaido, Yuki and Suefusa, Kaori and Kawaguchi, Yohei},
  booktitle = {Proceedings of the Detection and Classification of Acoustic Scenes and Events 2019 Workshop (DCASE2019)},
  pages     = {209--213},
  year      = {2019}
}"""
HOMEPAGE = f"https://zenodo.org/record/{ZENODO_RECORD}"
LICENSE = "CC BY-SA 4.0 per the Zenodo record (unverified here)"

_ARCHIVE_RE = re.compile(r"^(?P<snr>-?\d+)_dB_(?P<machine>[a-z]+)$")
_ID_RE = re.compile(r"^id_(?P<id>\d{2})$")
_FILE_RE = re.compile(r"^(?P<number>\d{8})\.wav$")


# ------------------------------------------------------------------------------------------------
# Grammars (pure)
# ------------------------------------------------------------------------------------------------
def format_archive_folder(snr_db: int, machine: str) -> str:
    """`6_dB_fan`: the archive stem (and the folder it is unpacked into)."""
    return f"{snr_db}_dB_{machine}"


def parse_archive_folder(name: str) -> tuple[int, str]:
    """(snr_db, machine) of an archive folder name; `ParseError` when it is not one."""
    m = _ARCHIVE_RE.match(name)
    if not m or m["machine"] not in MACHINES or int(m["snr"]) not in SNRS_DB:
        raise ParseError(
            f"not a MIMII archive folder (expected <snr>_dB_<machine>, snr in {SNRS_DB}, machine in {MACHINES})", name
        )
    return int(m["snr"]), m["machine"]


def format_id_folder(machine_id: int) -> str:
    return f"id_{machine_id:02d}"


def parse_id_folder(name: str) -> int:
    m = _ID_RE.match(name)
    if not m:
        raise ParseError("not a MIMII machine-id folder (expected id_XX)", name)
    return int(m["id"])


def format_file_name(number: int) -> str:
    return f"{number:08d}.wav"


def parse_file_name(name: str) -> int:
    m = _FILE_RE.match(name)
    if not m:
        raise ParseError("not a MIMII clip name (expected eight digits and .wav)", name)
    return int(m["number"])


def config_name(machine: str | None, snr_db: int | None) -> str:
    """`all`, `fan`, or `fan_6dB` / `fan_-6dB` (machine and SNR)."""
    base = machine or "all"
    return base if snr_db is None else f"{base}_{snr_db}dB"


@dataclass(frozen=True)
class Selection:
    machine: str | None
    snr_db: int | None


def parse_config_name(name: str) -> Selection:
    machine, _, snr = name.partition("_")
    return Selection(None if machine == "all" else machine, int(snr[:-2]) if snr else None)


# ------------------------------------------------------------------------------------------------
# Scan
# ------------------------------------------------------------------------------------------------
def _fail(strict: bool, exc: Exception) -> None:
    if strict:
        raise exc
    import warnings

    warnings.warn(f"{exc} (skipped: strict=False)", stacklevel=3)


def archive_dirs(root: Path) -> dict[tuple[int, str], Path]:
    """(snr_db, machine) -> the folder holding that archive's `id_XX` folders."""
    out: dict[tuple[int, str], Path] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and _ARCHIVE_RE.match(p.name)):
        snr, machine = parse_archive_folder(d.name)
        inner = d / machine
        out[(snr, machine)] = inner if inner.is_dir() else d
    return out


def scan(root: Path, machine: str | None = None, snr_db: int | None = None, strict: bool = True) -> list[SourceFile]:
    """Every clip of the selected archives (sorted by path); `LayoutError` when none is present."""
    dirs = archive_dirs(root)
    if not dirs:
        raise LayoutError(
            "not a MIMII (2019) tree: no <snr>_dB_<machine> folder found (unpack each archive into a folder "
            "named after it, e.g. `unzip 6_dB_fan.zip -d 6_dB_fan`)",
            root,
        )
    files: list[SourceFile] = []
    for (snr, name), adir in dirs.items():
        if (machine is not None and name != machine) or (snr_db is not None and snr != snr_db):
            continue
        for id_dir in sorted(p for p in adir.iterdir() if p.is_dir()):
            try:
                machine_id = parse_id_folder(id_dir.name)
            except ParseError as exc:
                _fail(strict, LayoutError(str(exc.reason if hasattr(exc, "reason") else exc), id_dir))
                continue
            for label_dir in sorted(p for p in id_dir.iterdir() if p.is_dir()):
                label = LABEL_FOLDERS.get(label_dir.name)
                if label is None:
                    _fail(strict, LayoutError(f"label folder must be one of {sorted(LABEL_FOLDERS)}", label_dir))
                    continue
                for wav in sorted(label_dir.glob("*.wav")):
                    try:
                        number = parse_file_name(wav.name)
                    except ParseError as exc:
                        _fail(strict, exc)
                        continue
                    rel = wav.relative_to(root).as_posix()
                    fields = {
                        "corpus": CORPUS,
                        "machine": name,
                        "sensor": "microphone",
                        "section": machine_id,
                        "domain": "source",
                        "label": label,
                        "origin_split": "unsplit",
                        "task_class": "none",
                        "class_name": "",
                        "attributes": [],
                        "group_id": f"{name}/{id_dir.name}/{label_dir.name}/{number:08d}",
                        "snr_db": float(snr),
                        "provenance": {"folder": format_archive_folder(snr, name), "truth": "folder"},
                    }
                    files.append(SourceFile(rel, fields, SAMPLE_RATE, CHANNELS))
    return files


def _configs() -> tuple[ConfigInfo, ...]:
    out = [ConfigInfo("all", "MIMII (2019), all machine types and SNRs.", ("train",))]
    for m in MACHINES:
        out.append(ConfigInfo(config_name(m, None), f"MIMII (2019) {m}, all three SNRs.", ("train",), machine=m))
        for snr in SNRS_DB:
            out.append(
                ConfigInfo(config_name(m, snr), f"MIMII (2019) {m} at {snr} dB SNR (archive {format_archive_folder(snr, m)}.zip).",
                           ("train",), machine=m)
            )
    return tuple(out)


#: md5 sums of the twelve archives as published beside the data (datasets-mila/datasets--mimii `md5sums`,
#: copied in shared/real-samples/meta/).
ARCHIVE_MD5 = {
    "-6_dB_fan.zip": "f02ae808a58d84b6815b7ec38ff30879", "-6_dB_pump.zip": "d20b783a0ff9c93d58f452f98c37b112",
    "-6_dB_slider.zip": "49913eda7d37f182cbf8ed5c984140e0", "-6_dB_valve.zip": "fdfaf185fea61b21e11952a070a4ada7",
    "0_dB_fan.zip": "6354d1cc2165c52168f9ef1bcd9c7c52", "0_dB_pump.zip": "488748295c3f60b25de07b58fe75b049",
    "0_dB_slider.zip": "4d674c21474f0646ecd75546db6c0c4e", "0_dB_valve.zip": "178478eb0d11c79080a35562bfdeee71",
    "6_dB_fan.zip": "0890f7d3c2fd8448634e69ff1d66dd47", "6_dB_pump.zip": "a09ba6060c10fc09cd4c8770213b0b9f",
    "6_dB_slider.zip": "838c2b3441858359c4704ef13a1b27ff", "6_dB_valve.zip": "fe5fb7c337cd701b1d31dc641e621892",
}  # fmt: skip

#: The corpus facts: the one home of what MIMII (2019) is.
INFO = CorpusInfo(
    name=CORPUS,
    pretty_name="MIMII (2019)",
    description="MIMII: 8-channel 16 kHz sounds of normal and malfunctioning fans, pumps, slide rails and valves "
    "at 6, 0 and -6 dB SNR.",
    sample_rate=SAMPLE_RATE,
    channels=CHANNELS,
    license=LICENSE,
    license_id="cc-by-sa-4.0",
    homepage=HOMEPAGE,
    citations={"": CITATION},
    configs=_configs(),
    default_config="all",
    split_roles={"train": "train"},
    hub_configs=MACHINES,
    tags=("audio", "industrial", "machine-sound", "anomaly-detection", "multichannel"),
    size_category="10K<n<100K",
    archives=tuple(
        Archive(
            url=f"https://zenodo.org/record/{ZENODO_RECORD}/files/{format_archive_folder(s, m)}.zip",
            filename=f"{format_archive_folder(s, m)}.zip",
            machine=m,
            md5=ARCHIVE_MD5[f"{format_archive_folder(s, m)}.zip"],
            unpack_to=format_archive_folder(s, m),
        )
        for s in SNRS_DB
        for m in MACHINES
    ),
    synth_module="dinos.synth.mimii",
    notes={
        "splits": "No official split: one builder split `train` (origin_split `unsplit`); use dinos.protocols.",
        "snr": "snr_db is the SNR of the archive the clip came from.",
    },
)


class Mimii(ClipBuilder):
    """Hugging Face builder for MIMII (2019): 16 kHz, 8 channels, fan/pump/slider/valve, 3 SNRs."""

    INFO = INFO
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = builder_configs({c.name: c.description for c in INFO.configs})
    DEFAULT_CONFIG_NAME = INFO.default_config

    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        sel = parse_config_name(self.config.name)
        return {"train": scan(data_dir, sel.machine, sel.snr_db, strict=self.config.strict)}


def name_round_trips():
    """(value, parse(format(value))) pairs of the archive-folder, id-folder, file-name and config grammars."""
    for snr in SNRS_DB:
        for m in MACHINES:
            yield (snr, m), parse_archive_folder(format_archive_folder(snr, m))
            yield Selection(m, snr), parse_config_name(config_name(m, snr))
        yield Selection(None, snr), parse_config_name(config_name(None, snr))
    for m in MACHINES:
        yield Selection(m, None), parse_config_name(config_name(m, None))
    for i in MACHINE_IDS:
        yield i, parse_id_folder(format_id_folder(i))
    for n in (0, 7, 12345678):
        yield n, parse_file_name(format_file_name(n))
