"""Fixed, checksummed Monte Carlo split files (paper protocol: 10 x 15 % train / 85 % evaluation).

Pure part (no I/O): `manifest_checksum`, `class_quotas`, `stratified_group_split`,
`stratified_group_splits`, `build_split_record`, `check_split_record`.
I/O part: `write_split_file` / `load_split_file` (canonical JSON, atomic write, self checksum),
`split_files_root`, `task_manifest` (build a task's rows with `dinos.load_dataset`), `make_split_files`,
`get` (train/eval `datasets.Dataset`s of one repeat) and `verify` (a local copy vs the split files).

Algorithm `stratified-group-mc`, version 1 (documented in docs/splits.md):

1. Each group (recording) must hold clips of one class; each class needs >= 2 groups.
2. Quotas: the total train size is round-half-up(f * N); each class gets floor or ceil of f * n_c
   (largest remainders get the ceilings, ties by class id), never below 1 nor above n_c - 1.
3. Per class, groups are ordered by sha256(seed, class, group) -- a permutation that depends on
   no platform RNG -- and the train side is the subset of groups whose clip count is closest to the
   quota (ties: the smaller count), found exactly by a subset-sum over group sizes, preferring groups
   early in that order. Every class therefore has >= 1 clip on both sides; no retry is needed.
4. Repeat r of task t uses seed sha256("stratified-group-mc:1:<t>:<r>").
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import DinosError, LayoutError, SplitError
from .io import write_text
from .schema import decoded_column
from .tasks import Task, get_task, split_file_tasks

#: How the synthetic variant is produced (recorded in its split files).
SYNTHETIC_SOURCE = {"generator": "dinos synth dinos", "scale": "default", "seed": 0}


from .split_algorithm import (  # noqa: E402,F401 - the pure half of the split-file API
    ALGORITHM,
    ALGORITHM_VERSION,
    FORMAT,
    FORMAT_VERSION,
    VARIANTS,
    SplitRepeat,
    _by_class,
    _choose_groups,
    _fraction,
    _group_layout,
    _order_key,
    _round_half_up,
    build_split_record,
    check_split_record,
    class_quotas,
    manifest_checksum,
    record_clips,
    repeat_seed,
    stratified_group_split,
    stratified_group_splits,
)


# --------------------------------------------------------------------------------------------
# Split files on disk
# --------------------------------------------------------------------------------------------
def canonical_json(obj) -> str:
    """The one text form of a split file: sorted keys, indent 1, UTF-8, trailing newline."""
    return json.dumps(obj, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def content_checksum(record: dict) -> str:
    """sha256 of the canonical text of `record` without its `content_sha256` field."""
    body = {k: v for k, v in record.items() if k != "content_sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def write_split_file(path: str | os.PathLike, record: dict) -> Path:
    """Write `record` canonically with its content checksum, atomically (`dinos.io.write_text`)."""
    path = Path(path)
    check_split_record(record, path)
    rec = {k: v for k, v in record.items() if k != "content_sha256"}
    rec["content_sha256"] = content_checksum(rec)
    return write_text(path, canonical_json(rec))  # umask permissions, like any file the user creates


def load_split_file(path: str | os.PathLike) -> dict:
    """Read and check a split file; `SplitError` naming it if unreadable, tampered or inconsistent."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SplitError("split file does not exist", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SplitError(f"split file is unreadable ({exc})", path) from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SplitError(f"split file is not valid JSON ({exc})", path) from None
    if not isinstance(record, dict) or "content_sha256" not in record:
        raise SplitError("split file has no content_sha256 field", path)
    if content_checksum(record) != record["content_sha256"]:
        raise SplitError(
            "checksum mismatch: the split file was edited or damaged; regenerate it with "
            "`python recipes/make_splits.py` instead of editing it",
            path,
        )
    check_split_record(record, path)
    return record


def split_files_root() -> Path:
    """Folder holding `<variant>/<corpus>/<task>.json`: the installed `dinos.split_files` package,
    else the repository's `splits/` folder."""
    try:
        from importlib.resources import files

        root = Path(str(files("dinos.split_files")))
        if root.is_dir():
            return root
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[1] / "splits"


def split_file_path(task: str | Task, variant: str, root: str | os.PathLike | None = None) -> Path:
    """`<root>/<variant>/<corpus>/<task file>.json` for a task."""
    t = get_task(task) if isinstance(task, str) else task
    if variant not in VARIANTS:
        raise SplitError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return Path(root or split_files_root()) / variant / t.corpus / f"{t.file_stem}.json"


# --------------------------------------------------------------------------------------------
# Task manifests from data
# --------------------------------------------------------------------------------------------
@dataclass
class TaskData:
    """A task's rows (published train + test pooled) with its identities, labels and groups."""

    task: Task
    dataset: object  # datasets.Dataset (audio not decoded)
    clip_ids: list[str]
    labels: list[str]
    groups: list[str]

    @property
    def checksum(self) -> str:
        return manifest_checksum(self.clip_ids, self.labels)


def task_manifest(
    task: str | Task, data_dir, *, cache_dir: str | None = None, allow_missing_class: bool = False, **builder_kwargs
) -> TaskData:
    """Build a task's dataset with `dinos.load_dataset` (decode=False) and read its manifest.

    A task class with no row in the data is a `SplitError` (a split without it would still look
    complete to `dinos validate splits`) unless `allow_missing_class=True`; `missing_classes` says which."""
    import datasets

    from .api import load_dataset

    t = get_task(task) if isinstance(task, str) else task
    dd = load_dataset(t.corpus, t.config, data_dir=data_dir, cache_dir=cache_dir, decode=False, **builder_kwargs)
    parts = [dd[k] for k in sorted(dd)]
    ds = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    if t.filters:
        keep = [i for i, row in enumerate(_decoded_columns(ds, [c for c, _ in t.filters])) if row == dict(t.filters)]
        ds = ds.select(keep)
    labels = [str(v) for v in decoded_column(ds, t.label_column)]
    if t.label_column == "task_class":
        bad = sorted({lab for lab in labels if lab not in t.class_ids})
        if bad:
            raise SplitError(f"task {t.name}: rows of classes {bad} that the task does not know", data_dir)
    missing = missing_classes(t, labels)
    if missing and not allow_missing_class:
        raise SplitError(
            f"task {t.name}: no rows of class(es) {', '.join(missing)} in the data (of {', '.join(t.class_ids)}); "
            "refusing to write a split without them (allow_missing_class=True / --allow-missing-class to do so "
            "anyway; the file then lists them under `missing_classes`)",
            data_dir,
        )
    return TaskData(t, ds, list(ds["clip_id"]), labels, list(ds[t.group_column]))


def missing_classes(task: Task, labels: Sequence[str]) -> list[str]:
    """The task's classes (`task.class_ids`: T-classes, or normal/anomaly) with no row among `labels`."""
    present = set(labels)
    return [c for c in task.class_ids if c not in present]


def _decoded_columns(ds, cols: list[str]) -> list[dict]:
    """Rows of `cols` with ClassLabel codes turned back into names."""
    values = {col: decoded_column(ds, col) for col in cols}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*values.values(), strict=True)]


def make_split_files(
    corpus: str,
    data_dir,
    out_dir,
    *,
    variant: str,
    source: dict | None = None,
    tasks: Sequence[str] | None = None,
    cache_dir: str | None = None,
    allow_missing_class: bool = False,
) -> list[Path]:
    """Regenerate the split files of `corpus` from `data_dir` into `out_dir/<variant>/<corpus>/`.

    A task class absent from the data is a `SplitError` unless `allow_missing_class=True`."""
    wanted = [get_task(n) for n in tasks] if tasks else split_file_tasks(corpus)
    written = []
    for t in wanted:
        if not t.has_split_files:
            raise SplitError(f"task {t.name} uses the official train/test split; it has no split file")
        data = task_manifest(t, data_dir, cache_dir=cache_dir, allow_missing_class=allow_missing_class)
        record = build_split_record(
            t.name,
            data.clip_ids,
            data.labels,
            data.groups,
            corpus=t.corpus,
            config=t.config,
            variant=variant,
            label_column=t.label_column,
            group_column=t.group_column,
            source=source,
            repeats=t.repeats,
            train_fraction=t.train_fraction,
            missing_classes=missing_classes(t, data.labels),
        )
        written.append(write_split_file(split_file_path(t, variant, out_dir), record))
    return written


# --------------------------------------------------------------------------------------------
# Using the split files
# --------------------------------------------------------------------------------------------
def _diff(data_clips: dict[str, str], file_clips: dict[str, str]) -> str:
    missing = sorted(set(file_clips) - set(data_clips))
    extra = sorted(set(data_clips) - set(file_clips))
    relabelled = sorted(c for c in set(file_clips) & set(data_clips) if file_clips[c] != data_clips[c])
    parts = []
    for what, ids in (("missing from data_dir", missing), ("not in the split file", extra), ("with another class", relabelled)):
        if ids:
            parts.append(f"{len(ids)} clip(s) {what} (e.g. {ids[0]!r})")
    return "; ".join(parts) or "same clips"


def find_split_file(
    data: TaskData, variant: str | None = None, splits_dir=None
) -> tuple[Path, dict]:
    """The split file of `data.task` whose manifest checksum equals the data's; `SplitError` otherwise."""
    variants = [variant] if variant else list(VARIANTS)
    checksum = data.checksum
    data_clips = dict(zip(data.clip_ids, data.labels, strict=True))
    tried = []
    for v in variants:
        path = split_file_path(data.task, v, splits_dir)
        if not path.exists():
            tried.append(f"{v}: no file {path}")
            continue
        record = load_split_file(path)
        if record["manifest"]["sha256"] == checksum:
            return path, record
        tried.append(f"{v} ({path}): {_diff(data_clips, record_clips(record))}")
    raise SplitError(
        f"no split file of task {data.task.name} matches these {len(data.clip_ids)} clips "
        f"(manifest {checksum[:12]}): " + " | ".join(tried) + ". For a complete copy of the real DINOS, "
        "a maintainer regenerates the files with `python recipes/make_splits.py --corpus dinos "
        "--data-dir DIR --out splits/ --variant real`; pass splits_dir= to use files made elsewhere.",
        data.task.name,
    )


def get(
    task: str,
    repeat: int,
    *,
    data_dir,
    variant: str | None = None,
    splits_dir=None,
    cache_dir: str | None = None,
    decode: bool = True,
    channel=None,
    sampling_rate: int | None = None,
    **builder_kwargs,
):
    """`(train, eval)` `datasets.Dataset`s of repeat `repeat` (0-based, < 10) of a Monte Carlo task.

    The task's rows (published train + test pooled) are built from `data_dir`; the split file whose
    manifest checksum matches them is used, clips selected by id (never by row order).
    """
    from .api import decode_audio

    t = get_task(task)
    if not t.has_split_files:
        raise SplitError(
            f"task {t.name} uses the official train/test split: load it with "
            f"dinos.load_dataset({t.corpus!r}, {t.config!r}, split='train'/'test')"
        )
    if not 0 <= repeat < t.repeats:
        raise SplitError(f"repeat must be in 0..{t.repeats - 1}, got {repeat}")
    data = task_manifest(t, data_dir, cache_dir=cache_dir, **builder_kwargs)
    path, record = find_split_file(data, variant, splits_dir)
    index = {cid: i for i, cid in enumerate(data.clip_ids)}
    rep = record["repeats"][repeat]
    sides = []
    for side in ("train", "eval"):
        ids = [cid for lab in sorted(rep[side]) for cid in rep[side][lab]]
        missing = [c for c in ids if c not in index]
        if missing:  # pragma: no cover - excluded by the checksum match
            raise SplitError(f"names {len(missing)} clip(s) not in data_dir, e.g. {missing[0]!r}", path)
        ds = data.dataset.select(sorted(index[c] for c in ids))
        sides.append(decode_audio(ds, channel=channel, sampling_rate=sampling_rate) if decode else ds)
    return sides[0], sides[1]


@dataclass
class VerifyResult:
    task: str
    ok: bool
    detail: str
    path: str | None = None


def verify(
    data_dir,
    *,
    variant: str | None = None,
    splits_dir=None,
    tasks: Sequence[str] | None = None,
    cache_dir: str | None = None,
    strict: bool = True,
) -> list[VerifyResult]:
    """Check a local copy against the split files: every clip they name exists and the manifest
    checksum matches. With `strict`, the first failure raises `SplitError` naming the file."""
    wanted = [get_task(n) for n in tasks] if tasks else split_file_tasks("dinos")
    results = []
    for t in wanted:
        try:
            try:
                data = task_manifest(t, data_dir, cache_dir=cache_dir)
            except LayoutError as exc:
                raise SplitError(f"no clips of task {t.name} in data_dir ({exc.reason})", exc.path) from None
            path, record = find_split_file(data, variant, splits_dir)
            results.append(
                VerifyResult(
                    t.name,
                    True,
                    f"{record['variant']}: {record['manifest']['clips']} clips, manifest "
                    f"{record['manifest']['sha256'][:12]} matches",
                    str(path),
                )
            )
        except SplitError as exc:
            if strict:
                raise
            results.append(VerifyResult(t.name, False, str(exc), exc.path))
        except DinosError as exc:
            if strict:
                raise
            results.append(VerifyResult(t.name, False, str(exc), exc.path))
    return results


def check_split_files(root=None) -> list[tuple[Path, str | None]]:
    """Every `*.json` under the split-file root with None (ok) or the problem found; also a problem
    for each split file missing from a variant folder that exists (`<variant>/<corpus>/<task>.json`
    of every split-file task), for leftovers of an interrupted write, and for a root with no files."""
    from .tasks import split_file_tasks

    root = Path(root or split_files_root())
    out: list[tuple[Path, str | None]] = []
    if not root.is_dir() or not any(root.rglob("*.json")):
        return [(root, "no split files here (missing or empty split-file folder)")]
    for variant in VARIANTS:
        if not (root / variant).is_dir() or not any((root / variant).rglob("*.json")):
            continue  # a variant not generated here (real split files need the real corpus)
        corpora = {t.corpus for t in split_file_tasks()} | {p.name for p in (root / variant).iterdir() if p.is_dir()}
        for corpus in sorted(corpora):
            for t in split_file_tasks(corpus):
                expected = split_file_path(t, variant, root)
                if not expected.is_file():
                    out.append((expected, f"split file of task {t.name} is missing"))
    for path in sorted(root.rglob(".*.tmp")):
        out.append((path, "leftover of an interrupted write (remove it)"))
    for path in sorted(root.rglob("*.json")):
        try:
            rec = load_split_file(path)
            rel = path.relative_to(root).parts
            if len(rel) == 3 and (rec["variant"], rec["corpus"]) != (rel[0], rel[1]):
                raise SplitError(f"lies under {rel[0]}/{rel[1]} but says {rec['variant']}/{rec['corpus']}", path)
            _check_classes(rec, path)
            out.append((path, None))
        except SplitError as exc:
            out.append((path, str(exc)))
    return out


def _check_classes(record: dict, path) -> None:
    """`SplitError` when a task class has no clip in the file and the file does not say so."""
    try:
        task = get_task(record["task"])
    except (DinosError, KeyError):
        return  # a task this version does not know: the checksum and invariants still apply
    counts = record.get("manifest", {}).get("class_counts", {})
    missing = [c for c in missing_classes(task, list(counts)) if c not in record.get("missing_classes", ())]
    if missing:
        raise SplitError(
            f"task {task.name} has no clip of class(es) {', '.join(missing)} (of {', '.join(task.class_ids)}); "
            "regenerate it from a complete corpus",
            path,
        )


def compare_split_dirs(expected, actual) -> list[str]:
    """Differences between two folders of split files (same relative names); [] when byte-identical."""
    expected, actual = Path(expected), Path(actual)
    exp = {p.relative_to(expected).as_posix(): p for p in expected.rglob("*.json")} if expected.is_dir() else {}
    act = {p.relative_to(actual).as_posix(): p for p in actual.rglob("*.json")} if actual.is_dir() else {}
    out = []
    for name in sorted(set(exp) | set(act)):
        if name not in act:
            out.append(f"{name}: committed but not regenerated (task gone or renamed?)")
            continue
        if name not in exp:
            out.append(f"{name}: regenerated but not committed")
            continue
        if exp[name].read_bytes() == act[name].read_bytes():
            continue
        try:
            a, b = json.loads(exp[name].read_text("utf-8")), json.loads(act[name].read_text("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            out.append(f"{name}: committed file is not valid JSON ({exc})")
            continue
        ma, mb = a.get("manifest", {}), b.get("manifest", {})
        if ma.get("sha256") != mb.get("sha256"):
            out.append(
                f"{name}: clip manifest changed ({ma.get('clips')} -> {mb.get('clips')} clips, "
                f"{str(ma.get('sha256'))[:12]} -> {str(mb.get('sha256'))[:12]}): the data or its ids changed"
            )
            continue
        changed = [i for i, (x, y) in enumerate(zip(a.get("repeats", []), b.get("repeats", []), strict=False)) if x != y]
        if changed:
            out.append(f"{name}: same clips, different assignment in repeats {changed}: the algorithm changed")
        else:
            out.append(f"{name}: same splits, different bytes (metadata or formatting changed)")
    return out
