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
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import DinosError, LayoutError, SplitError, UnsafePathError
from .io import write_text
from .paths import check_relative
from .schema import decoded_column
from .tasks import REPEATS, TRAIN_FRACTION, Task, get_task, split_file_tasks

ALGORITHM = "stratified-group-mc"
ALGORITHM_VERSION = 1
FORMAT = "dinos-split-file"
FORMAT_VERSION = 1
VARIANTS = ("synthetic", "real")
#: How the synthetic variant is produced (recorded in its split files).
SYNTHETIC_SOURCE = {"generator": "dinos synth dinos", "scale": "default", "seed": 0}


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------
def manifest_checksum(clip_ids: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the sorted `<clip id>\\t<class>` lines: the identity of a task's clip set."""
    if len(clip_ids) != len(labels):
        raise SplitError(f"{len(clip_ids)} clip ids but {len(labels)} labels")
    h = hashlib.sha256()
    for cid, lab in sorted(zip(clip_ids, labels, strict=True)):
        h.update(f"{cid}\t{lab}\n".encode())
    return h.hexdigest()


def repeat_seed(task: str, repeat: int) -> str:
    """The seed string of one repeat (hex sha256), independent of any platform RNG."""
    return hashlib.sha256(f"{ALGORITHM}:{ALGORITHM_VERSION}:{task}:{repeat}".encode()).hexdigest()


def _fraction(value) -> Fraction:
    f = Fraction(str(value))
    if not 0 < f < 1:
        raise SplitError(f"train fraction must lie strictly between 0 and 1, got {value}")
    return f


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def class_quotas(class_sizes: dict[str, int], train_fraction=TRAIN_FRACTION) -> dict[str, int]:
    """Train clips wanted per class: floor or ceil of f * n_c, summing to round(f * N) when possible.

    Each quota lies in [1, n_c - 1]; a class with fewer than 2 clips is a `SplitError`.
    """
    f = _fraction(train_fraction)
    for c, n in class_sizes.items():
        if n < 2:
            raise SplitError(f"class {c!r} has {n} clip(s); at least 2 are needed to appear on both sides")
    exact = {c: f * n for c, n in class_sizes.items()}
    lo = {c: max(math.floor(q), 1) for c, q in exact.items()}
    hi = {c: min(math.ceil(q), class_sizes[c] - 1) for c, q in exact.items()}
    quotas = dict(lo)
    extra = _round_half_up(f * sum(class_sizes.values())) - sum(lo.values())
    order = sorted((c for c in exact if hi[c] > lo[c]), key=lambda c: (-(exact[c] - math.floor(exact[c])), c))
    for c in order[: max(extra, 0)]:
        quotas[c] = hi[c]
    return quotas


def _choose_groups(sizes: list[int], target: int) -> list[bool]:
    """Which groups (in the given order) form the train side: sum closest to `target` within
    [1, total - 1] (ties: smaller sum), preferring early groups. Exact subset-sum on bitsets."""
    total = sum(sizes)
    prefix = [1]  # prefix[i]: bitset of sums reachable with the first i groups
    for s in sizes:
        prefix.append(prefix[-1] | (prefix[-1] << s))
    reach = prefix[-1]
    best = None
    for d in range(total + 1):
        for cand in (target - d, target + d):
            if 1 <= cand <= total - 1 and (reach >> cand) & 1:
                best = cand
                break
        if best is not None:
            break
    if best is None:  # pragma: no cover - impossible with >= 2 groups of >= 1 clip
        raise SplitError("no train subset with clips on both sides")
    take = [False] * len(sizes)
    t = best
    for i in range(len(sizes), 0, -1):
        if (prefix[i - 1] >> t) & 1:
            continue
        take[i - 1] = True
        t -= sizes[i - 1]
    assert t == 0
    return take


def _order_key(seed: str, label: str, group: str) -> str:
    return hashlib.sha256(f"{seed}\0{label}\0{group}".encode()).hexdigest()


def _group_layout(clip_ids, labels, groups) -> dict[str, dict[str, list[str]]]:
    """class -> group -> clip ids; checks lengths, unique ids and one class per group."""
    if not len(clip_ids) == len(labels) == len(groups):
        raise SplitError(f"{len(clip_ids)} clip ids, {len(labels)} labels, {len(groups)} groups: lengths differ")
    dup = [c for c, k in Counter(clip_ids).items() if k > 1]
    if dup:
        raise SplitError(f"clip ids are not unique (e.g. {dup[0]!r}, {len(dup)} duplicated)")
    group_label: dict[str, str] = {}
    layout: dict[str, dict[str, list[str]]] = {}
    for cid, lab, g in zip(clip_ids, labels, groups, strict=True):
        lab, g = str(lab), str(g)
        if group_label.setdefault(g, lab) != lab:
            raise SplitError(f"recording {g!r} holds clips of classes {group_label[g]!r} and {lab!r}")
        layout.setdefault(lab, {}).setdefault(g, []).append(cid)
    return layout


def stratified_group_split(
    clip_ids: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    seed: str,
    train_fraction=TRAIN_FRACTION,
) -> tuple[list[str], list[str]]:
    """One split: `(train ids, eval ids)`, each sorted. Pure and deterministic in `seed`.

    Stratified by `labels`, grouped by `groups` (a group never straddles the sides), every class on
    both sides, per-class train size as close as the groups allow to the quota of `class_quotas`.
    """
    layout = _group_layout(clip_ids, labels, groups)
    for lab, gs in layout.items():
        if len(gs) < 2:
            n = sum(len(v) for v in gs.values())
            raise SplitError(
                f"class {lab!r} has {n} clip(s) in {len(gs)} recording(s); at least 2 recordings are "
                "needed to put it on both sides"
            )
    quotas = class_quotas({lab: sum(len(v) for v in gs.values()) for lab, gs in layout.items()}, train_fraction)
    train: list[str] = []
    evaluation: list[str] = []
    for lab in sorted(layout):
        gs = layout[lab]
        order = sorted(gs, key=lambda g: (_order_key(seed, lab, g), g))
        take = _choose_groups([len(gs[g]) for g in order], quotas[lab])
        for g, t in zip(order, take, strict=True):
            (train if t else evaluation).extend(gs[g])
    return sorted(train), sorted(evaluation)


@dataclass(frozen=True)
class SplitRepeat:
    repeat: int
    seed: str
    train: list[str]
    eval: list[str]


def stratified_group_splits(
    clip_ids: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    task: str,
    repeats: int = REPEATS,
    train_fraction=TRAIN_FRACTION,
) -> list[SplitRepeat]:
    """`repeats` independent splits of one task (repeat r seeded by `repeat_seed(task, r)`)."""
    out = []
    for r in range(repeats):
        seed = repeat_seed(task, r)
        tr, ev = stratified_group_split(clip_ids, labels, groups, seed=seed, train_fraction=train_fraction)
        out.append(SplitRepeat(r, seed, tr, ev))
    return out


def _by_class(ids: list[str], label_of: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cid in ids:
        out.setdefault(label_of[cid], []).append(cid)
    return {k: sorted(v) for k, v in sorted(out.items())}


def build_split_record(
    task: str,
    clip_ids: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    corpus: str,
    config: str | None,
    variant: str,
    label_column: str,
    group_column: str = "recording_id",
    source: dict | None = None,
    repeats: int = REPEATS,
    train_fraction=TRAIN_FRACTION,
    missing_classes: Sequence[str] = (),
) -> dict:
    """The full content of a split file (without its `content_sha256`, added when written).

    `missing_classes`: task classes knowingly absent from the data (recorded, so that validation
    accepts this file; any other absent class makes `check_split_files` report it)."""
    if variant not in VARIANTS:
        raise SplitError(f"variant must be one of {VARIANTS}, got {variant!r}")
    _fraction(train_fraction)
    labels = [str(x) for x in labels]
    label_of = dict(zip(clip_ids, labels, strict=True))
    reps = stratified_group_splits(
        clip_ids, labels, groups, task=task, repeats=repeats, train_fraction=train_fraction
    )
    out_reps = []
    for rep in reps:
        tr, ev = _by_class(rep.train, label_of), _by_class(rep.eval, label_of)
        out_reps.append(
            {
                "repeat": rep.repeat,
                "seed": rep.seed,
                "counts": {"train": {k: len(v) for k, v in tr.items()}, "eval": {k: len(v) for k, v in ev.items()}},
                "train": tr,
                "eval": ev,
            }
        )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "algorithm": {"name": ALGORITHM, "version": ALGORITHM_VERSION},
        "task": task,
        "corpus": corpus,
        "config": config,
        "variant": variant,
        "source": dict(source or {}),
        "label_column": label_column,
        "group_column": group_column,
        "train_fraction": str(train_fraction),
        "num_repeats": repeats,
        "seeds": [r.seed for r in reps],
        "manifest": {
            "sha256": manifest_checksum(clip_ids, labels),
            "clips": len(clip_ids),
            "groups": len(set(groups)),
            "class_counts": dict(sorted(Counter(labels).items())),
        },
        "repeats": out_reps,
        **({"missing_classes": sorted(missing_classes)} if missing_classes else {}),
    }


def record_clips(record: dict) -> dict[str, str]:
    """clip id -> class, from repeat 0 of a split record (both sides)."""
    out: dict[str, str] = {}
    rep = record["repeats"][0]
    for side in ("train", "eval"):
        for lab, ids in rep[side].items():
            for cid in ids:
                out[cid] = lab
    return out


def check_split_record(record: dict, where: str | Path | None = None) -> None:
    """Raise `SplitError` (naming `where`) unless the record is internally consistent.

    Checks: format and algorithm known; manifest checksum and counts recomputed from the clip lists;
    every repeat covers the same clips, sides disjoint, every class on both sides, counts as listed.
    """
    try:
        if record.get("format") != FORMAT or record.get("format_version") != FORMAT_VERSION:
            raise SplitError(f"not a {FORMAT} v{FORMAT_VERSION} file", where)
        algo = record["algorithm"]
        if (algo["name"], algo["version"]) != (ALGORITHM, ALGORITHM_VERSION):
            raise SplitError(
                f"made by algorithm {algo['name']} v{algo['version']}; this library implements "
                f"{ALGORITHM} v{ALGORITHM_VERSION}: regenerate it with recipes/make_splits.py",
                where,
            )
        reps = record["repeats"]
        if len(reps) != record["num_repeats"] or [r["repeat"] for r in reps] != list(range(len(reps))):
            raise SplitError("repeats are missing or out of order", where)
        if not reps:
            raise SplitError("the file holds no repeats", where)
        clips = record_clips(record)
        for cid in clips:  # clip ids are `<path relative to data_dir>#<start frame>`
            rel = str(cid).rpartition("#")[0] if "#" in str(cid) else str(cid)
            try:
                check_relative(rel)
            except UnsafePathError as exc:
                raise SplitError(f"clip id {cid!r}: {exc.reason}", where) from None
        man = record["manifest"]
        if manifest_checksum(list(clips), list(clips.values())) != man["sha256"]:
            raise SplitError("manifest checksum does not match the clips the file lists", where)
        if len(clips) != man["clips"] or dict(Counter(clips.values())) != man["class_counts"]:
            raise SplitError("manifest clip/class counts do not match the clips the file lists", where)
        for rep in reps:
            r = rep["repeat"]
            seen: dict[str, str] = {}
            for side in ("train", "eval"):
                if set(rep[side]) != set(man["class_counts"]):
                    raise SplitError(f"repeat {r}: not every class is on the {side} side", where)
                for lab, ids in rep[side].items():
                    if rep["counts"][side].get(lab) != len(ids):
                        raise SplitError(f"repeat {r}: {side} count of class {lab!r} is wrong", where)
                    for cid in ids:
                        if cid in seen:
                            raise SplitError(f"repeat {r}: clip {cid!r} listed twice", where)
                        seen[cid] = lab
            if seen != clips:
                raise SplitError(f"repeat {r}: covers a different clip set than repeat 0", where)
            if rep["seed"] != record["seeds"][r]:
                raise SplitError(f"repeat {r}: seed differs from the seeds list", where)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, SplitError):
            raise
        raise SplitError(f"malformed split file ({type(exc).__name__}: {exc})", where) from None


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
