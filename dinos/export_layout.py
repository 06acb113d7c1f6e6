"""Names of an export directory's layout (a leaf module: imports nothing of `dinos`).

Layout of an export directory::

    README.md                          card whose YAML `configs:` lists every config and split
    dinos_export.json                  manifest: corpus, configs, splits, shards (rows, bytes, sha256)
    data/<config>/<split>-NNNNN.parquet
    .dinos-output.json                 the output-folder marker of `dinos.io` (which files are the tool's)

`dinos.export` writes and validates such directories; `dinos.api` recognises them and `dinos.cards`
renders their card from these names, without importing the export machinery.
"""

from __future__ import annotations

from pathlib import Path

EXPORT_MARKER = "dinos_export.json"
FORMAT_NAME = "dinos-export"
FORMAT_VERSION = 1
CARD_NAME = "README.md"
DATA_DIR = "data"
#: Every name an export in progress uses starts with this (hidden; ignored by `datasets`).
PARTIAL_PREFIX = ".dinos-partial-"
STAGING_DIR = PARTIAL_PREFIX + "staging"  # the new data/ is built here, then moved into place in one rename
OLD_DATA_DIR = PARTIAL_PREFIX + "old-data"  # the previous data/ while an --overwrite swaps it out
PENDING_MANIFEST = PARTIAL_PREFIX + "manifest.json"  # lists the new shards while they are published
PARTIAL_NAMES = (STAGING_DIR, OLD_DATA_DIR, PENDING_MANIFEST)


def is_export_dir(path) -> bool:
    """True for a directory written by `dinos export` (it carries `dinos_export.json`)."""
    try:
        return (Path(path) / EXPORT_MARKER).is_file()
    except (OSError, TypeError, ValueError):
        return False


def shard_glob(config: str, split: str) -> str:
    """The `data_files` pattern of one config/split (used by the card and by validation)."""
    return f"{DATA_DIR}/{config}/{split}-*.parquet"


def shard_name(config: str, split: str, index: int) -> str:
    """Relative path of shard `index` of one config/split (matches `shard_glob`)."""
    return f"{DATA_DIR}/{config}/{split}-{index:05d}.parquet"
