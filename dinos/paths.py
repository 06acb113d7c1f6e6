"""Path safety: names that come from manifests, CSVs or split files must stay inside their root."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import AudioError, LayoutError, UnsafePathError


def check_relative(relative: str, *, source: str | os.PathLike | None = None) -> str:
    """Return `relative` if it is a plain relative path (no absolute path, drive, `..` or NUL)."""
    where = source if source is not None else relative
    if not relative or "\x00" in relative:
        raise UnsafePathError(f"empty or NUL-containing path {relative!r}", where)
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).is_absolute() or PureWindowsPath(relative).drive:
        raise UnsafePathError(f"absolute path {relative!r} where a relative path is required", where)
    if ".." in PurePosixPath(relative.replace("\\", "/")).parts:
        raise UnsafePathError(f"path {relative!r} climbs out of its root with '..'", where)
    return relative


def safe_join(root: str | os.PathLike, relative: str, *, source: str | os.PathLike | None = None) -> Path:
    """`root / relative`, refusing absolute paths, `..` components and symlinks that leave `root`.

    `source` names the file the path came from (a CSV, a split file) for the error message.
    """
    where = source if source is not None else relative
    check_relative(relative, source=where)
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    base = Path(root).resolve()
    full = base.joinpath(*parts)
    resolved = full.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePathError(f"path {relative!r} resolves to {resolved}, outside {base} (symlink?)", where)
    return full


def is_within(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """True if `path` (resolved, symlinks followed) lies inside `root`."""
    base = Path(root).resolve()
    resolved = Path(path).resolve()
    return resolved == base or base in resolved.parents


def printable(name: str) -> str:
    """`name` with undecodable bytes (file names that are not UTF-8) shown as `\\xNN` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_source(root: str | os.PathLike, relative: str) -> Path:
    """`root / relative` for a file a builder is about to read, after three checks.

    - its name encodes as UTF-8 (a non-UTF-8 name cannot be stored in a row): `LayoutError`;
    - it exists (a dangling symlink, a file removed since the scan): `AudioError`;
    - it resolves inside `root`, symlinked files and folders followed: `UnsafePathError`.

    Every builder calls it for every file before reading it, whatever the corpus.
    """
    shown = printable(relative)
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        raise LayoutError("file name is not valid UTF-8; rename the file", Path(root) / shown) from None
    full = Path(root) / relative
    if not full.exists():
        if full.is_symlink():
            raise AudioError(f"dangling symlink: its target {os.readlink(full)!r} does not exist", full)
        raise AudioError("file does not exist", full)
    base = Path(root).resolve()
    resolved = full.resolve()
    if base not in resolved.parents:
        raise UnsafePathError(f"resolves to {resolved}, outside data_dir {base} (symlink); refused", full)
    return full
