"""The DCASE Task 2 CSV readers, pure (text in, typed rows out; `ParseError` naming the file and line):

- `parse_attributes_csv`: `attributes_XX.csv` of the datasets and of the 2022 evaluator;
- `parse_ground_truth_path` / `parse_ground_truth_csv`: the evaluators' `ground_truth_*` files;
- `parse_correspondence_csv`: `attributes_XX_{train,test}_correspondence.csv` (hidden attributes);
- `parse_eval_data_list`: the baseline's `eval_data_list_<year>.csv`.

These are the one set of readers: the builder and `dinos score` both use them.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dinos.errors import ParseError
from dinos.paths import check_relative
from dinos.schema import Attribute

from .names import RAW_ATTRIBUTES, parse_dcase_name, split_name
from .years import TEST, year_info


def _rows(text: str, path) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as exc:
        raise ParseError(f"unreadable CSV ({exc})", path) from None
    return [[c.strip() for c in r] for r in rows if r and any(c.strip() for c in r)]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParseError("CSV is not UTF-8 text", path) from None
    except OSError as exc:
        raise ParseError(f"cannot read ({exc.strerror})", path) from None


@dataclass(frozen=True)
class AttributeRow:
    """One `attributes_XX.csv` row: the name as listed, its (name, value) pairs, optional full name."""

    file_name: str
    pairs: tuple[tuple[str, str], ...]
    full_name: str = ""


#: Last header column of the 2022 evaluator's attribute CSVs: the row's full-attribute name (both spellings are real).
FULL_NAME_COLUMNS = ("file_name_with_full_attributes", "file_name_with_attributes")


def _names_file(cell: str) -> bool:
    """A cell names a file (not empty, not a folder ending in a separator)."""
    return bool(cell) and not cell.endswith(("/", "\\")) and cell not in (".", "..")


def parse_attributes_csv(text: str, path) -> dict[str, AttributeRow]:
    """`attributes_XX.csv` -> file stem -> row. `file_name` may be `<m>/<split>/<name>.wav` or a bare stem.

    Header `file_name,d1p,d1v[,d2p,d2v...]`, optionally ending with the full-name column of the 2022
    evaluator (`file_name_with_full_attributes` or `file_name_with_attributes`). A row may omit trailing
    attribute pairs; with a full-name column it may also stop after fewer pairs and end with the full name
    (real 2022 valve `attributes_05.csv`). Values are kept exactly as written. Missing columns, half pairs,
    rows naming a folder (no file name) and duplicate names are `ParseError`s.
    """
    rows = _rows(text, path)
    if not rows:
        raise ParseError("empty attributes CSV (expected header file_name,d1p,d1v,...)", path)
    header = rows[0]
    if not header or header[0] != "file_name":
        raise ParseError(f"attributes CSV header must start with file_name, found {header[:3]}", path)
    cols = header[1:]
    has_full = bool(cols) and cols[-1] in FULL_NAME_COLUMNS
    if has_full:
        cols = cols[:-1]
    if not cols or len(cols) % 2:
        raise ParseError(f"attributes CSV needs d<i>p,d<i>v column pairs, header is {header}", path)
    for i in range(len(cols) // 2):
        if cols[2 * i] != f"d{i + 1}p" or cols[2 * i + 1] != f"d{i + 1}v":
            raise ParseError(
                f"attributes CSV column {2 * i + 2} must be d{i + 1}p/d{i + 1}v, header is {header}", path
            )
    out: dict[str, AttributeRow] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        where = f"{path} line {lineno}"
        if not _names_file(row[0]):
            raise ParseError(f"line {lineno}: {row[0]!r} names no file (a folder or an empty cell)", path)
        check_relative(row[0], source=where)
        full = ""
        cells = row[1:]
        if has_full and len(row) == len(header):
            full, cells = cells[-1], cells[:-1]
        elif has_full and len(cells) % 2 == 1 and cells[-1].lower().endswith(".wav"):
            full, cells = cells[-1], cells[:-1]  # fewer pairs, then the full name
        if len(cells) > len(cols) or len(cells) % 2:
            # rows may omit trailing attribute pairs, never half a pair (a name without its value)
            raise ParseError(f"line {lineno} has {len(row)} fields, header has {len(header)}", path)
        if full:
            if not _names_file(full):
                raise ParseError(f"line {lineno}: full name {full!r} names no file", path)
            check_relative(full, source=where)
        pairs = []
        for k, v in zip(cells[0::2], cells[1::2], strict=True):
            if not k and not v:
                continue
            if not k:
                raise ParseError(f"line {lineno}: value {v!r} without an attribute name", path)
            pairs.append((k, v))
        stem, _, _ = split_name(row[0], None)
        if stem in out:
            raise ParseError(f"line {lineno}: {row[0]!r} listed twice", path)
        out[stem] = AttributeRow(row[0], tuple(pairs), full)
    return out


def merge_attributes(
    csv_pairs: tuple[tuple[str, str], ...], name_attrs: tuple[Attribute, ...]
) -> tuple[Attribute, ...]:
    """CSV attributes (authoritative spelling) with the file-name `<key>_<value>` token where it differs.

    CSV pairs are matched to file-name pairs by key, else by position when both list the same number;
    file-name pairs no CSV pair claims are kept as they are, so nothing is dropped.
    """
    file_pairs = [(a.name, a.value) for a in name_attrs if a.name != RAW_ATTRIBUTES]
    raw = [a for a in name_attrs if a.name == RAW_ATTRIBUTES]
    used: set[int] = set()
    out = []
    for i, (k, v) in enumerate(csv_pairs):
        j = next((j for j, (fk, _) in enumerate(file_pairs) if fk == k and j not in used), None)
        if j is None and len(csv_pairs) == len(file_pairs) and i not in used:
            j = i
        token = ""
        if j is not None:
            used.add(j)
            fk, fv = file_pairs[j]
            if (fk, fv) != (k, v):
                token = f"{fk}_{fv}"
        out.append(Attribute(name=k, value=v, file_token=token))
    out.extend(Attribute(name=fk, value=fv) for j, (fk, fv) in enumerate(file_pairs) if j not in used)
    out.extend(raw)
    return tuple(out)


_GT_NAME = re.compile(
    r"^ground_truth_(?P<machine>.+?)_(?P<kw>section|id)_(?P<sec>\d{2})(?:_(?P<dom>source|target))?_test\.csv$"
)
GT_KINDS = ("data", "domain", "attributes")


@dataclass(frozen=True)
class GroundTruthFile:
    """What an evaluator ground-truth file name says."""

    machine: str
    section: int
    kind: str  # data | domain | attributes | data_by_domain (2021)
    domain: str | None = None


def parse_ground_truth_path(path: Path) -> GroundTruthFile | None:
    """Kind of an evaluator ground-truth CSV from its name and folder; None if it is not one."""
    m = _GT_NAME.match(path.name)
    if not m:
        return None
    if m["dom"]:
        return GroundTruthFile(m["machine"], int(m["sec"]), "data_by_domain", m["dom"])
    parent = path.parent.name
    kind = parent[len("ground_truth_") :] if parent.startswith("ground_truth_") else "data"
    if kind not in GT_KINDS:
        raise ParseError(
            f"ground-truth file in unknown folder {parent!r} (expected ground_truth_{{{','.join(GT_KINDS)}}})",
            path,
        )
    return GroundTruthFile(m["machine"], int(m["sec"]), kind)


def parse_ground_truth_csv(text: str, path, kind: str) -> dict[str, tuple[str, ...]]:
    """Evaluator ground truth (no header) -> file name -> values.

    data/domain: `<file>,<0|1>` (1 = anomaly / target); attributes: `<file>,<renamed stem>[,<full name>]`.
    """
    out: dict[str, tuple[str, ...]] = {}
    for lineno, row in enumerate(_rows(text, path), start=1):
        if kind in ("data", "domain", "data_by_domain"):
            if len(row) != 2 or row[1] not in ("0", "1"):
                raise ParseError(f"line {lineno}: expected <file>,<0|1>, found {row}", path)
        elif len(row) not in (2, 3) or not all(row):
            raise ParseError(
                f"line {lineno}: expected <file>,<renamed stem>[,<full name>], found {row}", path
            )
        check_relative(row[0], source=f"{path} line {lineno}")
        name = PurePosixPath(row[0]).name
        if name in out:
            raise ParseError(f"line {lineno}: {name!r} listed twice", path)
        out[name] = tuple(row[1:])
    if not out:
        raise ParseError("empty ground-truth file", path)
    return out


def parse_correspondence_csv(text: str, path) -> dict[str, str]:
    """`attributes_XX_{train,test}_correspondence.csv` -> distributed name -> full-attribute name."""
    rows = _rows(text, path)
    if not rows or rows[0][:2] != ["source_file_name", "target_file_name"] or len(rows[0]) != 2:
        raise ParseError(
            f"correspondence CSV header must be source_file_name,target_file_name, found {rows[:1]}", path
        )
    out: dict[str, str] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not all(row):
            raise ParseError(f"line {lineno}: expected <full name>,<distributed name>, found {row}", path)
        for cell in row:
            check_relative(cell, source=f"{path} line {lineno}")
        target = PurePosixPath(row[1]).name
        if target in out:
            raise ParseError(f"line {lineno}: distributed name {target!r} listed twice", path)
        out[target] = PurePosixPath(row[0]).name
    return out


@dataclass(frozen=True)
class EvalListEntry:
    machine: str
    blind_name: str
    full_name: str
    label: str  # from the 3rd column (2020) or from the full name
    domain: str
    line: int


def parse_eval_data_list(text: str, path, year: int) -> dict[tuple[str, str], EvalListEntry]:
    """The baseline's `eval_data_list_<year>.csv`: machine lines, then `<blind>,<full>[,<label>]` rows."""
    info = year_info(year)
    out: dict[tuple[str, str], EvalListEntry] = {}
    machine = None
    for lineno, row in enumerate(_rows(text, path), start=1):
        if len(row) == 1:
            if row[0] not in info.machines:
                raise ParseError(f"line {lineno}: {row[0]!r} is not a DCASE {year} machine type", path)
            machine = row[0]
            continue
        if machine is None:
            raise ParseError(f"line {lineno}: file row before any machine-type line", path)
        if len(row) not in (2, 3):
            raise ParseError(f"line {lineno}: expected <blind name>,<full name>[,<label>], found {row}", path)
        where = f"{path}:{lineno}"
        for cell in row[:2]:
            check_relative(cell, source=f"{path} line {lineno}")
        blind = parse_dcase_name(year, row[0], TEST, where)
        full = parse_dcase_name(year, row[1], TEST, where)
        if full.section != blind.section:
            raise ParseError(f"line {lineno}: sections differ between {row[0]} and {row[1]}", path)
        label = full.label
        if len(row) == 3:
            if row[2] not in ("0", "1"):
                raise ParseError(f"line {lineno}: label must be 0 or 1, found {row[2]!r}", path)
            label3 = "anomaly" if row[2] == "1" else "normal"
            if label not in ("unknown", label3):
                raise ParseError(f"line {lineno}: label column {row[2]} contradicts {row[1]}", path)
            label = label3
        key = (machine, blind.name)
        if key in out:
            raise ParseError(f"line {lineno}: {machine}/{blind.name} listed twice", path)
        out[key] = EvalListEntry(machine, blind.name, full.name, label, full.domain, lineno)
    return out


