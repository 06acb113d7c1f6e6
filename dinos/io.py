"""The one place that writes files: atomic writes with ordinary permissions, and the output-folder guard.

Every writer of the library (cards, split files, exports, scores, run folders, synthetic corpora)
goes through these functions, so that

- a file appears complete or not at all: it is written under a temporary name in the same folder
  (`.<name>.<pid>.<random>.part<suffix>`, the suffix kept so that writers which pick a format from
  the extension -- soundfile, `numpy.save` -- still work) and moved into place with `os.replace`;
  a crash leaves at most such a file, which `clean_partials` removes once its process is gone;
- a new file gets the permissions of any file the user creates (`0o666` minus the umask), not the
  `0o600` that `tempfile.mkstemp` gives; a replaced file keeps its mode;
- an output folder the tool did not create is never emptied, and an existing file is replaced only
  when the caller passes `overwrite=True` *and* the file was written by the tool (listed in the
  folder's marker file, `OUTPUT_MARKER`) *and* nobody edited it since (its size and content
  fingerprint, also in the marker, still match).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import DinosError

#: Marker written into every output folder the tool creates: which tool wrote it and which files.
OUTPUT_MARKER = ".dinos-output.json"
PART_SUFFIX = ".part"
#: Files up to this size are fingerprinted by content (sha256); larger ones by size and mtime.
HASH_LIMIT = 8 << 20
_PART_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}\.part(\.[^./]*)?$")
_umask_lock = threading.Lock()


class OutputError(DinosError, FileExistsError):
    """An output path would overwrite or delete something the tool did not write (or `--overwrite` is missing)."""


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux `/proc`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # elsewhere it can only be read by setting it; restore at once
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def temp_name(path: str | os.PathLike) -> Path:
    """The hidden temporary name beside `path` that an atomic write uses (keeps `path`'s suffix)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{PART_SUFFIX}{path.suffix}")


def is_temp_name(name: str) -> bool:
    """True for the name of an atomic write's temporary file (see `temp_name`)."""
    return bool(_PART_RE.match(name))


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (best effort: not every OS/filesystem allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` atomically.

    For writers that take a file name (soundfile, torch.save, safetensors, pyarrow, numpy.save):
    the temporary name ends in `path`'s own suffix. The temporary file is removed if the block
    raises (or writes nothing, which is an error). Parent folders are created. The final file has
    the mode of the file it replaces, or `0o666 & ~umask` when new.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        yield tmp
        if not tmp.is_file():
            raise DinosError("the writer produced no file", path)
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~current_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """`open()` on a temporary file that replaces `path` only when the block succeeds.

    `mode` is "w" (text, UTF-8 and "\\n" line endings unless given) or "wb". The data is flushed
    to disk before the rename.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes new files only (mode 'w' or 'wb'), got {mode!r}")
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
        kwargs.setdefault("newline", "\n")
    with atomic_path(path) as tmp, open(tmp, mode.replace("w", "x"), **kwargs) as fh:
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


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: leave its file alone
    return True


def clean_partials(folder: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """Remove the temporary files of atomic writes whose process has ended. Returns them.

    Only names this module makes (`.<name>.<pid>.<8 hex>.part[<suffix>]`) are touched, and only
    when process `<pid>` no longer runs, so a concurrent writer's file in progress is left alone.
    """
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for p in base.rglob(".*") if recursive else base.iterdir():
        m = _PART_RE.match(p.name)
        if m and p.is_file() and not p.is_symlink() and not _pid_alive(int(m.group(1))):
            p.unlink()
            removed.append(p)
    return removed


# --------------------------------------------------------------------------------------------
# Output folders
# --------------------------------------------------------------------------------------------
def fingerprint(path: str | os.PathLike) -> dict | None:
    """What `OutputDir` records of a file it wrote: size, and sha256 (small files) or mtime. None for a folder."""
    path = Path(path)
    st = path.stat()
    if path.is_dir():
        return None
    fp: dict = {"size": st.st_size}
    if st.st_size <= HASH_LIMIT:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        fp["sha256"] = h.hexdigest()
    else:
        fp["mtime_ns"] = st.st_mtime_ns
    return fp


def _clean_rel(name: str | os.PathLike, where: Path) -> str:
    from .paths import check_relative

    rel = name if isinstance(name, str) else Path(name).as_posix()
    check_relative(rel, source=where)
    rel = PurePosixPath(rel.replace("\\", "/")).as_posix()
    if rel in (".", "") or rel == OUTPUT_MARKER:
        raise OutputError(f"{rel!r} cannot be an output file name", where)
    return rel


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of an output folder (`{"tool", "files", "fingerprints"}`), or None if it has none.

    A marker that is unreadable, or lists a path outside the folder, is an `OutputError`.
    """
    path = Path(folder) / OUTPUT_MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise OutputError(f"unreadable output marker ({exc})", path) from None
    if (not isinstance(data, dict) or not isinstance(data.get("tool"), str)
            or not isinstance(data.get("files", []), list)
            or not isinstance(data.get("fingerprints", {}), dict)):
        raise OutputError("output marker is not a dinos marker", path)
    try:
        data["files"] = [_clean_rel(f, path) for f in data.get("files", [])]
    except (DinosError, TypeError, AttributeError) as exc:
        raise OutputError(f"output marker lists an unsafe path ({exc})", path) from None
    data.setdefault("fingerprints", {})
    return data


class OutputDir:
    """A folder the tool writes into, guarded so that no user file is overwritten or deleted.

    `OutputDir.open(path, tool=..., overwrite=...)`:

    - a missing folder is created and marked as the tool's;
    - an empty existing folder is adopted (marked);
    - a non-empty folder without a marker is refused (`OutputError`), whatever `overwrite` --
      unless `adopt(folder)` recognises it (returns the files an older version of the tool wrote);
    - a folder marked by another tool is refused;
    - a folder with this tool's marker is refused unless `overwrite=True`; with it, the files listed
      in the marker may be replaced (`path_for`/`write_*`) or removed (`remove_previous()`), nothing
      else -- and not even those if they were edited since the tool wrote them.

    Used as a context manager (`with OutputDir.open(...) as out:`), a failed run leaves no marked
    empty folder and no partial output in a folder it created (`discard_new`).

    Files are written with `write_text`/`write_bytes`/`write_json`, or at `path_for(name)` followed
    by `record(name)` once complete; the marker lists them with their fingerprints. A path that is
    a file, or a folder that cannot be created, is an `OutputError` naming it.
    """

    def __init__(self, root: Path, tool: str, previous: list[str], created: bool, fingerprints: dict):
        self.root = root
        self.tool = tool
        self.previous = previous
        self.created = created
        self.files: list[str] = []
        self.fingerprints: dict[str, dict | None] = dict(fingerprints)

    @classmethod
    def check_path(cls, path: str | os.PathLike) -> Path:
        """`path` expanded; `OutputError` if it exists and is not a folder (checks only, creates nothing)."""
        root = Path(path).expanduser()
        if root.exists() and not root.is_dir():
            raise OutputError("output path exists and is not a directory", root)
        return root

    @classmethod
    def open(cls, path: str | os.PathLike, *, tool: str, overwrite: bool = False,
             adopt: Callable[[Path], list[str] | None] | None = None, flag: str = "--overwrite") -> OutputDir:
        """Open (create, adopt or reopen) the output folder `path` for `tool`; see the class docstring.

        `flag` is the option that sets `overwrite`, named in the refusal message.
        """
        root = cls.check_path(path)
        created = False
        previous: list[str] = []
        fingerprints: dict = {}
        if root.is_dir():
            marker = read_marker(root)
            entries = sorted(p.name for p in root.iterdir() if p.name != OUTPUT_MARKER)
            if marker is None:
                adopted = adopt(root) if (adopt and entries) else None
                if entries and adopted is None:
                    shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
                    raise OutputError(
                        f"output directory is not empty ({shown}) and was not written by `dinos {tool}`; "
                        "choose a new or empty directory (nothing was changed)",
                        root,
                    )
                if entries and not overwrite:
                    raise OutputError(f"output directory is not empty: it holds a previous `dinos {tool}` "
                                      f"output; pass {flag} to replace it", root)
                previous = [_clean_rel(f, root) for f in adopted or []]
            elif marker["tool"] != tool:
                raise OutputError(
                    f"output directory was written by `dinos {marker['tool']}`, not `dinos {tool}`; choose another",
                    root,
                )
            elif not overwrite and entries:
                raise OutputError(f"output directory is not empty: it holds a previous `dinos {tool}` output; "
                                  f"pass {flag} to replace it", root)
            else:
                previous = list(marker["files"])
                fingerprints = {k: v for k, v in marker["fingerprints"].items() if k in previous}
        else:
            root = root.resolve()  # `a/../b`: only the folders of the resolved path are made
            top = root  # the outermost folder this run creates: a failed run removes up to it
            while not top.parent.exists() and top.parent != top:
                top = top.parent
            try:
                root.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(f"cannot create output directory ({exc.strerror})", root) from None
            created = True
        out = cls(root.resolve(), tool, previous, created, fingerprints)
        if created:
            out._created_top = top.resolve()
        out._write_marker()
        return out

    # ---------------------------------------------------------------------------------------
    def _write_marker(self) -> None:
        files = sorted(set(self.previous) | set(self.files))
        write_json(self.root / OUTPUT_MARKER, {
            "tool": self.tool,
            "files": files,
            "fingerprints": {f: self.fingerprints[f] for f in files if self.fingerprints.get(f)},
        })

    def edited(self, rel: str) -> bool:
        """True if the previous output's file `rel` changed since the tool wrote it (or cannot be checked)."""
        target = self.root / rel
        want = self.fingerprints.get(rel)
        if not want or not target.exists() or target.is_dir():
            return False
        try:
            have = fingerprint(target)
        except OSError:
            return True
        if have is None or have["size"] != want.get("size"):
            return True
        key = "sha256" if "sha256" in want else "mtime_ns"
        return have.get(key) != want.get(key) if key in have else True

    def _check_replaceable(self, rel: str) -> None:
        from .paths import is_within

        target = self.root / rel
        if not is_within(target.parent, self.root):
            raise OutputError("lies outside the output directory (a symlinked folder?); nothing changed there",
                              target)
        if not (target.exists() or target.is_symlink()) or rel in self.files:
            return
        if rel not in self.previous:
            raise OutputError(f"refusing to replace a file `dinos {self.tool}` did not write", target)
        if self.edited(rel):
            raise OutputError(f"was edited after `dinos {self.tool}` wrote it; refusing to replace it "
                              "(move it away or delete it yourself)", target)

    def path_for(self, name: str | os.PathLike) -> Path:
        """Absolute path of `name` inside the folder, recorded as the tool's; call `record` once written.

        `OutputError` if `name` exists and is not a file of the previous output, or was edited since.
        """
        rel = _clean_rel(name, self.root)
        self._check_replaceable(rel)
        if rel not in self.files:
            self.files.append(rel)
            self._write_marker()
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def record(self, name: str | os.PathLike) -> None:
        """Fingerprint `name` (written at `path_for(name)`) in the marker."""
        rel = _clean_rel(name, self.root)
        if rel not in self.files:
            self.files.append(rel)
        self.fingerprints[rel] = fingerprint(self.root / rel)
        self._write_marker()

    def write_text(self, name: str, text: str) -> Path:
        path = write_text(self.path_for(name), text)
        self.record(name)
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = write_bytes(self.path_for(name), data)
        self.record(name)
        return path

    def write_json(self, name: str, obj, **kwargs) -> Path:
        path = write_json(self.path_for(name), obj, **kwargs)
        self.record(name)
        return path

    def check_previous(self) -> None:
        """`OutputError` if any file of the previous output was edited or lies outside the folder."""
        for rel in self.previous:
            if rel not in self.files:
                self._check_replaceable(rel)

    def remove_previous(self) -> list[str]:
        """Delete the entries of the previous output that this run did not write again.

        Checks them all first (`check_previous`): if one was edited by hand, nothing is removed.
        """
        self.check_previous()
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
        self.previous = []
        self._write_marker()
        return removed

    def discard_if_unused(self) -> bool:
        """Undo `open` when the run failed before writing anything: no marker left in a folder that holds
        no output, and the folder itself removed if this run created it and it is empty. A folder with
        files of this run or of a previous output is left as it is. True if something was undone."""
        if self.files or self.previous:
            return False
        others = [p for p in self.root.iterdir() if p.name != OUTPUT_MARKER] if self.root.is_dir() else []
        if others:
            return False
        (self.root / OUTPUT_MARKER).unlink(missing_ok=True)
        if self.created:
            with contextlib.suppress(OSError):
                self.root.rmdir()
        return True

    def __enter__(self) -> OutputDir:
        return self

    def discard_new(self) -> bool:
        """Undo a failed run into a folder that this run created: remove the entries it wrote (those
        listed in the marker), the marker and the folder if nothing else is left in it. Does nothing to
        a folder that existed before (a previous output stays listed, so a rerun can replace it)."""
        if not self.created or self.previous:
            return self.discard_if_unused()
        for rel in sorted(self.files, key=lambda r: -r.count("/")):
            target = self.root / rel
            if target.is_file() or target.is_symlink():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
        (self.root / OUTPUT_MARKER).unlink(missing_ok=True)
        for folder in sorted((p for p in self.root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only the empty sub-folders `path_for` made
        folder = self.root
        top = getattr(self, "_created_top", self.root)
        while True:  # the folder, then each empty parent this run created (`mkdir(parents=True)`)
            try:
                folder.rmdir()
            except OSError:
                break
            if folder == top or top not in folder.parents:
                break
            folder = folder.parent
        self.files = []
        return True

    def __exit__(self, exc_type, exc, tb) -> None:
        """On an exception (a failed or interrupted run): `discard_new` -- a folder this run created is
        removed with what the run wrote into it; an existing folder keeps its previous output and loses
        only a marker of a run that wrote nothing. The exception propagates."""
        if exc_type is not None:
            self.discard_new()


# --------------------------------------------------------------------------------------------
# Scratch folders
# --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def scratch_dir(prefix: str, parent: str | os.PathLike | None = None) -> Iterator[Path]:
    """A temporary folder `<parent>/<prefix>-<pid>-<random>` (parent: the system temp dir), removed on exit.

    On entry, folders `<prefix>-<pid>-*` left by processes that no longer run (a run killed with
    SIGKILL cannot clean up) are removed, so a rerun cleans its own leftovers.
    """
    import tempfile

    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-[0-9a-f]{{8}}$")
    for p in base.iterdir() if base.is_dir() else []:
        m = pattern.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
    path = base / f"{prefix}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def cleanup_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into `SystemExit(143)` inside the block, so `finally` clauses and context managers
    (temporary files and folders) clean up when a run is terminated. A no-op off the main thread."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):  # noqa: ARG001 - signal handler signature
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
