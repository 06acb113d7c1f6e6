"""MIMII DUE (DCASE 2021 Task 2 machine sounds): section table, layout and the `MimiiDue` builder.

Source: Tanabe et al., "MIMII DUE: Sound dataset for malfunctioning industrial machine inspection and
repair under domain shifts", arXiv 2105.02702; data on Zenodo (record 4740355). File names follow
the DCASE 2021 grammar (`dinos.loaders.dcase_task2.parse_dcase_name(2021, ...)`); blind eval names
get their labels from the 2021 ground truth or `eval_data_list_2021.csv` when present under data_dir.

Accepted layouts (one machine folder each, `raw/` optional)::

    <data_dir>/{dev_data,eval_data}[/raw]/<machine>/{train,source_test,target_test}/*.wav
    <data_dir>/<machine>/{train,source_test,target_test}/*.wav        (zips unpacked side by side)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets

from dinos.builder import ClipBuilder, SourceFile, builder_configs
from dinos.corpus import ConfigInfo, CorpusInfo
from dinos.errors import LayoutError
from dinos.schema import Attribute

from . import dcase_task2 as dc

CORPUS = "mimii_due"
YEAR = 2021  # the file-name grammar
SAMPLE_RATE = 16_000
CHANNELS = 1
MACHINES = ("fan", "gearbox", "pump", "slider", "valve")
SECTIONS = (0, 1, 2, 3, 4, 5)
DEV_SECTIONS = (0, 1, 2)  # sections 03-05 were the DCASE 2021 evaluation data

CITATION = """@article{tanabe2021mimiidue,
  title   = {{MIMII DUE}: Sound Dataset for Malfunctioning Industrial Machine Investigation and Inspection with Domain Shifts due to Changes in Operational and Environmental Conditions},
  author  = {Tanabe, Ryo and Purohit, Harsh and Dohi, Kota and Endo, Takashi and Nikaido, Yuki and Nakamura, Toshiki and Kawaguchi, Yohei},
  journal = {arXiv preprint arXiv:2105.02702},
  year    = {2021}
}"""
HOMEPAGE = "https://zenodo.org/record/4740355"
LICENSE = "CC BY-SA 4.0 per the Zenodo record (unverified here)"


@dataclass(frozen=True)
class SectionInfo:
    """One row of the paper's Table 1: clip counts, SNR per domain and the domain shift."""

    machine: str
    section: int
    train_source: int
    train_target: int
    test_source: str  # "100/100" (normal/anomaly) or "200" (breakdown not published)
    test_target: str
    snr_source_db: str  # as printed, e.g. "-9" or "-9 ± 1.5"
    snr_target_db: str
    domain_shift: str


def _s(m, s, tr, ts, snr_s, tt, snr_t, desc, tr_t=3):
    return SectionInfo(m, s, tr, tr_t, ts, tt, snr_s, snr_t, desc)


_W = "Wind strength variations between domains"
_SUB = "Submersible pump; viscosity variations b/w domains"
_MULTI = (
    "Multiple pumps running simultaneously in the target domain; anomaly condition indicating an abnormality "
    "in one or more of the pumps"
)
_TWO_V = (
    "Two valves running simultaneously in the target domain; anomaly condition indicates a small piece of metal "
    "is caught in one of the valves"
)

#: MIMII DUE paper Table 1 (seeds/001_...txt), verbatim descriptions; SNR in dB as printed.
SECTION_TABLE: tuple[SectionInfo, ...] = (
    _s("fan", 0, 1000, "100/100", "-9", "100/100", "-9", _W),
    _s("fan", 1, 1000, "100/100", "-12", "100/100", "-12",
       "Two products from the same manufacturer with size variations between domains"),
    _s("fan", 2, 1000, "100/100", "-9", "100/100", "-9", "Factory noise variations between domains"),
    _s("fan", 3, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", _W),
    _s("fan", 4, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", _W),
    _s("fan", 5, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", "Wind temperature variations between domains"),
    _s("gearbox", 0, 1001, "165/105", "-15", "108/108", "-15", "Voltage variations between domains"),
    _s("gearbox", 1, 1008, "108/108", "-15", "108/108", "-15", "Arm-length variations between domains"),
    _s("gearbox", 2, 1008, "108/138", "-15", "105/120", "-15", "Weight variations between domains"),
    _s("gearbox", 3, 1005, "234", "-15 ± 1.5", "286", "-15 ± 1.5", "Voltage variations between domains"),
    _s("gearbox", 4, 1092, "252", "-15 ± 1.5", "234", "-15 ± 1.5", "Arm-length variations between domains"),
    _s("gearbox", 5, 1008, "210", "-17 ± 1.5", "212", "-17 ± 1.5",
       "Voltage and arm-length variations between domains"),
    _s("pump", 0, 1000, "100/100", "-9", "100/100", "-9", _SUB),
    _s("pump", 1, 1000, "100/100", "-12", "100/100", "-18", "SNR variations between domains"),
    _s("pump", 2, 1000, "100/100", "-9", "100/100", "-9", _MULTI),
    _s("pump", 3, 1000, "200", "-11 ± 1.5", "200", "-11 ± 1.5", _SUB),
    _s("pump", 4, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", "Factory noise variations between domains"),
    _s("pump", 5, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", _MULTI),
    _s("slider", 0, 1000, "100/100", "-12", "100/100", "-12", "Ball screw type; velocity variations between domains"),
    _s("slider", 1, 1000, "100/100", "-12", "98/100", "-12", "Ball screw type; operation mode changes b/w domains"),
    _s("slider", 2, 1000, "110/102", "-10", "102/102", "-10", "Belt type; belt material variations between domains"),
    _s("slider", 3, 1000, "200", "-12 ± 1.5", "200", "-12 ± 1.5", "Ball screw type; velocity variations between domains"),
    _s("slider", 4, 1000, "200", "-14 ± 1.5", "200", "-14 ± 1.5", "Ball screw type; operation mode changes b/w domains"),
    _s("slider", 5, 1000, "204", "-12 ± 1.5", "203", "-12 ± 1.5", "Belt type; belt material variations between domains"),
    _s("valve", 0, 1000, "100/100", "-9", "100/100", "-12", "Open/close timing variations between domains"),
    _s("valve", 1, 1000, "100/100", "-9", "100/100", "-12", "No pump running in the source domain"),
    _s("valve", 2, 1000, "100/100", "-12", "100/100", "-10", _TWO_V),
    _s("valve", 3, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5", "Open/close timing variations between domains"),
    _s("valve", 4, 1000, "200", "-9 ± 1.5", "200", "-9 ± 1.5",
       "No pump running in the source domain; water flowing in the target domain"),
    _s("valve", 5, 1000, "200", "-12 ± 1.5", "200", "-12 ± 1.5", _TWO_V),
)  # fmt: skip
SECTION_BY_KEY = {(s.machine, s.section): s for s in SECTION_TABLE}

#: Paper Table 2: anomalous conditions per machine type.
ANOMALY_CONDITIONS = {
    "fan": "Wing damage, unbalanced, clogging, and over voltage",
    "gearbox": "Gear damage, overload, over voltage, etc.",
    "pump": "Contamination, clogging, leakage, dry run, etc.",
    "slider": "Rail damage, loose belt, no grease, etc.",
    "valve": "Contamination",
}


def section_attributes(machine: str, section: int, domain: str) -> list[Attribute]:
    """Table 1 metadata of one clip: `section_snr_db` (of its domain), `domain_shift`, `part`-free."""
    info = SECTION_BY_KEY.get((machine, section))
    if info is None:
        return []
    snr = {"source": info.snr_source_db, "target": info.snr_target_db}.get(domain, "")
    out = [Attribute(name="domain_shift", value=info.domain_shift)]
    if snr:
        out.insert(0, Attribute(name="section_snr_db", value=snr))
    return out


def machine_dirs(root: Path) -> dict[tuple[str, str], Path]:
    """(part, machine) -> folder, over the accepted layouts; the same machine twice in one part is an error."""
    out: dict[tuple[str, str], Path] = {}
    for part in dc.PARTS:
        for machine, d in dc.machine_dirs(root, part).items():
            out[(part, machine)] = d
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name in MACHINES):
        if any(k[1] == d.name for k in out):
            raise LayoutError(f"{d.name} found both at the top level and under dev_data/eval_data", d)
        out[("", d.name)] = d
    return out


def scan(
    root: Path,
    machine: str | None = None,
    strict: bool = True,
    gt: dc.GroundTruth | None = None,
    report: dc.GroundTruthReport | None = None,
) -> dict[str, list[SourceFile]]:
    """Split name (`train`, `test`) -> files; the `part` attribute says dev (00-02) or eval (03-05).

    `gt` and `report` may be passed when the caller already loaded them (read once per build)."""
    dirs = machine_dirs(root)
    if not dirs:
        raise LayoutError(f"not a MIMII DUE tree: no machine folder ({', '.join(MACHINES)}) found", root)
    for (_, name), d in dirs.items():
        if name not in MACHINES:
            dc._fail(
                strict,
                LayoutError(f"{name!r} is not a MIMII DUE machine type (expected one of {MACHINES})", d),
            )
    gt = dc.load_ground_truth(root, YEAR) if gt is None else gt
    report = dc.compare_ground_truth(root, YEAR, gt) if report is None else report
    if report.disagreements:
        import warnings

        warnings.warn(report.summary(), stacklevel=2)
    splits: dict[str, list[SourceFile]] = {"train": [], "test": []}
    used: set[tuple[str, str]] = set()
    scanned: set[str] = set()
    for (part, name), mdir in dirs.items():
        if name not in MACHINES or (machine is not None and name != machine):
            continue
        files, used_gt, has_blind = dc.scan_machine(
            root,
            YEAR,
            part or "dev",
            name,
            mdir,
            gt,
            strict,
            corpus=CORPUS,
            extra_attributes=section_attributes,
        )
        used |= used_gt
        if has_blind:
            scanned.add(name)
        for f in files:
            sec = f.fields["section"]
            if sec not in SECTIONS:
                dc._fail(
                    strict, dc.ParseError(f"section {sec:02d} is not a MIMII DUE section (00-05)", f.path)
                )
            attrs = [a for a in f.fields["attributes"] if a["name"] != "part"]
            attrs.insert(
                1, {"name": "part", "value": "dev" if sec in DEV_SECTIONS else "eval", "file_token": ""}
            )
            f.fields["attributes"] = attrs
            splits[f.fields["origin_split"]].append(SourceFile(f.path, f.fields, SAMPLE_RATE, CHANNELS))
    dc.check_ground_truth_coverage(gt, scanned, used)
    return splits


#: The corpus facts (dinos.corpus.CorpusInfo): the one home of what MIMII DUE is.
INFO = CorpusInfo(
    name=CORPUS,
    pretty_name="MIMII DUE",
    description="MIMII DUE: malfunctioning industrial machine sounds under domain shifts (DCASE 2021 Task 2).",
    sample_rate=SAMPLE_RATE,
    channels=CHANNELS,
    license=LICENSE,
    license_id="other",
    homepage=HOMEPAGE,
    citations={"": CITATION},
    configs=(
        *(ConfigInfo(m, f"MIMII DUE {m}: sections 00-05, source and target domains.", ("train", "test"), YEAR, m)
          for m in MACHINES),
        ConfigInfo("all", "MIMII DUE, all five machine types.", ("train", "test"), YEAR),
    ),
    default_config="all",
    split_roles={"train": "train", "test": "test"},
    hub_configs=MACHINES,
    tags=("audio", "industrial", "machine-sound", "anomaly-detection", "domain-shift", "dcase"),
    size_category="10K<n<100K",
    synth_module="dinos.synth.mimii_due",
)


class MimiiDue(ClipBuilder):
    """Hugging Face builder for MIMII DUE (16 kHz mono, fan/gearbox/pump/slider/valve, sections 00-05)."""

    INFO = INFO
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = builder_configs({c.name: c.description for c in INFO.configs})
    DEFAULT_CONFIG_NAME = INFO.default_config

    ground_truth_report: dc.GroundTruthReport | None = None

    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        gt = dc.load_ground_truth(data_dir, YEAR)
        self.ground_truth_report = dc.compare_ground_truth(data_dir, YEAR, gt)
        machine = None if self.config.name == "all" else self.config.name
        return scan(data_dir, machine, strict=self.config.strict, gt=gt, report=self.ground_truth_report)


def markdown_table() -> str:
    """Table 1 as Markdown (for docs/dcase.md)."""
    lines = [
        "| machine | section | train src/tgt | test src | test tgt | SNR src dB | SNR tgt dB | domain shift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in SECTION_TABLE:
        lines.append(
            f"| {s.machine} | {s.section:02d} | {s.train_source}/{s.train_target} | {s.test_source} | "
            f"{s.test_target} | {s.snr_source_db} | {s.snr_target_db} | {s.domain_shift} |"
        )
    return "\n".join(lines)


def name_round_trips():
    """(value, parse(format(value))) pairs of the DCASE 2021 grammar MIMII DUE files use."""
    for s in SECTIONS:
        for domain in ("source", "target"):
            for split, label in (("train", "normal"), ("test", "normal"), ("test", "anomaly")):
                name = dc.format_dcase_name(YEAR, section=s, number=7, domain=domain, split=split, label=label)
                p = dc.parse_dcase_name(YEAR, name)
                yield (s, domain, split, label), (p.section, p.domain, p.origin_split, p.label)
