"""Ground truth for scoring: a plain `pandas.DataFrame` with columns `file, machine, section, domain,
label` (optional `alias`: a second accepted name; optional `part`: `dev` or `eval`).

One parser: the organisers' files are read with the DCASE loader's public parsers
(`parse_ground_truth_path`, `parse_ground_truth_csv`, `parse_eval_data_list`, `parse_dcase_name`),
and a built corpus through the loader itself (`truth_from_corpus`).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pandas as pd

from ..errors import LayoutError, ParseError
from ..schema import decoded_column
from .core import ScoreError
from .engine import get_scheme
from .schemes import DOMAIN_NAMES, LABEL_NAMES

TRUTH_COLUMNS = ("file", "machine", "section", "domain", "label")
OPTIONAL_COLUMNS = ("alias", "part")


def normalize_truth(truth: pd.DataFrame, *, source: str | os.PathLike | None = None) -> pd.DataFrame:
    """Validate a ground-truth frame and return it with canonical types.

    Columns `file, machine, section, domain, label` (+ optional `alias`); labels `normal`/`anomaly`
    (or 0/1), domains `source`/`target` (or 0/1). Rows labelled `unknown` cannot be scored: error
    listing them. `(machine, section, file)` must be unique.
    """
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise ScoreError(f"ground truth lacks column(s) {missing}", source)
    t = truth.copy()
    t["file"] = t["file"].astype(str)
    t["machine"] = t["machine"].astype(str)
    try:
        t["section"] = t["section"].astype(int)
    except (TypeError, ValueError) as exc:
        raise ScoreError(f"ground truth has a non-integer section: {exc}", source) from None
    for col, names in (("label", LABEL_NAMES), ("domain", DOMAIN_NAMES)):
        vals = t[col]
        if vals.dtype.kind in "biuf":
            bad = ~vals.isin([0, 1])
            mapped = vals.map(lambda v, n=names: n[int(v)] if v in (0, 1) else str(v))
        else:
            mapped = vals.astype(str)
            bad = ~mapped.isin(names)
        if bad.any():
            rows = t[bad]
            listing = ", ".join(
                f"{m}/section_{s:02d}/{f}"
                for m, s, f in zip(rows["machine"], rows["section"], rows["file"], strict=True)
            )
            what = "unknown labels (no ground truth)" if col == "label" else "unknown domains"
            raise ScoreError(
                f"{int(bad.sum())} clip(s) have {what} and cannot be scored: {_clip(listing)}", source
            )
        t[col] = mapped
    dup = t.duplicated(["machine", "section", "file"], keep=False)
    if dup.any():
        rows = t[dup]
        listing = ", ".join(
            sorted(
                {
                    f"{m}/section_{s:02d}/{f}"
                    for m, s, f in zip(rows["machine"], rows["section"], rows["file"], strict=True)
                }
            )
        )
        raise ScoreError(f"ground truth lists a file twice: {_clip(listing)}", source)
    for col in OPTIONAL_COLUMNS:
        if col in t.columns:
            t[col] = t[col].fillna("").astype(str)
    cols = list(TRUTH_COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in t.columns]
    return t[cols].reset_index(drop=True)


def _clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def truth_from_dataset(ds) -> pd.DataFrame:
    """Ground-truth frame from a built `dcase_task2`/`mimii_due` split (rows with `path`, `machine`,
    `section`, `domain`, `label`; ClassLabel ints are turned into names). Windows of one file collapse
    to one row; a file whose windows disagree on label or domain is an error. Labels are not checked
    here (`unknown` rows may be dropped by machine first); `score_submission` validates.
    """
    cols = ["path", "machine", "section", "domain", "label"]
    missing = [c for c in cols if c not in ds.column_names]
    if missing:
        raise ScoreError(f"dataset lacks column(s) {missing}")
    df = ds.select_columns(cols).to_pandas()
    for c in ("machine", "domain", "label"):
        if hasattr(ds.features[c], "int2str"):
            df[c] = decoded_column(ds, c)
    df = df.drop_duplicates()
    clash = df.duplicated(["machine", "section", "path"], keep=False)
    if clash.any():
        raise ScoreError(
            f"windows of one file disagree on label or domain: {_clip(', '.join(sorted(set(df[clash]['path']))))}"
        )
    df["file"] = [PurePosixPath(p).name for p in df["path"]]
    return df.drop(columns=["path"])[list(TRUTH_COLUMNS)].reset_index(drop=True)


def _loader():
    from dinos.loaders import dcase_task2  # imports `datasets`: only when organisers' files are read

    return dcase_task2


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParseError("not UTF-8 text", path) from None
    except OSError as exc:
        raise ParseError(f"cannot read ({exc.strerror})", path) from None


def read_ground_truth(path: str | os.PathLike, year: int) -> pd.DataFrame:
    """Ground-truth frame (part `eval`) from the organisers' files, read with the loader's parsers.

    `path` is either a directory in an official evaluator's layout (2021: `ground_truth_<m>_section_SS_
    <source|target>_test.csv`, at top level or under `ground_truth_data/`; 2022+: `ground_truth_data/`,
    `ground_truth_domain/` and optionally `ground_truth_attributes/` with `ground_truth_<m>_section_SS_
    test.csv`), or a baseline `eval_data_list_YYYY.csv` (a machine line, then `blind,renamed[,label]`).
    `alias` = the name a submission may use instead (2023+ attributes file: `<renamed stem>.wav`, as
    the evaluators map it; eval list: the renamed name).
    """
    sch = get_scheme(year)
    p = Path(path)
    if p.is_file():
        return _truth_from_eval_list(p, year)
    if not p.is_dir():
        raise LayoutError("ground truth not found (expected a directory or an eval_data_list CSV)", p)
    if not sch.uses_domains:
        raise LayoutError(f"DCASE {year} ground truth is the eval_data_list.csv file, not a directory", p)
    lt = _loader()
    tables: dict[tuple[str, int], dict[str, dict]] = {}  # (machine, section) -> kind -> {name: values}
    sources: dict[tuple[str, int], dict[str, Path]] = {}
    for d in (p, p / "ground_truth_data", p / "ground_truth_domain", p / "ground_truth_attributes"):
        for f in sorted(d.glob("ground_truth_*.csv")) if d.is_dir() else []:
            gt = lt.parse_ground_truth_path(f)
            if gt is None:
                raise ParseError("not a ground-truth file name (ground_truth_<m>_section_SS[_<domain>]_test.csv)", f)
            kind = gt.kind if gt.domain is None else f"data_{gt.domain}"
            table = lt.parse_ground_truth_csv(_read_text(f), f, gt.kind)
            for name in table:
                parsed = lt.parse_dcase_name(int(year), name, "test", f"{f} ({name})")
                if parsed.section != gt.section:
                    raise ParseError(f"{name} is section {parsed.section:02d}, the file is for {gt.section:02d}", f)
            key = (gt.machine, gt.section)
            if kind in tables.setdefault(key, {}):
                raise ParseError(f"second {kind} ground-truth file for this section (first: {sources[key][kind]})", f)
            tables[key][kind] = table
            sources.setdefault(key, {})[kind] = f
    if not tables:
        raise LayoutError("no ground_truth_*.csv files (expected ground_truth_data/ and ground_truth_domain/)", p)
    rows = []
    for (machine, section), kinds in sorted(tables.items()):
        if lt.year_info(int(year)).per_domain_submissions:  # 2021: ground truth per domain
            for dom in DOMAIN_NAMES:
                for name, values in kinds.get(f"data_{dom}", {}).items():
                    rows.append((name, machine, section, dom, LABEL_NAMES[int(values[0])], ""))
            continue
        src = sources[(machine, section)]
        if "data" not in kinds or "domain" not in kinds:
            missing = "ground_truth_data" if "data" not in kinds else "ground_truth_domain"
            raise LayoutError(f"{missing}/ file missing for {machine} section {section:02d}",
                              next(iter(src.values())))  # fmt: skip
        labels, domains = kinds["data"], kinds["domain"]
        if set(labels) != set(domains):
            diff = sorted(set(labels) ^ set(domains))
            raise ScoreError(f"label and domain files list different clips: {_clip(', '.join(diff))}", src["domain"])
        aliases = {n: f"{v[0]}.wav" for n, v in kinds.get("attributes", {}).items()}
        for name, values in labels.items():
            rows.append((name, machine, section, DOMAIN_NAMES[int(domains[name][0])],
                         LABEL_NAMES[int(values[0])], aliases.get(name, "")))  # fmt: skip
    if not rows:
        raise LayoutError("no ground-truth rows for this year's layout", p)
    frame = pd.DataFrame(rows, columns=[*TRUTH_COLUMNS, "alias"]).assign(part="eval")
    return normalize_truth(frame, source=p)


def _truth_from_eval_list(path: Path, year: int) -> pd.DataFrame:
    lt = _loader()
    entries = lt.parse_eval_data_list(_read_text(path), path, int(year))
    if not entries:
        raise ParseError("no clip rows", path)
    rows = []
    for (machine, blind), e in entries.items():
        section = lt.parse_dcase_name(int(year), blind, "test", f"{path}:{e.line}").section
        alias = e.full_name if e.full_name != blind else ""
        rows.append((blind, machine, section, e.domain, e.label, alias))
    frame = pd.DataFrame(rows, columns=[*TRUTH_COLUMNS, "alias"]).assign(part="eval")
    if not get_scheme(year).uses_domains:
        frame["domain"] = "source"  # 2020 has no domains
    return normalize_truth(frame, source=path)


def _part_of_split(split: str) -> str:
    head = split[: -len("_test")] if split.endswith("_test") else ""
    return head if head in ("dev", "eval") else ""


def truth_from_corpus(
    year: int, data_dir: str | os.PathLike, *, part: str | None = None, cache_dir: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Ground-truth frame (with a `part` column) from the test splits of the built `<year>-all` corpus.

    Every split named `test` or `*_test` is used (`dev_test` -> part `dev`, `eval_test` -> `eval`);
    `part` keeps one. Labels are not checked here (eval clips may be `unknown`; `score_submission`
    refuses them, naming them).
    """
    import dinos

    get_scheme(year)
    if part not in (None, "dev", "eval"):
        raise ScoreError(f"part must be 'dev' or 'eval'; got {part!r}")
    dd = dinos.load_dataset("dcase_task2", f"{int(year)}-all", data_dir=data_dir, decode=False, cache_dir=cache_dir)
    tests = sorted(n for n in dd if n == "test" or n.endswith("_test"))
    if part is not None:
        tests = [n for n in tests if _part_of_split(n) == part]
    if not tests:
        raise LayoutError(f"the built DCASE {year} corpus has no {part + ' ' if part else ''}test split "
                          f"(splits: {sorted(dd)})", data_dir)  # fmt: skip
    frames = [truth_from_dataset(dd[n]).assign(part=_part_of_split(n)) for n in tests]
    return pd.concat(frames, ignore_index=True)
