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

#: The paper's "Total" row of Table 1, as printed (train source, test source, train target, test target).
PAPER_TOTALS = {"train_source": 30122, "test_source": 6274, "train_target": 90, "test_target": 6182}
COUNT_FIELDS = ("train_source", "train_target", "test_source", "test_target")


@dataclass(frozen=True)
class KnownDiscrepancy:
    """A Table 1 figure that the published data does not match: a fact about the source, not the user's copy."""

    machine: str
    section: int
    field: str  # one of COUNT_FIELDS
    paper: str  # as Table 1 prints it ("normal/anomaly" for test counts)
    real: str  # what the published files hold
    evidence: str


#: Known differences between Table 1 and the published files (Table 1 itself is kept as printed).
KNOWN_DISCREPANCIES: tuple[KnownDiscrepancy, ...] = (
    KnownDiscrepancy("gearbox", 0, "test_source", "165/105", "195/105",
                     "two independent real file lists of the dev set agree on 195 normal / 105 anomaly"),
    KnownDiscrepancy("gearbox", 0, "test_target", "108/108", "96/108",
                     "two independent real file lists of the dev set agree on 96 normal / 108 anomaly"),
)  # fmt: skip
KNOWN_STATUS = "known discrepancy of the source"


@dataclass(frozen=True)
class CountCheck:
    """One Table 1 figure compared with a tree: `status` is `ok`, `differs` or `KNOWN_STATUS`."""

    machine: str
    section: int
    field: str
    paper: str
    found: str
    status: str
    note: str = ""


def paper_figure(info: SectionInfo, fld: str) -> str:
    """A Table 1 figure of one section as printed."""
    return str(getattr(info, fld))


def section_counts(rows) -> dict[tuple[str, int, str], str]:
    """(machine, section, field) -> count in Table 1's form, from rows with `machine`, `section`,
    `origin_split`, `domain`, `label` (dicts or objects; label names). Test counts are `normal/anomaly`
    when every test label is known, else the total."""
    tally: dict[tuple[str, int, str, str], int] = {}
    for r in rows:
        get = r.get if isinstance(r, dict) else lambda k, r=r: getattr(r, k)
        key = (get("machine"), int(get("section")), f"{get('origin_split')}_{get('domain')}", get("label"))
        tally[key] = tally.get(key, 0) + 1
    out: dict[tuple[str, int, str], str] = {}
    for m, sec, fld in sorted({k[:3] for k in tally}):
        by_label = {lab: n for (m2, s2, f2, lab), n in tally.items() if (m2, s2, f2) == (m, sec, fld)}
        if fld.startswith("test") and set(by_label) <= {"normal", "anomaly"}:
            out[(m, sec, fld)] = f"{by_label.get('normal', 0)}/{by_label.get('anomaly', 0)}"
        else:
            out[(m, sec, fld)] = str(sum(by_label.values()))
    return out


def _total(text: str) -> int:
    return sum(int(x) for x in text.split("/"))


def compare_counts(counts: dict[tuple[str, int, str], str]) -> list[CountCheck]:
    """Compare counts of a tree (`section_counts`) with Table 1, for the sections and fields present.

    A figure matching a `KNOWN_DISCREPANCIES` entry's real value is marked `KNOWN_STATUS` (the paper is
    wrong there, the data is not); where the paper gives only a total ("200"), totals are compared."""
    known = {(k.machine, k.section, k.field): k for k in KNOWN_DISCREPANCIES}
    out = []
    for (machine, section, fld), found in sorted(counts.items()):
        info = SECTION_BY_KEY.get((machine, section))
        if info is None or fld not in COUNT_FIELDS:
            continue
        paper = paper_figure(info, fld)
        same = found == paper if "/" in paper and "/" in found else _total(found) == _total(paper)
        k = known.get((machine, section, fld))
        if same:
            out.append(CountCheck(machine, section, fld, paper, found, "ok"))
        elif k is not None and (found == k.real or _total(found) == _total(k.real)):
            out.append(CountCheck(machine, section, fld, paper, found, KNOWN_STATUS, k.evidence))
        else:
            out.append(CountCheck(machine, section, fld, paper, found, "differs"))
    return out


def table_totals(real: bool = False) -> dict[str, int]:
    """Column sums of Table 1's per-section rows (to set beside `PAPER_TOTALS`, which differ); with
    `real`, the known real figures replace the paper's."""
    fix = {(k.machine, k.section, k.field): k.real for k in KNOWN_DISCREPANCIES} if real else {}
    return {
        f: sum(_total(fix.get((s.machine, s.section, f), paper_figure(s, f))) for s in SECTION_TABLE)
        for f in COUNT_FIELDS
    }


def known_issues() -> list[str]:
    """The card's "known issues" lines about Table 1 (derived from the records above)."""
    lines = [f"Table 1 gives {k.machine} section {k.section:02d} {k.field.replace('_', ' ')} as {k.paper} "
             f"(normal/anomaly); the published files hold {k.real} ({k.evidence}). `dinos` keeps Table 1 as "
             f"printed and reports this as a {KNOWN_STATUS}." for k in KNOWN_DISCREPANCIES]  # fmt: skip
    sums = table_totals()
    diff = [f"{f.replace('_', ' ')} {PAPER_TOTALS[f]} vs {sums[f]}" for f in COUNT_FIELDS if PAPER_TOTALS[f] != sums[f]]
    if diff:
        lines.append("Table 1's Total row disagrees with the sum of its per-section rows (printed vs summed): "
                     + "; ".join(diff) + ".")  # fmt: skip
        if table_totals(real=True) == PAPER_TOTALS:
            which = ", ".join(sorted({f"{k.machine} {k.section:02d}" for k in KNOWN_DISCREPANCIES}))
            lines[-1] += f" With the real {which} counts the rows sum to the printed totals."
    return lines


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


class MimiiPolicy(dc.ScanPolicy):
    """How MIMII DUE reads DCASE 2021 machine folders: its own machine types and sections 00-05 in any
    folder, the part from the section (00-02 dev, 03-05 eval), Table 1 SNR and domain shift per clip."""

    def __init__(self) -> None:
        super().__init__(dc.year_info(YEAR), corpus=CORPUS)

    @property
    def machines(self) -> tuple[str, ...]:
        return MACHINES

    def sections(self, part: str, machine: str) -> tuple[int, ...]:
        return SECTIONS

    def part_of(self, part: str, section: int) -> str:
        return "dev" if section in DEV_SECTIONS else "eval"

    def extra_attributes(self, machine: str, section: int, domain: str) -> list[Attribute]:
        return section_attributes(machine, section, domain)

    @property
    def channels(self) -> int:
        return CHANNELS

    @property
    def label(self) -> str:
        return "MIMII DUE"


POLICY = MimiiPolicy()


def scan(
    root: Path,
    machine: str | None = None,
    strict: bool = True,
    gt: dc.GroundTruth | None = None,
    report: dc.GroundTruthReport | None = None,
) -> dict[str, list[SourceFile]]:
    """Split name (`train`, `test`) -> files; `provenance.part` says dev (00-02) or eval (03-05).

    `gt` and `report` may be passed when the caller already loaded them (read once per build)."""
    dirs = machine_dirs(root)
    if not dirs:
        raise LayoutError(f"not a MIMII DUE tree: no machine folder ({', '.join(MACHINES)}) found", root)
    gt = dc.load_ground_truth(root, YEAR, strict) if gt is None else gt
    report = dc.compare_ground_truth(root, YEAR, gt) if report is None else report
    dirs = {(part or "dev", name): d for (part, name), d in dirs.items()}
    splits: dict[str, list[SourceFile]] = {"train": [], "test": []}
    for f in dc.scan_folders(root, POLICY, dirs, gt, report, machine=machine, strict=strict):
        splits[f.fields.origin_split].append(f)
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
    # MIMII DUE was released as the DCASE 2021 Task 2 data of these five machine types; the archives are
    # those records (Zenodo 4740355, the MIMII DUE record itself, could not be listed offline)
    archives=dc.archives_of(MACHINES, year=YEAR),
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
        gt = dc.load_ground_truth(data_dir, YEAR, strict=self.config.strict)
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
