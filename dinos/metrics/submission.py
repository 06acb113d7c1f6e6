"""Submission CSVs (read, write, official names) and scoring a folder of them against ground truth."""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from ..errors import LayoutError, ParseError
from ..io import write_with
from .core import ScoreError
from .engine import Result, _machine_order, evaluate, get_scheme
from .schemes import DOMAIN_NAMES, KINDS
from .truth import _clip, normalize_truth

PARTS = ("dev", "eval")


def _csv_rows(path: Path):
    """(line number, row) of a small CSV; blank lines are not rows. Raises ParseError on bad encoding."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LayoutError("file not found", path) from None
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text: {exc.reason}", path) from None
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            raise ParseError(f"line {reader.line_num}: unreadable CSV ({exc})", path) from None
        if row and any(c.strip() for c in row):
            yield reader.line_num, row


def _read_two_columns(path: Path, what: str, max_columns: int = 2) -> list[tuple[str, str]]:
    """(file, value) rows of a headerless CSV; columns past the second (up to `max_columns`) are ignored."""
    out, seen = [], set()
    for lineno, row in _csv_rows(path):
        if len(row) < 2 or not row[1].strip():
            raise ParseError(f"line {lineno}: missing {what} column (expected `file,{what}`)", path)
        if len(row) > max_columns:
            raise ParseError(f"line {lineno}: {len(row)} columns, expected 2 (`file,{what}`)", path)
        name = row[0].strip()
        if not name:
            raise ParseError(f"line {lineno}: empty file name", path)
        if name in seen:
            raise ParseError(f"line {lineno}: file {name!r} listed twice", path)
        seen.add(name)
        out.append((name, row[1].strip()))
    if not out:
        raise ParseError("no rows", path)
    return out


def read_scores(path: str | os.PathLike) -> dict[str, float]:
    """`anomaly_score_*.csv` (no header, `file,score`) -> {file: score}; errors name file and line."""
    out = {}
    for name, value in _read_two_columns(Path(path), "score"):
        try:
            v = float(value)
        except ValueError:
            raise ParseError(
                f"score of {name!r} is not a number: {value!r} (submission CSVs have no header line)", path
            ) from None
        if not math.isfinite(v):
            raise ParseError(f"score of {name!r} is not finite: {value!r}", path)
        out[name] = v
    return out


def read_decisions(path: str | os.PathLike) -> dict[str, int]:
    """`decision_result_*.csv` (no header, `file,0|1`) -> {file: 0 or 1}."""
    out = {}
    for name, value in _read_two_columns(Path(path), "decision"):
        if value not in ("0", "1"):
            raise ParseError(f"decision of {name!r} must be 0 or 1; got {value!r}", path)
        out[name] = int(value)
    return out


def _write_rows(path: str | os.PathLike, rows: list[tuple[str, str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    write_file(path, buf.getvalue())


def write_file(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` atomically through `dinos.io.write_with` (temporary file + os.replace)."""
    write_with(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline="\n"))


def _check_names(names: Iterable[str], path) -> list[str]:
    names = [str(n) for n in names]
    for n in names:
        if not n or "," in n or "\n" in n or n != n.strip():
            raise ParseError(f"file name {n!r} cannot be written to a submission CSV", path)
    return names


def write_scores(path: str | os.PathLike, scores: Mapping[str, float]) -> None:
    """Write `{file: score}` as a submission CSV (no header); atomic (`dinos.io.write_with`).

    Scores are written with `repr`, so `read_scores` returns exactly the same floats.
    """
    names = _check_names(scores, path)
    rows = []
    for n in names:
        v = float(scores[n])
        if not math.isfinite(v):
            raise ParseError(f"score of {n!r} is not finite: {v!r}", path)
        rows.append((n, repr(v)))
    if not rows:
        raise ParseError("no scores to write", path)
    _write_rows(path, rows)


def write_decisions(path: str | os.PathLike, decisions: Mapping[str, int]) -> None:
    """Write `{file: 0|1}` as a `decision_result_*.csv` (no header); atomic."""
    names = _check_names(decisions, path)
    rows = []
    for n in names:
        v = decisions[n]
        if v not in (0, 1) or isinstance(v, float) and not float(v).is_integer():
            raise ParseError(f"decision of {n!r} must be 0 or 1; got {v!r}", path)
        rows.append((n, str(int(v))))
    if not rows:
        raise ParseError("no decisions to write", path)
    _write_rows(path, rows)


def submission_file_name(
    year: int, machine: str, section: int, domain: str | None = None, kind: str = "anomaly_score"
) -> str:
    """Official CSV name: 2020 `<kind>_<m>_id_SS.csv`; 2021 `<kind>_<m>_section_SS_<domain>_test.csv`;
    2022+ `<kind>_<m>_section_SS_test.csv` (`kind` = `anomaly_score` or `decision_result`).
    `domain` is required where the year's files are per domain and ignored otherwise."""
    if kind not in KINDS:
        raise ScoreError(f"kind must be one of {KINDS}; got {kind!r}")
    get_scheme(year)  # an unknown year is a ScoreError
    info = year_info(year)  # the naming is a fact of the year (YearInfo.submission_template)
    if info.per_domain_submissions and domain not in DOMAIN_NAMES:
        raise ScoreError(f"DCASE {year} submission files are per domain; got domain={domain!r}")
    return info.submission_file_name(machine, section, domain, kind)


def files_per_domain(year: int) -> bool:
    """Whether the year's submission files are per domain (2021)."""
    return year_info(year).per_domain_submissions


def year_info(year: int):
    from dinos.loaders.dcase_task2.years import year_info as _year_info

    return _year_info(year)


_SUBMISSION = re.compile(
    r"^(?P<kind>anomaly_score|decision_result)_(?P<machine>.+?)_(?:id|section)_(?P<section>\d\d)"
    r"(?:_(?P<domain>source|target))?(?:_test)?\.csv$"
)


def parse_submission_file_name(name: str) -> dict[str, object] | None:
    """`{kind, machine, section, domain}` of an official submission CSV name, or None if it is not one."""
    m = _SUBMISSION.match(name)
    if not m:
        return None
    return {"kind": m["kind"], "machine": m["machine"], "section": int(m["section"]), "domain": m["domain"]}


def check_submission_folder(submission_dir: str | os.PathLike) -> Path:
    """The folder, if it exists and holds at least one `anomaly_score_*.csv`; else `LayoutError`."""
    root = Path(submission_dir)
    if not root.is_dir():
        raise LayoutError("submission folder not found", root)
    if not any(root.glob("anomaly_score_*.csv")):
        others = sorted(p.name for p in root.iterdir())[:5]
        raise LayoutError(f"no anomaly_score_*.csv files in the submission folder (found: {others or 'nothing'})", root)
    return root


def parts_of(truth: pd.DataFrame) -> list[str]:
    """The parts (`dev`, `eval`) a ground-truth frame covers ([''] when it has no `part` column)."""
    if "part" not in truth.columns:
        return [""]
    return sorted({str(p) for p in truth["part"]}, key=lambda p: (PARTS + ("",)).index(p) if p in PARTS else 9)


def score_submission(
    year: int,
    submission_dir: str | os.PathLike,
    truth: pd.DataFrame,
    *,
    machines: Iterable[str] | None = None,
    part: str | None = None,
    ci95: bool = False,
) -> Result:
    """Score the official CSVs in `submission_dir` against a ground-truth frame (see `normalize_truth`).

    One part at a time: a truth frame with a `part` column covering `dev` and `eval` needs `part`
    (no ranking uses one score over dev and eval machines together; `score_parts` scores each).
    Every (machine, section[, domain]) of the truth needs its `anomaly_score_*.csv`; each must score
    exactly the truth's files (by `file` or `alias`). `decision_result_*.csv` are optional, but all or
    none. `machines` restricts scoring to those machine types. CSVs in the folder that are not used
    are listed in `Result.notes`. `ci95=True` adds the evaluator's jackknife interval.
    """
    sch = get_scheme(year)
    root = check_submission_folder(submission_dir)
    present = parts_of(truth)
    if part is not None:
        if part not in present:
            raise ScoreError(f"the ground truth has no {part!r} part (parts: {[p or '(none)' for p in present]})")
        truth = truth[truth["part"].astype(str) == part]
    elif len(present) > 1:
        raise ScoreError(f"the ground truth covers parts {present}: score one part at a time (part=...)")
    part_name = part if part is not None else present[0]
    if machines is not None:
        wanted = {str(m) for m in machines}
        if "machine" not in truth.columns:
            raise ScoreError("ground truth lacks column 'machine'")
        known = set(truth["machine"].astype(str))
        unknown = sorted(wanted - known)
        if unknown:
            raise ScoreError(f"machine type(s) not in the ground truth: {unknown}; known: {_machine_order(known)}")
        truth = truth[truth["machine"].astype(str).isin(wanted)]
    if not sch.uses_domains and "domain" in truth.columns:
        truth = truth.assign(domain="source")  # 2020 has no domains; a loader may say `unknown`
    t = normalize_truth(truth)
    group_keys = ["machine", "section"] + (["domain"] if files_per_domain(year) else [])
    expected = {}
    for key, g in t.groupby(group_keys, sort=True):
        domain = key[2] if files_per_domain(year) else None
        expected[key] = (
            root / submission_file_name(year, key[0], key[1], domain, "anomaly_score"),
            root / submission_file_name(year, key[0], key[1], domain, "decision_result"),
            g,
        )
    missing = [str(a.name) for a, _, _ in expected.values() if not a.is_file()]
    if missing:
        raise LayoutError(f"{len(missing)} anomaly score file(s) missing: {_clip(', '.join(missing))}", root)
    dec_present = [d.is_file() for _, d, _ in expected.values()] if sch.decisions else [False]
    use_dec = all(dec_present)
    if any(dec_present) and not use_dec:
        absent = [d.name for _, d, _ in expected.values() if not d.is_file()]
        raise LayoutError(f"decision_result files for some sections only; missing: {_clip(', '.join(absent))}", root)
    notes = []
    if sch.decisions and not use_dec:
        notes.append("no decision_result_*.csv files: precision, recall and F1 not computed")
    frames = []
    for score_path, dec_path, g in expected.values():
        g = g.copy()
        g["score"] = _lookup(read_scores(score_path), g, score_path, "score")
        if use_dec:
            g["decision"] = _lookup(read_decisions(dec_path), g, dec_path, "decision")
        frames.append(g)
    used = {p.name for a, d, _ in expected.values() for p in ((a, d) if use_dec else (a,))}
    unused = sorted(p.name for p in root.glob("*.csv") if p.name not in used)
    if unused:
        notes.append(f"CSV files in {root} not scored (no ground truth selected for them): {_clip(', '.join(unused))}")
    return evaluate(year, pd.concat(frames, ignore_index=True), notes=notes, ci95=ci95, part=part_name)


def score_parts(
    year: int, submission_dir: str | os.PathLike, truth: pd.DataFrame, *, part: str | None = None, **kw
) -> dict[str, Result]:
    """`score_submission` for each part of the truth (or only `part`): {part: Result}, dev first."""
    parts = [part] if part is not None else parts_of(truth)
    return {p: score_submission(year, submission_dir, truth, part=p or None, **kw) for p in parts}


def _lookup(values: dict, g: pd.DataFrame, path: Path, what: str) -> list:
    """Values of `g`'s files from a CSV mapping, by file name or alias; every mismatch is an error
    that names both the clips without a value and the names in the CSV that match no clip."""
    aliases = g["alias"].tolist() if "alias" in g.columns else [""] * len(g)
    out, absent, used = [], [], set()
    for name, alias in zip(g["file"], aliases, strict=True):
        hits = [n for n in (name, alias) if n and n in values]
        if len(hits) == 2:
            raise ParseError(f"{name!r} is scored twice (also under its other name {alias!r})", path)
        if not hits:
            absent.append(name)
            continue
        used.add(hits[0])
        out.append(values[hits[0]])
    extra = sorted(set(values) - used)
    if absent or extra:
        msg = []
        if absent:
            msg.append(f"{len(absent)} ground-truth clip(s) without a {what}: {_clip(', '.join(absent), 1000)}")
        if extra:
            msg.append(f"{len(extra)} unexpected name(s) in the CSV, not in the ground truth of this section: "
                       f"{_clip(', '.join(extra), 1000)}")  # fmt: skip
        raise ScoreError("; ".join(msg), path)
    return out
