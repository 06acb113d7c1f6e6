"""The one place that writes files: atomic writes with ordinary permissions, and the output-folder guard.

Every writer of the library (cards, split files, exports, scores, run folders, synthetic corpora)
goes through these functions, so that

- a file appears complete or not at all: it is written under a temporary name in the same folder
  (`.<name>.<pid>.<random>.part`) and moved into place with `os.replace`; a crash leaves at most a
  `*.part` file that `clean_partials` removes;
- a new file gets the permissions of any file the user creates (`0o666` minus the umask), not the
  `0o600` that `tempfile.mkstemp` gives; a replaced file keeps its mode;
- an output folder the tool did not create is never emptied, and an existing file is replaced only
  when the caller passes `overwrite=True` *and* the file was written by the tool (listed in the
  folder's marker file, `OUTPUT_MARKER`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import DinosError

#: Marker written into every output folder the tool creates: which tool wrote it and which files.
OUTPUT_MARKER = ".dinos-output.json"
PART_SUFFIX = ".part"


class OutputError(DinosError, FileExistsError):
    """An output path would overwrite or delete something the tool did not write (or `--overwrite` is missing)."""


def _umask() -> int:
    # os.umask can only be read by setting it; restore at once (single-threaded callers in practice)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{PART_SUFFIX}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` atomically.

    For writers that take a file name (soundfile, torch.save, safetensors, pyarrow). The temporary
    file is removed if the block raises. Parent folders are created. The final file has the mode of
    the file it replaces, or `0o666 & ~umask` when new.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise DinosError("writer produced no file", path)
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """`open()` on a temporary file that replaces `path` only when the block succeeds.

    `mode` is "w" (text, UTF-8 and "\\n" line endings unless given) or "wb".
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes new files only (mode 'w' or 'wb'), got {mode!r}")
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "\n")
    with atomic_path(path) as tmp, open(tmp, mode.replace("w", "x"), **kwargs) as fh:  # "x": never an existing file
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8, "\\n" line endings) to `path` atomically."""
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json(path: str | os.PathLike, obj, *, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write `obj` as JSON (UTF-8, trailing newline) to `path` atomically."""
    return write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False) + "\n")


def write_with(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Call `writer(temporary_path)` and move the result to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def clean_partials(folder: str | os.PathLike) -> list[Path]:
    """Remove `*.part` temporary files this module left in `folder` (not recursive). Returns them."""
    removed = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for p in base.iterdir():
        if p.name.startswith(".") and p.name.endswith(PART_SUFFIX) and p.is_file():
            p.unlink()
            removed.append(p)
    return removed


# --------------------------------------------------------------------------------------------
# Output folders
# --------------------------------------------------------------------------------------------
def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of an output folder (`{"tool": ..., "files": [...]}`), or None if it has none."""
    path = Path(folder) / OUTPUT_MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"unreadable output marker ({exc})", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
        raise OutputError("output marker is not a dinos marker", path)
    return data


class OutputDir:
    """A folder the tool writes into, guarded so that no user file is overwritten or deleted.

    `OutputDir.open(path, tool=..., overwrite=...)`:

    - a missing folder is created and marked as the tool's;
    - an empty existing folder is adopted (marked);
    - a non-empty folder without this tool's marker is refused (`OutputError`), whatever `overwrite`;
    - a folder with this tool's marker is refused unless `overwrite=True`; with it, the files listed
      in the marker may be replaced or removed (`remove_previous()`), nothing else.

    Files are written with `write_text`/`write_bytes`/`write_json`/`path_for` and recorded in the
    marker by `commit()`. A path that is a file, or a folder that cannot be created, is an
    `OutputError` naming it.
    """

    def __init__(self, root: Path, tool: str, previous: list[str], created: bool):
        self.root = root
        self.tool = tool
        self.previous = previous
        self.created = created
        self.files: list[str] = []

    @classmethod
    def open(cls, path: str | os.PathLike, *, tool: str, overwrite: bool = False) -> OutputDir:
        root = Path(path).expanduser()
        if root.exists() and not root.is_dir():
            raise OutputError("output path exists and is not a directory", root)
        created = False
        previous: list[str] = []
        if root.is_dir():
            marker = read_marker(root)
            entries = [p for p in root.iterdir() if p.name != OUTPUT_MARKER]
            if marker is None:
                if entries:
                    raise OutputError(
                        "output directory is not empty and was not written by dinos; choose a new or empty "
                        "directory (nothing was changed)",
                        root,
                    )
            elif marker.get("tool") != tool:
                raise OutputError(
                    f"output directory was written by `{marker.get('tool')}`, not `{tool}`; choose another", root
                )
            elif not overwrite and entries:
                raise OutputError(f"output directory holds a previous `{tool}` output; pass --overwrite to replace it", root)
            else:
                previous = [str(f) for f in marker.get("files", [])]
        else:
            try:
                root.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(f"cannot create output directory ({exc.strerror})", root) from None
            created = True
        out = cls(root.resolve(), tool, previous, created)
        out._write_marker(previous)
        return out

    def _write_marker(self, files: Iterable[str]) -> None:
        write_json(self.root / OUTPUT_MARKER, {"tool": self.tool, "files": sorted(set(files))})

    def _rel(self, name: str | os.PathLike) -> str:
        from .paths import check_relative

        rel = Path(name).as_posix() if not isinstance(name, str) else name
        check_relative(rel, source=self.root)
        if rel == OUTPUT_MARKER:
            raise OutputError("the marker file is reserved", self.root / rel)
        return rel

    def path_for(self, name: str | os.PathLike) -> Path:
        """Absolute path of `name` inside the folder, recorded as written by the tool."""
        rel = self._rel(name)
        target = self.root / rel
        if target.exists() and rel not in self.previous and rel not in self.files:
            raise OutputError("refusing to replace a file dinos did not write", target)
        if rel not in self.files:
            self.files.append(rel)
            self._write_marker([*self.previous, *self.files])
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, name: str, text: str) -> Path:
        return write_text(self.path_for(name), text)

    def write_bytes(self, name: str, data: bytes) -> Path:
        return write_bytes(self.path_for(name), data)

    def write_json(self, name: str, obj, **kwargs) -> Path:
        return write_json(self.path_for(name), obj, **kwargs)

    def remove_previous(self) -> list[str]:
        """Delete the files of the previous output that this run did not write again."""
        removed = []
        for rel in self.previous:
            if rel in self.files:
                continue
            target = self.root / rel
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed.append(rel)
            elif target.is_dir():
                shutil.rmtree(target)
                removed.append(rel)
        self.previous = [r for r in self.previous if r in self.files]
        self._write_marker(self.files)
        return removed
