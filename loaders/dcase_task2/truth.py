"""Ground truth over a data directory: the one collection of what blind and hidden-attribute files are.

`load_ground_truth` walks `data_dir` once and reads, with the pure readers of `csvs`, the evaluators'
`ground_truth_{data,domain,attributes}` files (2022 evaluator: also `ground_truth_attributes/<m>/
attributes_XX.csv`), the correspondence CSVs of hidden attributes and `eval_data_list_<year>.csv`.
`compare_ground_truth` reports where the evaluator and the eval list disagree (label/domain) and where
they only spell a name differently. The builder and `dinos score` both read ground truth through here.
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from dinos.errors import ParseError

from .csvs import (
    EvalListEntry,
    parse_attributes_csv,
    parse_correspondence_csv,
    parse_eval_data_list,
    parse_ground_truth_csv,
    parse_ground_truth_path,
    read_text,
)
from .names import NO_ATTRIBUTE, parse_dcase_name
from .years import PART_DIRS, PARTS, TEST, year_info


@dataclass
class Truth:
    """Evaluator facts about one eval test file (any field may be missing)."""

    label: str | None = None
    domain: str | None = None
    full_name: str | None = None
    sources: list[str] = field(default_factory=list)
    full_name_source: str = ""  # the evaluator file that gave `full_name`


@dataclass(frozen=True)
class Disagreement:
    """One field on which the evaluator and the eval list differ for one blind file."""

    machine: str
    file: str
    field: str  # label | domain | full_name (another clip) | name (same clip, spelled differently)
    evaluator: str
    eval_list: str


@dataclass
class GroundTruth:
    """Everything found under a data directory that says what blind or hidden files are."""

    year: int
    evaluator: dict[tuple[str, str], Truth] = field(default_factory=dict)  # (machine, name)
    eval_list: dict[tuple[str, str], EvalListEntry] = field(default_factory=dict)
    eval_list_path: str = ""
    #: (part or '', machine, split, distributed name) -> (full name, csv path)
    correspondence: dict[tuple[str, str, str, str], tuple[str, str]] = field(default_factory=dict)
    files: dict[tuple[str, str], list[str]] = field(
        default_factory=dict
    )  # (machine, name) -> GT files naming it
    ignored: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # unreadable files skipped under strict=False


@dataclass
class GroundTruthReport:
    """Where the evaluators' ground truth and the baseline's eval list disagree (evaluator wins).

    `disagreements`: label, domain or another full name; `naming_differences`: the same clip spelled
    differently (e.g. 2024 RoboticArm names with and without the `test` token), not a disagreement.
    Filled while scanning: `not_used` (full names withheld from a row because they contradict the row's
    label/domain) and `unresolved_hidden` (files whose hidden attributes no correspondence CSV resolves).
    """

    year: int
    n_evaluator: int
    n_eval_list: int
    n_compared: int
    disagreements: list[Disagreement]
    ignored: list[str]
    naming_differences: list[Disagreement] = field(default_factory=list)
    not_used: list[str] = field(default_factory=list)
    unresolved_hidden: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def n_files(self) -> int:
        return len({(d.machine, d.file) for d in self.disagreements})

    def summary(self, examples: int = 5) -> str:
        """One paragraph: disagreements (the evaluator is used), naming differences, withheld full names,
        unresolved hidden attributes."""
        if not self.disagreements:
            out = (f"DCASE {self.year}: evaluator ground truth and eval_data_list agree on label and domain of "
                   f"all {self.n_compared} files compared")  # fmt: skip
        else:
            ex = "; ".join(
                f"{d.machine}/{d.file} {d.field}: evaluator {d.evaluator!r} vs eval_data_list {d.eval_list!r}"
                for d in self.disagreements[:examples]
            )
            out = (
                f"DCASE {self.year}: evaluator ground truth and eval_data_list_{self.year}.csv disagree on "
                f"{self.n_files} of {self.n_compared} files ({len(self.disagreements)} fields); the evaluator "
                f"ground truth is used. First examples: {ex}"
            )
        if self.naming_differences:
            d = self.naming_differences[0]
            out += (f". {len(self.naming_differences)} file(s) have the same label and domain but a differently "
                    f"spelled full name (naming difference, not a disagreement), e.g. {d.machine}/{d.file}: "
                    f"evaluator {d.evaluator!r} vs eval_data_list {d.eval_list!r}")  # fmt: skip
        if self.not_used:
            out += (f". {len(self.not_used)} row(s) keep no full name and no attributes because every full "
                    f"name found contradicts their label/domain, e.g. {self.not_used[0]}")  # fmt: skip
        if self.refused:
            out += f". {len(self.refused)} unreadable ground-truth file(s) skipped (strict=False): {self.refused[0]}"
        if self.unresolved_hidden:
            out += (f". {len(self.unresolved_hidden)} file(s) keep hidden attributes (no correspondence CSV), "
                    f"e.g. {self.unresolved_hidden[0]}")  # fmt: skip
        return out

    @property
    def notable(self) -> bool:
        """Anything to warn about."""
        return bool(self.disagreements or self.naming_differences or self.not_used or self.unresolved_hidden
                    or self.refused)  # fmt: skip


_YEAR_DIR = re.compile(r"dcase(20\d\d)|(20\d\d)_?t(?:ask)?_?2", re.I)


def _other_year(rel: Path, year: int) -> bool:
    """The file belongs to another challenge year: its own name says so (`eval_data_list_<year>.csv`), or
    else the deepest folder naming a year does (`<baseline 2023 repo>/.../dcase2024t2/...` is 2024)."""
    m_list = _EVAL_LIST.match(rel.name)
    if m_list:
        return int(m_list["year"]) != year
    for part in reversed(rel.parts[:-1]):
        m = _YEAR_DIR.search(part)
        if m:
            return int(m.group(1) or m.group(2)) != year
    return False


def _csv_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        out.extend(Path(dirpath) / n for n in sorted(filenames) if n.lower().endswith(".csv"))
    return out


CORRESPONDENCE_NAME = re.compile(r"^attributes_(?P<sec>\d{2})_(?P<split>train|test)_correspondence\.csv$")
_EVAL_LIST = re.compile(r"^eval_data_list_(?P<year>\d{4})\.csv$")


_EVAL_ATTRS = re.compile(r"^attributes_(?P<sec>\d{2})\.csv$")


def _evaluator_attributes_csv(rel: Path) -> bool:
    """`ground_truth_attributes/<machine>/attributes_XX.csv` of the 2022 evaluator."""
    return bool(_EVAL_ATTRS.match(rel.name)) and len(rel.parts) >= 3 and rel.parts[-3] == "ground_truth_attributes"


def load_ground_truth(data_dir: str | os.PathLike, year: int, strict: bool = True) -> GroundTruth:
    """Collect evaluator ground truth, correspondence CSVs and `eval_data_list_<year>.csv` under `data_dir`.

    Files of another challenge year (see `_other_year`) are ignored and listed in `ignored`. An unreadable
    file is a `ParseError`; with `strict=False` it is skipped whole (nothing of it is used), with a
    warning, and listed in `refused`.
    """
    root = Path(data_dir)
    info = year_info(year)
    gt = GroundTruth(info.year)
    for path in _csv_files(root):
        rel = path.relative_to(root)
        m_list = _EVAL_LIST.match(path.name)
        gt_file = parse_ground_truth_path(path)
        m_corr = CORRESPONDENCE_NAME.match(path.name)
        eval_attrs = _evaluator_attributes_csv(rel)
        if not (m_list or gt_file or m_corr or eval_attrs):
            continue
        if _other_year(rel, info.year):
            gt.ignored.append(rel.as_posix())
            continue
        before = None if strict else copy.deepcopy(gt)
        try:
            if m_list:
                if gt.eval_list_path:
                    raise ParseError(f"two eval_data_list_{year}.csv files (the other is {gt.eval_list_path})", path)
                gt.eval_list = parse_eval_data_list(read_text(path), path, info.year)
                gt.eval_list_path = str(path)
            elif gt_file:
                _read_evaluator_file(gt, path, gt_file)
            elif eval_attrs:
                _read_evaluator_attributes(gt, path)
            else:
                _read_correspondence(gt, path, rel, m_corr["split"])
        except ParseError as exc:
            if before is None:
                raise
            gt = before
            gt.refused.append(f"{rel.as_posix()}: {exc}")
            warnings.warn(f"{exc} -- strict=False: this ground-truth file is not used", stacklevel=2)
    _check_unique_full_names(gt)
    return gt


def _machine_of(gt: GroundTruth, machine: str, path: Path, what: str) -> str:
    if machine not in year_info(gt.year).machines:
        raise ParseError(f"{what} for {machine!r}, not a DCASE {gt.year} machine type", path)
    return machine


def _truth(gt: GroundTruth, machine: str, name: str, section: int, path: Path) -> tuple[Truth, str]:
    """The evaluator record of one eval test file named in `path` (section checked against the file's)."""
    parsed = parse_dcase_name(gt.year, name, TEST, f"{path} ({name})")
    if parsed.section != section:
        raise ParseError(f"{name} is section {parsed.section:02d}, file is for {section:02d}", path)
    key = (machine, parsed.name)
    truth = gt.evaluator.setdefault(key, Truth())
    truth.sources.append(str(path))
    gt.files.setdefault(key, []).append(str(path))
    return truth, parsed.domain


def _read_evaluator_file(gt: GroundTruth, path: Path, gt_file) -> None:
    """One `ground_truth_{data,domain,attributes}` file of an evaluator."""
    machine = _machine_of(gt, gt_file.machine, path, "ground truth")
    for name, values in parse_ground_truth_csv(read_text(path), path, gt_file.kind).items():
        truth, name_domain = _truth(gt, machine, name, gt_file.section, path)
        if gt_file.domain and name_domain not in ("unknown", gt_file.domain):
            raise ParseError(f"{name} is {name_domain} data, file is for the {gt_file.domain} domain", path)
        if gt_file.kind in ("data", "data_by_domain"):
            _set(truth, "label", "anomaly" if values[0] == "1" else "normal", path, name)
            if gt_file.domain:
                _set(truth, "domain", gt_file.domain, path, name)
        elif gt_file.kind == "domain":
            _set(truth, "domain", "target" if values[0] == "1" else "source", path, name)
        else:
            where = f"{path} ({name})"
            fp = parse_dcase_name(gt.year, values[-1], TEST, where)
            _set(truth, "full_name", fp.name, path, name)
            truth.full_name_source = str(path)
            if len(values) == 2:  # 2024: <renamed noAttribute stem>,<full name>
                hidden = parse_dcase_name(gt.year, values[0], TEST, where).name
                gt.correspondence.setdefault(("eval", machine, TEST, hidden), (fp.name, str(path)))


def _read_evaluator_attributes(gt: GroundTruth, path: Path) -> None:
    """`ground_truth_attributes/<machine>/attributes_XX.csv` (2022 evaluator): blind name -> full name."""
    machine = _machine_of(gt, path.parent.name, path, "evaluator attributes CSV")
    section = int(_EVAL_ATTRS.match(path.name)["sec"])
    for row in parse_attributes_csv(read_text(path), path).values():
        head = Path(row.file_name.replace("\\", "/")).parts
        if len(head) > 1 and head[0] != machine:
            raise ParseError(f"row {row.file_name!r} names machine {head[0]!r}, CSV lies in {machine}/", path)
        if not row.full_name:
            raise ParseError(f"row {row.file_name!r} has no full-attribute file name", path)
        truth, _ = _truth(gt, machine, row.file_name, section, path)
        full = parse_dcase_name(gt.year, row.full_name, TEST, f"{path} ({row.file_name})")
        _set(truth, "full_name", full.name, path, row.file_name)
        truth.full_name_source = str(path)


def _read_correspondence(gt: GroundTruth, path: Path, rel: Path, split: str) -> None:
    """`attributes_XX_{train,test}_correspondence.csv`: distributed name -> full-attribute name."""
    machine = _machine_of(gt, path.parent.name, path, "correspondence CSV")
    part = next((p for p in PARTS if PART_DIRS[p] in rel.parts), "")
    for target, full in parse_correspondence_csv(read_text(path), path).items():
        key = (part, machine, split, target)
        if key in gt.correspondence and gt.correspondence[key][0] != full:
            raise ParseError(
                f"{target} maps to {full}, but {gt.correspondence[key][1]} maps it to {gt.correspondence[key][0]}",
                path,
            )
        gt.correspondence[key] = (full, str(path))


def _set(truth: Truth, attr: str, value: str, path, name: str) -> None:
    old = getattr(truth, attr)
    if old is not None and old != value:
        raise ParseError(f"{name}: {attr} {value!r} contradicts {old!r} from {truth.sources[:-1]}", path)
    setattr(truth, attr, value)


def _check_unique_full_names(gt: GroundTruth) -> None:
    seen: dict[tuple[str, str], str] = {}
    for (machine, name), truth in gt.evaluator.items():
        if truth.full_name:
            key = (machine, truth.full_name)
            if key in seen:
                raise ParseError(
                    f"{machine}/{name} and {machine}/{seen[key]} map to the same clip {truth.full_name}",
                    truth.sources[-1],
                )
            seen[key] = name


def resolve_full_name(
    gt: GroundTruth, machine: str, name: str, part: str = "eval", split: str = "test"
) -> str:
    """`name` with hidden attributes replaced by its full-attribute name where a correspondence CSV gives it."""
    for p in (part, ""):
        hit = gt.correspondence.get((p, machine, split, name))
        if hit:
            return hit[0]
    return name


def compare_ground_truth(
    data_dir: str | os.PathLike, year: int, gt: GroundTruth | None = None
) -> GroundTruthReport:
    """Compare the evaluators' ground truth with `eval_data_list_<year>.csv` file by file."""
    gt = gt or load_ground_truth(data_dir, year)
    dis: list[Disagreement] = []
    naming: list[Disagreement] = []
    compared = 0
    for key, entry in sorted(gt.eval_list.items()):
        truth = gt.evaluator.get(key)
        if truth is None:
            continue
        compared += 1
        full_domain = entry.domain if entry.domain != "unknown" else None
        for fld, ev, lv in (("label", truth.label, entry.label), ("domain", truth.domain, full_domain)):
            if ev is not None and lv is not None and ev != lv:
                dis.append(Disagreement(key[0], key[1], fld, ev, lv))
        listed = resolve_full_name(gt, key[0], entry.full_name)
        ours = resolve_full_name(gt, key[0], truth.full_name) if truth.full_name else None
        if ours and NO_ATTRIBUTE not in listed and ours != listed:
            same = _same_clip(gt.year, ours, listed)
            (naming if same else dis).append(
                Disagreement(key[0], key[1], "name" if same else "full_name", truth.full_name, entry.full_name)
            )
    report = GroundTruthReport(gt.year, len(gt.evaluator), len(gt.eval_list), compared, dis, list(gt.ignored))
    report.naming_differences = naming
    report.refused = list(gt.refused)
    return report


def _same_clip(year: int, a: str, b: str) -> bool:
    """Two full names that name the same clip: same section, domain, label, number and attributes
    (they differ only in spelling, e.g. a missing `test` token)."""
    try:
        pa, pb = (parse_dcase_name(year, n, TEST) for n in (a, b))
    except ParseError:
        return False
    fields = ("section", "domain", "label", "number", "attributes")
    return all(getattr(pa, f) == getattr(pb, f) for f in fields)


