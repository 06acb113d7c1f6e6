"""Validation of an export directory (`dinos validate export DIR`): the manifest, every shard (presence,
size, sha256, rows), stray or leftover files, and the whole card against the manifest and shards.
Re-exported as `dinos.export.validate_export`."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import DinosError, UnsafePathError
from .export_layout import (
    CARD_NAME,
    DATA_DIR,
    EXPORT_MARKER,
    PARTIAL_PREFIX,
    PENDING_MANIFEST,
    STAGING_DIR,
    shard_glob,
)
from .export_manifest import Manifest, Shard, read_manifest, sha256_file
from .paths import safe_join


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def validate_export(export_dir: str | os.PathLike, *, checksums: bool = True) -> list[str]:
    """Problems found in an export directory (empty list = valid). Each names the file.

    Checks the manifest, every shard's presence, size, sha256 (unless `checksums=False`) and row
    count, Parquet files the manifest does not list (a load would pick them up), leftovers of
    an interrupted export, and the whole card against the manifest and shards: its `configs:`
    block, and its `dataset_info` (features with ClassLabel names, split names, row counts, sizes).
    """
    root = Path(export_dir)
    problems: list[str] = []
    try:
        manifest = read_manifest(root)
    except DinosError as exc:
        return [str(exc)]
    listed = set()
    for config, splits in manifest.configs.items():
        for split, info in splits.items():
            if sum(s.num_rows for s in info.shards) != info.num_rows:
                problems.append(f"{root / EXPORT_MARKER}: {config}/{split} row count disagrees with its shards")
            for shard in info.shards:
                listed.add(shard.path)
                problems.extend(_check_shard(root, shard, checksums))
    for leftover in (STAGING_DIR, PENDING_MANIFEST):
        if (root / leftover).exists():
            problems.append(f"{root / leftover}: leftover of an interrupted export")
    data = root / DATA_DIR
    for path in sorted(data.rglob("*")) if data.is_dir() else []:
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.name.startswith(PARTIAL_PREFIX):
            problems.append(f"{path}: leftover of an interrupted export")
        elif rel not in listed and path.suffix == ".parquet":
            problems.append(f"{path}: Parquet file not listed in {EXPORT_MARKER} (a load would include it)")
    problems.extend(_check_card(root, manifest))
    return problems


def _check_shard(root: Path, shard: Shard, checksums: bool) -> list[str]:
    try:
        path = safe_join(root, shard.path, source=root / EXPORT_MARKER)
    except UnsafePathError as exc:
        return [f"{root / EXPORT_MARKER}: shard path {shard.path!r} leaves the export directory ({exc.reason})"]
    if not path.is_file():
        return [f"{path}: shard listed in {EXPORT_MARKER} is missing"]
    size = path.stat().st_size
    if size != shard.num_bytes:
        return [f"{path}: size {size} bytes, manifest records {shard.num_bytes}"]
    if checksums and sha256_file(path) != shard.sha256:
        return [f"{path}: sha256 differs from the manifest (file changed or corrupt)"]
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - any reader failure is a problem to report
        return [f"{path}: not a readable Parquet file ({exc})"]
    if rows != shard.num_rows:
        return [f"{path}: {rows} rows, manifest records {shard.num_rows}"]
    return []


def _check_card(root: Path, manifest: Manifest) -> list[str]:
    from .cards import read_card_header

    card = root / CARD_NAME
    try:
        header = read_card_header(card.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{card}: missing (stock `datasets` needs its `configs:` block)"]
    except DinosError as exc:
        return [f"{card}: {exc.reason}"]
    want = {
        c: {s: shard_glob(c, s) for s in splits} for c, splits in manifest.configs.items()
    }
    found = {}
    for entry in header.get("configs") or []:
        files = entry.get("data_files") or []
        found[entry.get("config_name")] = {f.get("split"): f.get("path") for f in files if isinstance(f, dict)}
    problems = []
    if found != want:
        problems.append(f"{card}: `configs:` block does not match {EXPORT_MARKER} (regenerate the export)")
    return problems + _check_card_info(root, card, header, manifest)


def _shard_features(root: Path, manifest: Manifest, config: str):
    """The `datasets.Features` recorded in the first shard of `config` (the shards are the truth:
    their sha256 is checked against the manifest); None if no shard carries them."""
    import datasets
    import pyarrow.parquet as pq

    for info in manifest.configs[config].values():
        for shard in info.shards:
            try:
                meta = pq.read_schema(safe_join(root, shard.path)).metadata or {}
                return datasets.Features.from_dict(json.loads(meta[b"huggingface"])["info"]["features"])
            except (OSError, KeyError, ValueError, UnsafePathError, TypeError):
                continue  # missing or broken shards are reported by _check_shard
    return None


def _check_card_info(root: Path, card: Path, header: dict, manifest: Manifest) -> list[str]:
    """The card's `dataset_info` against the manifest and shards: one entry per exported config,
    its features (ClassLabel names included) equal to the shards' and its split names, row counts
    and byte sizes equal to the manifest's. Stock `datasets` trusts these: swapped label names
    would relabel every row, a wrong `num_examples` breaks every load."""
    import datasets

    entries = header.get("dataset_info")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return [f"{card}: no `dataset_info` block (regenerate the export)"]
    by_config = {e.get("config_name", "default"): e for e in entries if isinstance(e, dict)}
    problems = []
    for extra in sorted(set(by_config) - set(manifest.configs), key=str):
        problems.append(f"{card}: `dataset_info` describes config {extra!r}, which {EXPORT_MARKER} does not list")
    for config, splits in manifest.configs.items():
        entry = by_config.get(config)
        if entry is None:
            problems.append(f"{card}: `dataset_info` has no entry for config {config!r}")
            continue
        try:
            card_feats = datasets.Features._from_yaml_list(entry.get("features") or [])
        except Exception as exc:  # noqa: BLE001 - any unreadable features block is a problem to report
            problems.append(f"{card}: `dataset_info` features of {config!r} are unreadable ({exc})")
        else:
            want = _shard_features(root, manifest, config)
            if want is not None and card_feats != want:
                diff = sorted(k for k in set(want) | set(card_feats) if want.get(k) != card_feats.get(k))
                problems.append(
                    f"{card}: `dataset_info` features of {config!r} differ from the shards' in "
                    f"{', '.join(diff)} (e.g. ClassLabel names edited: labels would be read wrong)"
                )
        card_splits = {s.get("name"): s for s in entry.get("splits") or [] if isinstance(s, dict)}
        if set(card_splits) != set(splits):
            problems.append(
                f"{card}: `dataset_info` splits of {config!r} are {sorted(map(str, card_splits))}, "
                f"{EXPORT_MARKER} lists {sorted(splits)}"
            )
        for split, info in splits.items():
            got = card_splits.get(split)
            if got is None:
                continue
            if got.get("num_examples") != info.num_rows or got.get("num_bytes") != info.num_bytes:
                problems.append(
                    f"{card}: {config}/{split} size in `dataset_info` ({got.get('num_examples')} rows, "
                    f"{got.get('num_bytes')} bytes) differs from {EXPORT_MARKER} ({info.num_rows} rows, "
                    f"{info.num_bytes} bytes)"
                )
    return problems
