"""The split algorithm `stratified-group-mc` and the split-file record (pure: no I/O).

See `dinos.splits` (which re-exports every name here) and docs/splits.md for the algorithm.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import SplitError, UnsafePathError
from .paths import check_relative
from .tasks import REPEATS, TRAIN_FRACTION

ALGORITHM = "stratified-group-mc"
ALGORITHM_VERSION = 1
FORMAT = "dinos-split-file"
FORMAT_VERSION = 1
VARIANTS = ("synthetic", "real")


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


