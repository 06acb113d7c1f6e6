"""Tree scanning: machine folders -> `SourceFile`s, a thin loop around the pure `resolve`.

Corpora built on the DCASE grammar (DCASE Task 2, MIMII DUE) declare how they differ in a `ScanPolicy`
(corpus name, year, allowed sections, release part of a clip, extra attributes per clip) and share
`scan_folders`; `strict` problems go through `raise_or_warn`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dinos.builder import SourceFile
from dinos.errors import DinosError, LayoutError, ParseError
from dinos.schema import Attribute

from .csvs import AttributeRow, parse_attributes_csv, read_text
from .names import DcaseName, parse_dcase_name
from .resolve import Evidence, ResolvedFields, resolve
from .truth import (
    CORRESPONDENCE_NAME,
    GroundTruth,
    GroundTruthReport,
    compare_ground_truth,
    load_ground_truth,
    resolve_full_name,
)
from .years import CORPUS, PART_DIRS, PARTS, SAMPLE_RATE, YearInfo, year_info, years_matching


def raise_or_warn(strict: bool, exc: DinosError) -> None:
    """Raise `exc` when `strict`; otherwise warn with its message (the caller then goes on without the item)."""
    if strict:
        raise exc
    warnings.warn(f"{exc} -- strict=False: going on", stacklevel=3)


class ScanPolicy:
    """What a corpus on the DCASE grammar declares to the shared scanner (DCASE Task 2 defaults).

    `corpus`/`info`: the corpus name and the year whose grammar, folders and channel count apply.
    """

    def __init__(self, info: YearInfo, corpus: str = CORPUS) -> None:
        self.info = info
        self.corpus = corpus

    @property
    def machines(self) -> tuple[str, ...]:
        """The machine types of the corpus."""
        return self.info.machines

    def sections(self, part: str, machine: str) -> tuple[int, ...]:
        """The allowed sections of `machine` in `part` (`()`: any)."""
        return self.info.sections(part, machine)

    def part_of(self, part: str, section: int) -> str:
        """The release part a clip of `section` found under `part` belongs to."""
        return part

    def extra_attributes(self, machine: str, section: int, domain: str) -> list[Attribute]:
        """Corpus metadata added to each clip's attributes."""
        return []

    @property
    def channels(self) -> int:
        return self.info.channels

    @property
    def label(self) -> str:
        """How messages name the corpus (`DCASE 2023`, `MIMII DUE`)."""
        return f"DCASE {self.info.year}"


@dataclass
class MachineScan:
    files: list[SourceFile]
    used_gt: set[tuple[str, str]]
    has_blind: bool


def machine_dirs(root: Path, part: str) -> dict[str, Path]:
    """machine -> folder of one part (`dev_data/raw/<m>` or `dev_data/<m>`); both at once is an error."""
    base = root / PART_DIRS[part]
    out: dict[str, Path] = {}
    for cand in (base / "raw", base):
        if not cand.is_dir():
            continue
        for d in sorted(p for p in cand.iterdir() if p.is_dir()):
            if cand == base and d.name == "raw":
                continue
            if d.name in out:
                raise LayoutError(
                    f"machine folder found twice: {out[d.name]} and {d} (two copies of the same clips)", d
                )
            out[d.name] = d
    return out


def _wavs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".wav")


def attribute_rows(mdir: Path, machine: str) -> dict[str, tuple[AttributeRow, Path]]:
    """Rows of every `attributes_XX.csv` in a machine folder, by file stem (a stem listed twice is an error)."""
    out: dict[str, tuple[AttributeRow, Path]] = {}
    for path in sorted(mdir.glob("attributes_*.csv")):
        if CORRESPONDENCE_NAME.match(path.name):
            continue
        for stem, row in parse_attributes_csv(read_text(path), path).items():
            parts = PurePosixPath(row.file_name.replace("\\", "/")).parts
            if len(parts) > 1 and parts[0] != machine:
                raise ParseError(
                    f"row {row.file_name!r} names machine {parts[0]!r}, CSV lies in {machine}/", path
                )
            if stem in out:
                raise ParseError(f"{stem} also listed in {out[stem][1]}", path)
            out[stem] = (row, path)
    return out


def _evidence(gt: GroundTruth, machine: str, parsed: DcaseName, part: str, rows: dict) -> Evidence:
    """What the ground truth and the machine folder's attribute CSVs say about one file (lookups only)."""
    key = (machine, parsed.name)
    truth = gt.evaluator.get(key) if parsed.blind else None
    entry = gt.eval_list.get(key) if parsed.blind else None
    corr = resolve_full_name(gt, machine, parsed.name, part, parsed.origin_split)
    listed = resolve_full_name(gt, machine, entry.full_name, part) if entry is not None else None
    row = rows.get(parsed.name[:-4])
    if row is None:
        for full in (truth.full_name if truth else None, listed, corr if corr != parsed.name else None):
            if full and full[:-4] in rows:
                row = rows[full[:-4]]
                break
    return Evidence(
        evaluator_label=truth.label if truth else None,
        evaluator_domain=truth.domain if truth else None,
        evaluator_full_name=resolve_full_name(gt, machine, truth.full_name, part) if truth and truth.full_name
        else None,
        eval_list=entry,
        eval_list_full_name=listed,
        correspondence=corr if corr != parsed.name else None,
        attribute_row=row[0] if row else None,
    )  # fmt: skip


def _other_year_problem(policy: ScanPolicy, part: str, machine: str, mdir: Path, names: list[DcaseName]):
    """A LayoutError if the names show attributes hidden where the year shows them (or the reverse)."""
    hidden = sum(1 for n in names if n.hidden_attributes)
    visible = sum(1 for n in names if n.attributes)
    expected = policy.info.hides_attributes(machine)
    if (hidden and not expected) or (expected and visible and not hidden):
        says = "hide their attributes (noAttribute)" if hidden else "carry their attributes"
        other = [y for y in years_matching(part, machine, bool(hidden)) if y != policy.info.year]
        return LayoutError(
            f"{machine} names {says}, but {policy.label} {machine} names "
            f"{'hide' if expected else 'carry'} them: this folder looks like another year's data"
            + (f" (years that match: {', '.join(map(str, other))})" if other else ""),
            mdir,
        )
    return None


def _parse_folders(root: Path, policy: ScanPolicy, part: str, machine: str, mdir: Path, strict: bool):
    """(wav, parsed name or None where `strict=False` let a bad name through) of every data folder."""
    info = policy.info
    loose = _wavs(mdir)
    if loose:
        raise LayoutError("audio directly in the machine folder (expected train/ or test/ below it)", loose[0])
    out: list[tuple[Path, DcaseName | None]] = []
    for folder in sorted(p for p in mdir.iterdir() if p.is_dir()):
        wavs = _wavs(folder)
        if info.folder_split(folder.name) is None:
            if wavs or any(p.is_dir() for p in folder.iterdir()):
                raise_or_warn(strict, LayoutError(f"unknown data folder {folder.name!r} for {policy.label}", folder))
            continue
        for wav in wavs:
            rel = wav.relative_to(root).as_posix()
            try:
                parsed = parse_dcase_name(info.year, wav.name, folder.name, rel)
                _check_section(policy, part, machine, parsed, rel)
            except ParseError as exc:
                raise_or_warn(strict, exc)
                parsed = None
            out.append((wav, parsed))
    return out


def _unparsed(policy: ScanPolicy, part: str, wav: Path) -> tuple[DcaseName, ResolvedFields]:
    """The row of a file whose name did not parse (kept with unknown fields under `strict=False`)."""
    split = policy.info.folder_split(wav.parent.name)[0]
    parsed = DcaseName(policy.info.year, wav.name, -1, "unknown", "unknown", split, "")
    prov = {"year": policy.info.year, "part": part, "quirks": ("name not parsed",)}
    return parsed, ResolvedFields("unknown", "unknown", (), prov)


def _source_file(policy: ScanPolicy, machine: str, rel: str, parsed: DcaseName, resolved: ResolvedFields):
    fields = parsed.schema_fields(machine, policy.corpus)
    attrs = [*policy.extra_attributes(machine, parsed.section, resolved.domain), *resolved.extra_attributes,
             *resolved.attributes]  # fmt: skip
    fields.update(
        domain=resolved.domain,
        label=resolved.label,
        attributes=[a.model_dump() for a in attrs],
        provenance=resolved.provenance,
    )
    return SourceFile(rel, fields, SAMPLE_RATE, policy.channels)


def _note(report: GroundTruthReport | None, machine: str, rel: str, parsed: DcaseName, resolved: ResolvedFields):
    if report is not None:
        report.not_used += [f"{machine}/{parsed.name}: {w}" for w in resolved.withheld]
        if resolved.hidden_unresolved:
            report.unresolved_hidden.append(rel)


def scan_machine(
    root: Path,
    policy: ScanPolicy,
    part: str,
    machine: str,
    mdir: Path,
    gt: GroundTruth,
    strict: bool = True,
    report: GroundTruthReport | None = None,
) -> MachineScan:
    """Files of one machine folder of one part, the ground-truth keys they used and whether any is blind.

    The loop: parse the names, refuse another year's folder, then per file look up the evidence and
    `resolve` it (pure); `report` collects withheld full names and unresolved hidden attributes."""
    try:
        rows = attribute_rows(mdir, machine)
    except ParseError as exc:
        raise_or_warn(strict, exc)
        rows = {}
    parsed_files = _parse_folders(root, policy, part, machine, mdir, strict)
    problem = _other_year_problem(policy, part, machine, mdir, [p for _, p in parsed_files if p is not None])
    if problem is not None:
        raise_or_warn(strict, problem)
        return MachineScan([], set(), False)
    out = MachineScan([], set(), False)
    seen: dict[tuple[str, str], str] = {}
    used_rows: set[str] = set()
    for wav, parsed in parsed_files:
        rel = wav.relative_to(root).as_posix()
        if parsed is None:
            parsed, resolved = _unparsed(policy, part, wav)
        else:
            ev = _evidence(gt, machine, parsed, part, rows)
            resolved = resolve(policy.info, parsed, ev, part=policy.part_of(part, parsed.section), where=rel)
            used_rows.update([ev.attribute_row.file_name] if ev.attribute_row else [])
            out.has_blind |= parsed.blind
            if parsed.blind and ev.informative:
                out.used_gt.add((machine, parsed.name))
            _note(report, machine, rel, parsed, resolved)
        dup_key = (parsed.origin_split, parsed.name.lower())
        if dup_key in seen:
            raise ParseError(f"two files map to the same clip: {seen[dup_key]} and {rel}", rel)
        seen[dup_key] = rel
        out.files.append(_source_file(policy, machine, rel, parsed, resolved))
    unused = [r.file_name for r, _ in rows.values() if r.file_name not in used_rows]
    if unused:
        warnings.warn(
            f"{mdir.relative_to(root).as_posix()}: attributes CSV lists {len(unused)} file(s) not in the tree, "
            f"e.g. {unused[:3]}",
            stacklevel=2,
        )
    return out


def _check_section(policy: ScanPolicy, part: str, machine: str, parsed: DcaseName, rel: str) -> None:
    allowed = policy.sections(part, machine)
    if parsed.section >= 0 and allowed and parsed.section not in allowed:
        raise ParseError(
            f"section {parsed.section:02d} is not a {policy.label} {part} section of {machine} "
            f"(expected {', '.join(f'{s:02d}' for s in allowed)})",
            rel,
        )


def check_ground_truth_coverage(gt: GroundTruth, machines_scanned: set[str], used: set[tuple[str, str]]) -> None:
    """Every ground-truth row of a scanned machine must name a file in the tree."""
    missing = sorted(
        k for k in set(gt.evaluator) | set(gt.eval_list) if k[0] in machines_scanned and k not in used
    )
    if missing:
        src = gt.files.get(missing[0]) or [gt.eval_list_path]
        raise ParseError(
            f"ground truth names {len(missing)} eval test file(s) that are not in the tree, e.g. "
            f"{[f'{m}/{n}' for m, n in missing[:5]]}",
            src[0],
        )


def scan_folders(
    root: Path,
    policy: ScanPolicy,
    dirs: Mapping[tuple[str, str], Path],
    gt: GroundTruth,
    report: GroundTruthReport,
    *,
    machine: str | None = None,
    strict: bool = True,
) -> list[SourceFile]:
    """Files of every (part, machine) folder in `dirs` (an unknown machine type is a problem, then skipped);
    checks that the ground truth names no file missing from the tree."""
    used: set[tuple[str, str]] = set()
    scanned: set[str] = set()
    files: list[SourceFile] = []
    for (part, name), mdir in dirs.items():
        if name not in policy.machines:
            raise_or_warn(strict, LayoutError(
                f"{name!r} is not a {policy.label} machine type "
                f"(expected one of {list(policy.machines)})", mdir))  # fmt: skip
            continue
        if machine is not None and name != machine:
            continue
        got = scan_machine(root, policy, part, name, mdir, gt, strict, report)
        used |= got.used_gt
        if got.has_blind:
            scanned.add(name)
        files += got.files
    check_ground_truth_coverage(gt, scanned, used)
    if report.notable:
        warnings.warn(report.summary(), stacklevel=2)
    return files


def scan(
    root: Path,
    year: int,
    machine: str | None = None,
    strict: bool = True,
    gt: GroundTruth | None = None,
    report: GroundTruthReport | None = None,
) -> dict[str, list[SourceFile]]:
    """Split name (`dev_train`, `dev_test`, `dev_supplemental`, `eval_train`, `eval_test`) -> files.

    `gt` and `report` may be passed when the caller already loaded them (read once per build); the scan
    adds withheld full names and unresolved hidden attributes to `report`."""
    info = year_info(year)
    found = {part: machine_dirs(root, part) for part in PARTS}
    if not any(found.values()):
        raise LayoutError(
            f"not a DCASE tree: no {PART_DIRS['dev']}/ or {PART_DIRS['eval']}/ machine folders", root
        )
    gt = load_ground_truth(root, info.year, strict) if gt is None else gt
    report = compare_ground_truth(root, info.year, gt) if report is None else report
    dirs = {(part, name): d for part in PARTS for name, d in found[part].items()}
    splits: dict[str, list[SourceFile]] = {}
    for f in scan_folders(root, ScanPolicy(info), dirs, gt, report, machine=machine, strict=strict):
        splits.setdefault(f"{f.fields.provenance.part}_{f.fields.origin_split}", []).append(f)
    return splits
