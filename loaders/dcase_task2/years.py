"""The per-year facts of DCASE Task 2: one `YearInfo` per challenge year, the single home of them.

Every other module (name grammar, CSV readers, ground truth, scanning, builder, synthetic trees, card,
metrics) asks the year object; none of them branches on a year number. Sources: the baseline's
`datasets/machine_type_*.yaml`, the evaluators and real file lists (`real-samples/meta/NOTES.md`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from dinos.errors import ParseError

from . import bibtex

CORPUS = "dcase_task2"
SAMPLE_RATE = 16_000
PARTS = ("dev", "eval")
PART_DIRS = {"dev": "dev_data", "eval": "eval_data"}
#: Origin splits of the schema this corpus uses; a builder split is `<part>_<origin split>`.
TRAIN, TEST, SUPPLEMENTAL = "train", "test", "supplemental"
#: Submission file kinds (anomaly scores, decisions), as the evaluators name them.
SUBMISSION_KINDS = ("anomaly_score", "decision_result")

HOMEPAGE = "https://dcase.community/challenge2025/task-first-shot-unsupervised-anomalous-sound-detection-for-machine-condition-monitoring"
LICENSE = "CC BY-NC-SA 4.0 (as stated for the 2020, 2023 and 2026 data; unverified for other years)"

#: Name grammars: `id` (2020 `[label_]id_SS_NNNNNNNN`), `section_domain` (2021: blind eval names keep
#: the domain, `section_SS_<domain>_test_NNNN`), `section` (2022+: blind `section_SS_NNNN`).
GRAMMARS = ("id", "section_domain", "section")


class CardNotes(NamedTuple):
    """The dataset card's words on one year: audio format, file names, official score (a tuple, so
    `audio, names, score = year_info(y).notes`)."""

    audio: str
    names: str
    scoring: str


@dataclass(frozen=True)
class YearInfo:
    """Every fact of one challenge year.

    `dev`/`eval`: machine type -> sections. `test_folders`: test folder -> the domain it fixes (None: the
    name says). `supplemental_folder`: '' before 2025. `hidden_attributes`: machine types whose published
    names say `noAttribute`. `scoring`: the name of the scoring scheme in `dinos/metrics/schemes.py`
    (`2020`; `2021`; `2022`; `2023`: the 2022 protocol plus the evaluators' paper-table means, 2023+).
    `submission_template`: the official result-file name (`{kind}`, `{machine}`, `{section}`, `{domain}`).
    """

    year: int
    dev: Mapping[str, tuple[int, ...]]
    eval: Mapping[str, tuple[int, ...]]
    notes: CardNotes
    citation: str
    channels: int = 1
    hidden_attributes: frozenset[str] = frozenset()
    section_keyword: str = "section"
    grammar: str = "section"
    zenodo: Mapping[str, str] = field(default_factory=dict)
    test_folders: Mapping[str, str | None] = field(default_factory=lambda: {TEST: None})
    supplemental_folder: str = ""
    supplemental_parts: tuple[str, ...] = ()
    #: names without the train/test token are known to exist (2024 RoboticArm) and are read with a quirk
    names_without_split_token: bool = False
    domains: tuple[str, ...] = ("source", "target")
    test_name_attributes: bool = True  # 2021 test names carry no attribute tail
    attribute_csvs: bool = True  # `<machine>/attributes_XX.csv` next to the audio (2022+)
    eval_list_label_column: bool = False  # 2020 eval list rows end with the label (0/1)
    eval_test_published: bool = True
    evaluator_ground_truth_public: bool = True  # the 2020 evaluator ships no ground-truth files
    ground_truth_per_domain: bool = False  # 2021: ground_truth_<m>_section_SS_<domain>_test.csv
    #: 2022: the evaluator's attributes are `ground_truth_attributes/<m>/attributes_SS.csv` (full name last)
    evaluator_attribute_csvs: bool = False
    #: 2024: eval_data_list's second column is the `noAttribute` name for hidden-attribute machines
    eval_list_hides_attributes: bool = False
    #: 2025+: test correspondence CSVs map full names to the blind eval names (2024: to `noAttribute` names)
    test_correspondence_to_blind: bool = False
    scoring: str = "2022"
    submission_template: str = "{kind}_{machine}_section_{section:02d}_test.csv"

    # -- derived views -----------------------------------------------------------------------
    @property
    def machines(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*self.dev, *self.eval]))

    def part_machines(self, part: str) -> Mapping[str, tuple[int, ...]]:
        """machine -> sections of one part (`dev` or `eval`)."""
        return self.dev if part == "dev" else self.eval

    def sections(self, part: str, machine: str) -> tuple[int, ...]:
        return self.part_machines(part).get(machine, ())

    def folder_split(self, folder: str) -> tuple[str, str | None] | None:
        """(origin split, domain fixed by the folder or None) of a folder under `<machine>/`; None if unknown."""
        if folder == TRAIN:
            return TRAIN, None
        if self.supplemental_folder and folder == self.supplemental_folder:
            return SUPPLEMENTAL, None
        if folder in self.test_folders:
            return TEST, self.test_folders[folder]
        return None

    @property
    def folders(self) -> tuple[str, ...]:
        """Every data folder under `<machine>/` this year knows."""
        return (TRAIN, *self.test_folders, *((self.supplemental_folder,) if self.supplemental_folder else ()))

    def test_folder(self, domain: str) -> str:
        """The folder test files of `domain` lie in (2021: `<domain>_test`; otherwise `test`)."""
        return next((f for f, d in self.test_folders.items() if d == domain), TEST)

    def splits(self, part: str) -> tuple[str, ...]:
        """The builder splits a full copy of `part` yields (`dev_train`, `dev_test`, `dev_supplemental`, ...)."""
        out = [f"{part}_{TRAIN}", f"{part}_{TEST}"]
        if self.supplemental_folder and part in self.supplemental_parts:
            out.append(f"{part}_{SUPPLEMENTAL}")
        return tuple(out)

    def hides_attributes(self, machine: str) -> bool:
        return machine in self.hidden_attributes

    @property
    def per_domain_submissions(self) -> bool:
        return "{domain}" in self.submission_template

    def submission_file_name(
        self, machine: str, section: int, domain: str | None = None, kind: str = "anomaly_score"
    ) -> str:
        """The official result-file name (2020 `<kind>_<m>_id_SS.csv`, 2021 per domain
        `<kind>_<m>_section_SS_<domain>_test.csv`, 2022+ `<kind>_<m>_section_SS_test.csv`)."""
        if kind not in SUBMISSION_KINDS:
            raise ParseError(f"kind must be one of {SUBMISSION_KINDS}; got {kind!r}")
        if self.per_domain_submissions and domain not in self.domains:
            raise ParseError(f"{self.year} submission files are per domain; got domain={domain!r}")
        return self.submission_template.format(kind=kind, machine=machine, section=int(section), domain=domain)


def _same(machines: tuple[str, ...], sections: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return {m: sections for m in machines}


_MIMII4 = ("fan", "pump", "slider", "valve")
_DEV_7 = ("ToyCar", "ToyTrain", "bearing", "fan", "gearbox", "slider", "valve")
_M2021 = ("ToyCar", "ToyTrain", "fan", "gearbox", "pump", "slider", "valve")
_AUDIO = "16 kHz mono 16-bit"
_AS_2022 = "as 2022"
_SUPPLEMENTAL = {"supplemental_folder": SUPPLEMENTAL, "supplemental_parts": ("dev",)}

#: Per-year machine types, sections and conventions (baseline machine_type_*.yaml; real-samples/meta/NOTES.md).
YEAR_TABLE: dict[int, YearInfo] = {
    2020: YearInfo(
        2020,
        dev={**_same(_MIMII4, (0, 2, 4, 6)), "ToyCar": (1, 2, 3, 4), "ToyConveyor": (1, 2, 3)},
        eval={**_same(_MIMII4, (1, 3, 5)), "ToyCar": (5, 6, 7), "ToyConveyor": (4, 5, 6)},
        notes=CardNotes(f"{_AUDIO}; MIMII-derived 10 s, ToyCar 11 s",
                        "`normal_id_01_00000000.wav`; blind eval `id_05_00000000.wav`",
                        "AUC and pAUC per machine ID; arithmetic mean per machine type"),
        citation=bibtex.BIB_2020,
        section_keyword="id",
        grammar="id",
        domains=("source",),
        evaluator_ground_truth_public=False,
        attribute_csvs=False,
        eval_list_label_column=True,
        scoring="2020",
        submission_template="{kind}_{machine}_id_{section:02d}.csv",
        zenodo={"dev": "3678171", "add": "3727685", "eval": "3841772"},
    ),
    2021: YearInfo(
        2021,
        dev=_same(_M2021, (0, 1, 2)),
        eval=_same(_M2021, (3, 4, 5)),
        notes=CardNotes(f"{_AUDIO}, 10 s",
                        "`section_00_source_train_normal_0000_<attrs>.wav`; dev test "
                        "`section_00_<domain>_test_<label>_0000.wav`; blind eval `section_03_source_test_0000.wav`",
                        "AUC and pAUC per section and domain; harmonic mean of all"),
        citation=bibtex.BIB_2021,
        grammar="section_domain",
        test_folders={TEST: None, "source_test": "source", "target_test": "target"},
        test_name_attributes=False,
        attribute_csvs=False,
        ground_truth_per_domain=True,
        scoring="2021",
        submission_template="{kind}_{machine}_section_{section:02d}_{domain}_test.csv",
        zenodo={"dev": "4562016", "add": "4660992", "eval": "4884786"},
    ),
    2022: YearInfo(
        2022,
        dev=_same(_DEV_7, (0, 1, 2)),
        eval=_same(_DEV_7, (3, 4, 5)),
        notes=CardNotes(f"{_AUDIO}, 10 s",
                        "`section_SS_<domain>_<train|test>_<label>_NNNN_<key>_<value>...wav`; blind eval "
                        "`section_03_0000.wav`",
                        "harmonic mean of AUC(source), AUC(target), pAUC"),
        citation=bibtex.BIB_2022,
        evaluator_attribute_csvs=True,
        zenodo={"dev": "6355122", "add": "6462969", "eval": "6586456"},
    ),
    2023: YearInfo(
        2023,
        dev=_same(_DEV_7, (0,)),
        eval=_same(("ToyDrone", "ToyNscale", "ToyTank", "Vacuum", "bandsaw", "grinder", "shaker"), (0,)),
        notes=CardNotes(_AUDIO, "as 2022; blind eval `section_00_NNNN.wav`", _AS_2022),
        citation=bibtex.BIB_2023,
        scoring="2023",
        zenodo={"dev": "7882613", "add": "7830345", "eval": "7860847"},
    ),
    2024: YearInfo(
        2024,
        dev=_same(_DEV_7, (0,)),
        eval=_same(("3DPrinter", "AirCompressor", "Scanner", "ToyCircuit", "HoveringDrone", "HairDryer",
                    "ToothBrush", "RoboticArm", "BrushlessMotor"), (0,)),
        notes=CardNotes(_AUDIO, "as 2023; hidden attributes `_noAttribute` + `*_correspondence.csv`", _AS_2022),
        citation=bibtex.BIB_2024,
        scoring="2023",
        hidden_attributes=frozenset({"gearbox", "slider", "ToyTrain", "AirCompressor", "BrushlessMotor",
                                     "HoveringDrone", "ToothBrush"}),
        names_without_split_token=True,
        eval_list_hides_attributes=True,
        zenodo={"dev": "10902294", "add": "11259435", "eval": "11363076"},
    ),
    2025: YearInfo(
        2025,
        dev=_same(_DEV_7, (0,)),
        eval=_same(("ToyRCCar", "ToyPet", "HomeCamera", "AutoTrash", "Polisher", "ScrewFeeder", "BandSealer",
                    "CoffeeGrinder"), (0,)),
        notes=CardNotes(_AUDIO, "as 2024; `supplemental/` (`section_00_noise_NNNN_...`, "
                        "`section_00_machine_source_NNNN_...`)", _AS_2022),
        citation=bibtex.BIB_2025,
        scoring="2023 (assumed for 2025)",  # no 2025 evaluator was reachable: unverified
        hidden_attributes=frozenset({"bearing", "slider", "ToyTrain", "AutoTrash", "Polisher", "ScrewFeeder",
                                     "ToyPet"}),
        names_without_split_token=True,
        test_correspondence_to_blind=True,
        zenodo={"dev": "15097779", "add": "15392814", "eval": "15519362"},
        **_SUPPLEMENTAL,
    ),
    2026: YearInfo(
        2026,
        dev=_same(("ToyCarEmu", "ToyCar", "bearingEmu", "fan", "gearboxEmu", "sliderEmu", "valveEmu"), (0,)),
        eval=_same(("ToyDrone", "ToothBrush", "SewingMachine", "BlowerDustCollector", "Sander"), (0,)),
        notes=CardNotes("16 kHz, two channels (channel 0 = near microphone)", "as 2025", _AS_2022),
        citation=bibtex.BIB_2026,
        scoring="2023",
        channels=2,
        # real 2026 names say `noAttribute` for these six (6,800 rows of the published file lists)
        hidden_attributes=frozenset({"ToyCar", "bearingEmu", "sliderEmu", "valveEmu", "SewingMachine",
                                     "ToothBrush"}),
        names_without_split_token=True,
        test_correspondence_to_blind=True,
        eval_test_published=False,
        zenodo={"dev": "19336329", "add": "20151556"},
        **_SUPPLEMENTAL,
    ),
}  # fmt: skip
YEARS = tuple(sorted(YEAR_TABLE))
#: First year with a supplemental folder (derived from the table; kept for callers of the old module).
SUPPLEMENTAL_FROM = min(y for y, i in YEAR_TABLE.items() if i.supplemental_folder)

#: BibTeX per key: '' = the source datasets, else the year's task description (built from YEAR_TABLE).
CITATIONS: dict[str, str] = {"": bibtex.SOURCES, **{str(y): i.citation for y, i in YEAR_TABLE.items()}}


def year_info(year: int | str) -> YearInfo:
    """The `YearInfo` of `year` (int or string); `ParseError` naming the supported years otherwise."""
    try:
        return YEAR_TABLE[int(year)]
    except (KeyError, ValueError, TypeError):
        raise ParseError(f"unsupported DCASE Task 2 year {year!r} (supported: {list(YEARS)})") from None


def folder_split(year: int, folder: str) -> tuple[str, str | None] | None:
    """(origin_split, domain fixed by the folder or None) for a folder under `<machine>/`; None if unknown."""
    return year_info(year).folder_split(folder)


def years_matching(part: str, machine: str, hidden: bool) -> tuple[int, ...]:
    """The years whose `part` has `machine` with its attributes hidden (`hidden`) or visible."""
    return tuple(
        y for y, i in YEAR_TABLE.items() if machine in i.part_machines(part) and i.hides_attributes(machine) == hidden
    )
