"""The `DcaseTask2` builder, its configs and `INFO` (the corpus facts), and the generated doc tables."""

from __future__ import annotations

from pathlib import Path

import datasets

from dinos.builder import ClipBuilder, SourceFile, builder_configs
from dinos.corpus import ConfigInfo, CorpusInfo
from dinos.errors import DinosError, ParseError

from .archives import ARCHIVES
from .names import format_dcase_name, parse_dcase_name
from .scan import machine_dirs, scan
from .truth import GroundTruthReport, compare_ground_truth, load_ground_truth
from .years import (
    CITATIONS,
    CORPUS,
    HOMEPAGE,
    LICENSE,
    PART_DIRS,
    PARTS,
    SAMPLE_RATE,
    SUPPLEMENTAL,
    TEST,
    TRAIN,
    YEAR_TABLE,
    YEARS,
    year_info,
)  # fmt: skip


def config_names() -> list[str]:
    """Every builder config: `<year>-<machine>` and `<year>-all`."""
    return [f"{y}-{m}" for y in YEARS for m in (*YEAR_TABLE[y].machines, "all")]


def parse_config_name(name: str) -> tuple[int, str | None]:
    """(year, machine or None for `all`) of a config name; `ParseError` for an unknown one."""
    year, _, machine = name.partition("-")
    info = year_info(year)
    if machine != "all" and machine not in info.machines:
        raise ParseError(f"unknown config {name!r}: {machine!r} is not a DCASE {info.year} machine type")
    return info.year, None if machine == "all" else machine


def _describe(year: int, machine: str | None) -> str:
    info = YEAR_TABLE[year]
    if machine is None:
        return f"DCASE {year} Task 2, every machine type ({', '.join(info.machines)})."
    parts = [p for p in PARTS if machine in info.part_machines(p)]
    return (f"DCASE {year} Task 2 {machine} ({' and '.join(parts)} data; {info.channels} channel(s), "
            f"{SAMPLE_RATE // 1000} kHz).")  # fmt: skip


def _config_splits(year: int, machine: str | None) -> tuple[str, ...]:
    """The splits a full copy of the release yields for `<year>-<machine|all>`."""
    info = YEAR_TABLE[year]
    out: list[str] = []
    for part in PARTS:
        machines = info.part_machines(part)
        if (machine is None and machines) or machine in machines:
            out += info.splits(part)
    return tuple(out)


def _configs() -> tuple[ConfigInfo, ...]:
    out = []
    for n in config_names():
        year, machine = parse_config_name(n)
        out.append(ConfigInfo(n, _describe(year, machine), _config_splits(year, machine), year, machine))
    return tuple(out)


#: The corpus facts (dinos.corpus.CorpusInfo): the one home of what DCASE Task 2 is.
INFO = CorpusInfo(
    name=CORPUS,
    pretty_name="DCASE Challenge Task 2 (2020-2026)",
    description="DCASE Challenge Task 2 (2020-2026): machine sounds for unsupervised anomalous sound detection.",
    sample_rate=SAMPLE_RATE,
    channels=None,  # per year: YearInfo.channels
    license=LICENSE,
    license_id="cc-by-nc-sa-4.0",
    homepage=HOMEPAGE,
    citations=CITATIONS,
    configs=_configs(),
    default_config="2025-all",
    split_roles={
        f"dev_{TRAIN}": "train", f"eval_{TRAIN}": "train", f"dev_{TEST}": "test", f"eval_{TEST}": "test",
        f"dev_{SUPPLEMENTAL}": "supplemental",
    },
    hub_configs=tuple(n for n in config_names() if n.endswith("-all")),
    tags=("audio", "industrial", "machine-sound", "anomaly-detection", "domain-shift", "dcase"),
    size_category="100K<n<1M",
    archives=ARCHIVES,
    synth_module="dinos.synth.dcase",
)  # fmt: skip


class DcaseTask2(ClipBuilder):
    """Hugging Face builder for DCASE Task 2 2020-2026 over the baseline's folder layout.

    After `scan`, `ground_truth_report` says where the evaluator and the eval list disagree, which full
    names were withheld from rows and which hidden attributes stayed unresolved."""

    INFO = INFO
    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIGS = builder_configs({c.name: c.description for c in INFO.configs})
    DEFAULT_CONFIG_NAME = INFO.default_config

    ground_truth_report: GroundTruthReport | None = None

    @classmethod
    def configs_for_tree(cls, data_dir: Path) -> list[str]:
        """The `<year>-all` configs whose machine types cover every machine folder of the tree at
        `data_dir` (dev and eval parts checked separately) and whose file-name grammar reads one file
        of each machine folder; [] when none fits (or the tree has no machine folder)."""
        found = {}
        for part in PART_DIRS:
            try:
                found[part] = set(machine_dirs(data_dir, part))
            except DinosError:
                return []
        if not any(found.values()):
            return []
        samples = []  # one file name per machine folder: the years' name grammars tell them apart
        for part in PART_DIRS:
            for mdir in machine_dirs(data_dir, part).values():
                wav = next((w for w in sorted(mdir.glob("*/*.wav"))), None)
                if wav is not None:
                    samples.append((wav.name, wav.parent.name))

        def names_parse(year: int) -> bool:
            try:  # the names, then the ground-truth files a build of that year would read
                return all(parse_dcase_name(year, name, folder) for name, folder in samples) and (
                    load_ground_truth(data_dir, year) is not None)
            except DinosError:
                return False

        return [f"{y}-all" for y, info in YEAR_TABLE.items()
                if all(ms <= set(info.part_machines(part)) for part, ms in found.items()) and names_parse(y)]

    def scan(self, data_dir: Path) -> dict[str, list[SourceFile]]:
        year, machine = parse_config_name(self.config.name)
        gt = load_ground_truth(data_dir, year, strict=self.config.strict)
        self.ground_truth_report = compare_ground_truth(data_dir, year, gt)
        return scan(data_dir, year, machine, strict=self.config.strict, gt=gt, report=self.ground_truth_report)


def markdown_tables() -> str:
    """The supported years, machine types, sections and configs as Markdown (pasted into docs/dcase.md)."""
    lines = [
        "| year | part | machine types (sections) | channels | hidden attributes |",
        "|---|---|---|---|---|",
    ]
    for y in YEARS:
        info = YEAR_TABLE[y]
        for part in PARTS:
            table = info.part_machines(part)
            ms = ", ".join(f"{m} ({' '.join(f'{s:02d}' for s in secs)})" for m, secs in table.items())
            hidden = ", ".join(sorted(m for m in info.hidden_attributes if m in table)) or "-"
            lines.append(f"| {y} | {part} | {ms} | {info.channels} | {hidden} |")
    lines += ["", 'Configs (`dinos.load_dataset("dcase_task2", NAME, data_dir=...)`):', ""]
    for y in YEARS:
        lines.append(f"- {y}: " + ", ".join(f"`{y}-{m}`" for m in (*YEAR_TABLE[y].machines, "all")))
    return "\n".join(lines)


def name_round_trips():
    """(value, parse(format(value))) pairs of every year's file-name grammar (labelled and blind)."""
    for year in YEARS:
        info = YEAR_TABLE[year]
        for part in PARTS:
            for machine in info.machines:
                for s in info.sections(part, machine)[:1]:
                    yield from _round_trips(info, s)


def _round_trips(info, s: int):
    for domain, split, label in (("source", TRAIN, "normal"), ("target", TEST, "anomaly")):
        if domain not in info.domains:
            continue
        attrs = () if info.grammar == "id" else (("speed", "12"), ("mic", "1"))  # 2020 names carry none
        name = format_dcase_name(info.year, section=s, number=3, domain=domain, split=split, label=label,
                                 attributes=attrs)  # fmt: skip
        p = parse_dcase_name(info.year, name, split)
        got = (p.section, p.domain, p.origin_split, p.label, tuple((a.name, a.value) for a in p.attributes))
        yield (s, domain, split, label, attrs), got
    blind = format_dcase_name(info.year, section=s, number=4, domain="source", blind=True)
    p = parse_dcase_name(info.year, blind, TEST)
    yield (s, TEST, True), (p.section, p.origin_split, p.blind)
