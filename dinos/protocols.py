"""Split files for corpora without published splits (a user's folder, MIMII 2019): three protocols.

- `holdout`: a stratified hold-out; each stratum `(machine, section, label)` sends about
  `test_fraction` of its clips to `test`, the rest to `train`.
- `kfold`: `folds` folds; each stratum's groups are dealt to the fold that holds the fewest clips of
  that stratum so far; fold k's `test` is its own clips, its `train` the others.
- `asd`: the anomaly-detection protocol of the AWS MIMII blog and the pump thesis, per
  `(machine, section)`: `train` holds normal clips only; `test` holds every anomaly plus as many
  normal clips (as near as whole groups allow); with `validation_fraction` > 0 a slice of the
  anomalies (and as many normals) goes to `validation` instead, to choose a threshold on
  (`dinos.metrics.decisions.evaluate`). The blog tunes its threshold on the test set; we do not.

Every protocol is grouped: the clips of one `group_id` (one recording's windows, one MIMII recording's
three SNR mixes, a manifest's `group`) never straddle two sides. Orders come from
sha256(protocol, seed, stratum, group), never from a platform RNG, so a split file is reproducible
from its options. A split file (`FORMAT`) lists each side's clip ids by label, a manifest checksum of
the clips it was made from (`dinos.splits.manifest_checksum`) and its own content checksum.

Pure part: `holdout`, `kfold`, `asd`, `build_record`, `check_record`. I/O part: `make`, `write`,
`load`, `datasets_of`.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SplitError
from .splits import canonical_json, content_checksum, manifest_checksum

FORMAT = "dinos-protocol-split"
FORMAT_VERSION = 1
PROTOCOLS = ("asd", "holdout", "kfold")
SIDES = ("train", "validation", "test")


@dataclass(frozen=True)
class ClipRef:
    """What a protocol needs of a row."""

    clip_id: str
    label: str
    group: str
    stratum: str  # `machine/section`


def _key(*parts) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()


def _groups(clips: Sequence[ClipRef]) -> dict[str, list[ClipRef]]:
    out: dict[str, list[ClipRef]] = {}
    for c in clips:
        out.setdefault(c.group, []).append(c)
    for g, members in out.items():
        labels = {c.label for c in members}
        if len(labels) > 1:
            raise SplitError(f"group {g!r} holds clips of several labels {sorted(labels)}; a group must be one label")
    return out


def _check_groups(clips: Sequence[ClipRef]) -> None:
    """Every group is one label and one (machine, section): otherwise no side assignment keeps it whole."""
    seen: dict[str, tuple[str, str]] = {}
    for c in clips:
        first = seen.setdefault(c.group, (c.label, c.stratum))
        if first[0] != c.label:
            raise SplitError(f"group {c.group!r} holds clips of several labels ({first[0]}, {c.label}); a group must be one label")
        if first[1] != c.stratum:
            raise SplitError(f"group {c.group!r} spans machine/section {first[1]} and {c.stratum}")


def _ordered(groups: dict[str, list[ClipRef]], protocol: str, seed: int, stratum: str) -> list[list[ClipRef]]:
    names = sorted(groups, key=lambda g: _key(protocol, seed, stratum, g))
    return [groups[g] for g in names]


def _strata(clips: Sequence[ClipRef], with_label: bool) -> dict[str, list[ClipRef]]:
    out: dict[str, list[ClipRef]] = {}
    for c in clips:
        out.setdefault(f"{c.stratum}/{c.label}" if with_label else c.stratum, []).append(c)
    return dict(sorted(out.items()))


def _take(groups: list[list[ClipRef]], target: int) -> tuple[list[ClipRef], list[list[ClipRef]]]:
    """Groups from the front until at least `target` clips are taken; (taken clips, remaining groups)."""
    taken: list[ClipRef] = []
    i = 0
    while i < len(groups) and len(taken) < target:
        taken += groups[i]
        i += 1
    return taken, groups[i:]


def holdout(clips: Sequence[ClipRef], test_fraction: float = 0.2, seed: int = 0) -> list[dict[str, list[ClipRef]]]:
    """One fold `{train, test}`; each stratum sends round(test_fraction * n) clips (whole groups) to test."""
    _check_groups(clips)
    if not 0 < test_fraction < 1:
        raise SplitError(f"test_fraction must be in (0, 1), got {test_fraction}")
    fold = {"train": [], "test": []}
    for stratum, members in _strata(clips, True).items():
        groups = _ordered(_groups(members), "holdout", seed, stratum)
        target = math.floor(test_fraction * len(members) + 0.5)
        if len(groups) >= 2:
            target = min(max(target, 1), len(members) - len(groups[-1]))
        test, rest = _take(groups, target)
        fold["test"] += test
        fold["train"] += [c for g in rest for c in g]
    return [fold]


def kfold(clips: Sequence[ClipRef], folds: int = 5, seed: int = 0) -> list[dict[str, list[ClipRef]]]:
    """`folds` folds `{train, test}`: every clip is in exactly one fold's test side."""
    _check_groups(clips)
    if folds < 2:
        raise SplitError(f"k-fold needs at least 2 folds, got {folds}")
    assign: dict[str, int] = {}
    for stratum, members in _strata(clips, True).items():
        load = [0] * folds
        for group in _ordered(_groups(members), "kfold", seed, stratum):
            k = min(range(folds), key=lambda i: (load[i], i))
            load[k] += len(group)
            for c in group:
                assign[c.clip_id] = k
    out = []
    for k in range(folds):
        out.append({"train": [c for c in clips if assign[c.clip_id] != k],
                    "test": [c for c in clips if assign[c.clip_id] == k]})
    return out


def asd(clips: Sequence[ClipRef], validation_fraction: float = 0.0, seed: int = 0) -> list[dict[str, list[ClipRef]]]:
    """One fold `{train, [validation,] test}` per the anomaly-detection protocol (module docstring)."""
    _check_groups(clips)
    if not 0 <= validation_fraction < 1:
        raise SplitError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    fold: dict[str, list[ClipRef]] = {"train": [], "validation": [], "test": []}
    for stratum, members in _strata(clips, False).items():
        known = [c for c in members if c.label in ("normal", "anomaly")]
        normals = _ordered(_groups([c for c in known if c.label == "normal"]), "asd", seed, stratum + "/normal")
        anomalies = _ordered(_groups([c for c in known if c.label == "anomaly"]), "asd", seed, stratum + "/anomaly")
        n_anom = sum(len(g) for g in anomalies)
        if not n_anom:
            raise SplitError(f"{stratum}: no anomalous clip; the asd protocol tests on every anomaly")
        val_anom, test_groups = _take(anomalies, math.floor(validation_fraction * n_anom + 0.5))
        if validation_fraction > 0 and (not val_anom or not test_groups):
            raise SplitError(f"{stratum}: too few anomalous groups ({len(anomalies)}) for a validation slice")
        test_anom = [c for g in test_groups for c in g]
        val_norm, normals = _take(normals, len(val_anom))
        test_norm, normals = _take(normals, len(test_anom))
        train = [c for g in normals for c in g]
        if len(val_norm) < len(val_anom) or len(test_norm) < len(test_anom) or not train:
            raise SplitError(
                f"{stratum}: {sum(len(g) for g in anomalies)} anomalies need at least as many normal clips for "
                "validation/test plus some for training"
            )
        fold["train"] += train
        fold["validation"] += val_norm + val_anom
        fold["test"] += test_norm + test_anom
    if not fold["validation"]:
        del fold["validation"]
    return [fold]


def _by_label(side: list[ClipRef]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in side:
        out.setdefault(c.label, []).append(c.clip_id)
    return {k: sorted(v) for k, v in sorted(out.items())}


def build_record(clips: Sequence[ClipRef], protocol: str, *, corpus: str, config: str | None, seed: int = 0,
                 test_fraction: float = 0.2, folds: int = 5, validation_fraction: float = 0.0) -> dict:
    """The content of a protocol split file (its `content_sha256` is added when written)."""
    if protocol not in PROTOCOLS:
        raise SplitError(f"unknown protocol {protocol!r} (expected one of {PROTOCOLS})")
    if len({c.clip_id for c in clips}) != len(clips):
        raise SplitError("clip ids are not unique")
    options = {"seed": seed}
    if protocol == "holdout":
        made, options["test_fraction"] = holdout(clips, test_fraction, seed), test_fraction
    elif protocol == "kfold":
        made, options["folds"] = kfold(clips, folds, seed), folds
    else:
        made, options["validation_fraction"] = asd(clips, validation_fraction, seed), validation_fraction
    ids, labels = [c.clip_id for c in clips], [c.label for c in clips]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "protocol": protocol,
        "corpus": corpus,
        "config": config,
        "options": options,
        "manifest": {"sha256": manifest_checksum(ids, labels), "clips": len(ids),
                     "groups": len({c.group for c in clips}), "class_counts": dict(sorted(Counter(labels).items()))},
        "folds": [{"fold": k, **{side: _by_label(f[side]) for side in SIDES if side in f}} for k, f in enumerate(made)],
    }


def side_clips(record: dict, side: str, fold: int = 0) -> dict[str, str]:
    """clip id -> label of one side of one fold (empty when the fold has no such side)."""
    f = record["folds"][fold]
    return {cid: lab for lab, ids in f.get(side, {}).items() for cid in ids}


def check_record(record: dict, where=None) -> None:
    """`SplitError` unless the record is consistent: sides disjoint, asd train normal-only, k-fold tests partition."""
    try:
        if record.get("format") != FORMAT or record.get("format_version") != FORMAT_VERSION:
            raise SplitError(f"not a {FORMAT} v{FORMAT_VERSION} file", where)
        n = record["manifest"]["clips"]
        tested: Counter = Counter()
        for k in range(len(record["folds"])):
            seen: dict[str, str] = {}
            for side in SIDES:
                for cid, lab in side_clips(record, side, k).items():
                    if cid in seen:
                        raise SplitError(f"fold {k}: clip {cid!r} is on two sides", where)
                    seen[cid] = lab
            if record["protocol"] == "asd" and set(side_clips(record, "train", k).values()) - {"normal"}:
                raise SplitError(f"fold {k}: the asd train side must hold normal clips only", where)
            if record["protocol"] != "asd" and len(seen) != n:
                raise SplitError(f"fold {k}: covers {len(seen)} clips, the manifest {n}", where)
            tested.update(side_clips(record, "test", k).keys())
        if record["protocol"] == "kfold" and (len(tested) != n or set(tested.values()) != {1}):
            raise SplitError("k-fold test sides do not partition the clips", where)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise SplitError(f"malformed protocol split file ({type(exc).__name__}: {exc})", where) from None


# ------------------------------------------------------------------------------------------------
# I/O
# ------------------------------------------------------------------------------------------------
def write(path: str | os.PathLike, record: dict, *, overwrite: bool = False) -> Path:
    """Write `record` canonically with its content checksum (atomic; an existing file only with `overwrite`)."""
    from .io import write_text

    path = Path(path)
    check_record(record, path)
    if path.exists() and not overwrite:
        raise SplitError("split file exists; pass overwrite=True (--overwrite) to replace it", path)
    rec = {k: v for k, v in record.items() if k != "content_sha256"}
    rec["content_sha256"] = content_checksum(rec)
    return write_text(path, canonical_json(rec))


def load(path: str | os.PathLike) -> dict:
    """Read and check a protocol split file; `SplitError` naming it when damaged or edited."""
    import json

    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SplitError("split file does not exist", path) from None
    except (OSError, ValueError) as exc:
        raise SplitError(f"split file is unreadable ({exc})", path) from None
    if not isinstance(record, dict) or content_checksum(record) != record.get("content_sha256"):
        raise SplitError("checksum mismatch: the split file was edited or damaged; make it again", path)
    check_record(record, path)
    return record


def clip_refs(ds) -> list[ClipRef]:
    """ClipRefs of a built `datasets.Dataset` of the clip schema."""
    from .schema import decoded_column

    labels = decoded_column(ds, "label")
    cols = {c: ds[c] for c in ("clip_id", "group_id", "machine", "section")}
    return [ClipRef(cid, lab, grp or cid, f"{m}/{s}")
            for cid, lab, grp, m, s in zip(cols["clip_id"], labels, cols["group_id"], cols["machine"], cols["section"],
                                           strict=True)]


def _build(corpus: str, config: str | None, data_dir, cache_dir, builder_kwargs):
    import datasets

    from .api import load_dataset

    dd = load_dataset(corpus, config, data_dir=data_dir, cache_dir=cache_dir, decode=False, **builder_kwargs)
    return datasets.concatenate_datasets([dd[s] for s in sorted(dd)]) if len(dd) > 1 else dd[next(iter(dd))]


def make(corpus: str, data_dir, out, *, protocol: str, config: str | None = None, seed: int = 0,
         test_fraction: float = 0.2, folds: int = 5, validation_fraction: float = 0.0, cache_dir=None,
         overwrite: bool = False, **builder_kwargs) -> dict:
    """Build `corpus`/`config` from `data_dir`, make the protocol's split file at `out`; returns the record."""
    ds = _build(corpus, config, data_dir, cache_dir, builder_kwargs)
    record = build_record(clip_refs(ds), protocol, corpus=corpus, config=config, seed=seed,
                          test_fraction=test_fraction, folds=folds, validation_fraction=validation_fraction)
    record["options"]["builder"] = {k: v for k, v in sorted(builder_kwargs.items()) if v is not None}
    write(out, record, overwrite=overwrite)
    return load(out)


def datasets_of(record_or_path, data_dir, *, fold: int = 0, cache_dir=None, decode: bool = True,
                channel=None, sampling_rate=None) -> dict:
    """`{side: datasets.Dataset}` of one fold, rebuilt from `data_dir` with the builder options the file
    records; `SplitError` when the data no longer holds the clips the file was made from."""
    from .api import decode_audio

    record = record_or_path if isinstance(record_or_path, dict) else load(record_or_path)
    ds = _build(record["corpus"], record["config"], data_dir, cache_dir, record["options"].get("builder", {}))
    refs = clip_refs(ds)
    if manifest_checksum([r.clip_id for r in refs], [r.label for r in refs]) != record["manifest"]["sha256"]:
        raise SplitError("the data differs from the clips the split file was made from (manifest checksum)", data_dir)
    index = {r.clip_id: i for i, r in enumerate(refs)}
    out = {}
    for side in SIDES:
        ids = side_clips(record, side, fold)
        if ids:
            sub = ds.select(sorted(index[c] for c in ids))
            out[side] = decode_audio(sub, channel=channel, sampling_rate=sampling_rate) if decode else sub
    return out
