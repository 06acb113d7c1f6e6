"""The export manifest (`dinos_export.json`): shards, splits and configs of an export, and reading it.
A leaf of the export modules: `dinos.export` (writing) and `dinos.export_check` (validation) both use it."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import LayoutError, UnsafePathError
from .export_layout import CARD_NAME, EXPORT_MARKER, FORMAT_NAME, FORMAT_VERSION
from .paths import check_relative


@dataclass(frozen=True)
class Shard:
    """One Parquet file of an export, as recorded in the manifest."""

    path: str  # relative to the export directory, POSIX separators
    num_rows: int
    num_bytes: int
    sha256: str


@dataclass
class SplitInfo:
    num_rows: int = 0
    num_bytes: int = 0  # sum of shard file sizes
    shards: list[Shard] = field(default_factory=list)


@dataclass
class Manifest:
    """Contents of `dinos_export.json` (no timestamps or local paths: re-exports are reproducible)."""

    corpus: str
    sampling_rate: int | None
    configs: dict[str, dict[str, SplitInfo]]  # config -> split -> info
    options: dict = field(default_factory=dict)  # builder options used (segment, hop, ...)
    dinos_version: str = ""
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION
    skipped: dict = field(default_factory=dict, compare=False)  # config -> skipped files; not in the JSON

    def shard_paths(self) -> list[str]:
        return [s.path for splits in self.configs.values() for info in splits.values() for s in info.shards]

    def files(self) -> list[str]:
        """Every file the export wrote, relative to its directory."""
        return self.shard_paths() + [CARD_NAME, EXPORT_MARKER]

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "skipped"}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where=None) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT_NAME:
                raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT_NAME!r}")
            if raw.get("version") != FORMAT_VERSION:
                raise ValueError(f"version {raw.get('version')!r} is not {FORMAT_VERSION}")
            configs = {
                c: {
                    s: SplitInfo(info["num_rows"], info["num_bytes"], [Shard(**sh) for sh in info["shards"]])
                    for s, info in splits.items()
                }
                for c, splits in raw["configs"].items()
            }
            for splits in configs.values():
                for info in splits.values():
                    for sh in [info, *info.shards]:
                        if not all(type(v) is int and v >= 0 for v in (sh.num_rows, sh.num_bytes)):
                            raise ValueError("row and byte counts must be non-negative integers")
                    for sh in info.shards:
                        if not isinstance(sh.path, str) or not isinstance(sh.sha256, str):
                            raise ValueError(f"shard path and sha256 must be strings: {sh!r}")
                        check_relative(sh.path, source=where)
            return cls(
                corpus=raw["corpus"],
                sampling_rate=raw["sampling_rate"],
                configs=configs,
                options=raw.get("options", {}),
                dinos_version=raw.get("dinos_version", ""),
            )
        except UnsafePathError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LayoutError(f"not a valid export manifest ({exc})", where) from None


def read_manifest(export_dir: str | os.PathLike) -> Manifest:
    """The manifest of an export directory; `LayoutError` naming the file if missing or malformed."""
    path = Path(export_dir) / EXPORT_MARKER
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayoutError("no export manifest: not a directory written by `dinos export`", path) from None
    return Manifest.from_json(text, path)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


class GrowingFileHasher:
    """sha256 of a file being appended to, computed by a background thread from the file itself (page
    cache) up to the offsets the writer reports as finished (`advance`), so hashing a row group
    overlaps building and writing the next one. `hexdigest(size)` waits for the rest (the last row
    group: pyarrow's writer keeps a row group in memory and writes it out only when it is complete, so
    following the file's size while it is written would gain nothing)."""

    _BLOCK = 1 << 20

    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_RDONLY)
        self._sha = hashlib.sha256()
        self._done = 0  # bytes hashed (written by the thread only)
        self._target = 0
        self._closing = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._finished = threading.Event()  # set by the thread when it ends (after closing the file)
        self._thread = threading.Thread(target=self._run, name="dinos-export-sha256", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            os.close(self._fd)
            raise

    def advance(self, offset: int) -> None:
        with self._cond:
            self._target = max(self._target, offset)
            self._cond.notify()

    def _run(self) -> None:
        view = memoryview(bytearray(self._BLOCK))
        try:
            while True:
                with self._cond:
                    while self._target <= self._done and not self._closing:
                        self._cond.wait()
                    end = self._target
                    if end <= self._done:
                        return
                while self._done < end:
                    n = os.preadv(self._fd, [view[:min(self._BLOCK, end - self._done)]], self._done)
                    if n <= 0:
                        raise OSError(f"shard ended at byte {self._done} while hashing, expected {end}")
                    self._sha.update(view[:n])
                    self._done += n
        except BaseException as exc:  # noqa: BLE001 - handed to the writer thread by hexdigest
            self._error = exc
        finally:  # the thread closes its own file: a stop interrupted by a signal cannot leak or pull it away
            os.close(self._fd)
            self._finished.set()

    def _stop(self) -> None:
        """Tell the thread to finish (up to the target set) and wait for it. An `Event`, not `Thread.join`:
        on Python 3.11 a join interrupted by a signal handler's exception marks the thread stopped, and
        the next join returns while it still runs; an interrupted `Event.wait` is simply waited on again."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._finished.wait()

    def hexdigest(self, size: int) -> str:
        """The sha256 of the file's first `size` bytes (its whole content once the writer closed it)."""
        self.advance(size)
        self._stop()
        if self._error is not None:
            raise self._error
        if self._done != size:
            raise OSError(f"hashed {self._done} bytes of a {size}-byte shard")
        return self._sha.hexdigest()

    def abort(self) -> None:
        with self._cond:
            self._target = self._done  # stop at the next block
        self._stop()
