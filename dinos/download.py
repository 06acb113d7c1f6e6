"""`dinos download`: fetch a corpus' official archives and unpack them into the layout its loader reads.

The archives of a corpus are facts of its `CorpusInfo` (`INFO.archives`: URL, file name, part, year,
machine, md5/size where the publisher gives them, and the folder the content belongs in). For each
selected archive this module

1. downloads it to `<out>/.dinos-download/<file>.part`, resuming an interrupted download with an HTTP
   `Range` request (a server that ignores the range restarts it from zero);
2. checks it: the size against `Content-Length`/`Content-Range` and the published size, and the md5
   where one is published (`DownloadError` naming the archive on any mismatch; a corrupt file is
   deleted, a short one is kept so that the next run resumes it);
3. unpacks it (zip) into a staging folder, refusing members that would escape it (absolute paths,
   `..`, links) with `UnsafePathError`, then moves the files into `<out>/<unpack_to>/` without ever
   replacing a different existing file;
4. records it as done in `<out>/.dinos-download/state.json`, so that a rerun skips it (idempotent).

`mirror=` (`--mirror URL`) replaces the scheme and host of every URL: a mirror serves the same paths.
Nothing here runs at import time; only the standard library is used for HTTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .corpus import Archive, CorpusInfo
from .errors import DinosError, UnsafePathError
from .io import write_json

STATE_DIR = ".dinos-download"
STATE_FILE = "state.json"
CHUNK = 1 << 20
TIMEOUT_S = 60


class DownloadError(DinosError, OSError):
    """An archive could not be fetched, is truncated, or does not match its published checksum."""


@dataclass
class DownloadReport:
    """What a `download()` call did, archive by archive."""

    out: Path
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already done in an earlier run
    unverified: list[str] = field(default_factory=list)  # no published md5 to check against
    files: int = 0

    def __str__(self) -> str:
        lines = [f"{self.out}: {len(self.downloaded)} archive(s) downloaded and unpacked "
                 f"({self.files} files), {len(self.skipped)} already present"]
        if self.unverified:
            lines.append(f"no published checksum for {len(self.unverified)} archive(s) (size checked only): "
                         + ", ".join(self.unverified[:5]) + (" ..." if len(self.unverified) > 5 else ""))
        return "\n".join(lines)


def select(info: CorpusInfo, *, year: int | None = None, machines: Iterable[str] | None = None,
           parts: Iterable[str] | None = None) -> list[Archive]:
    """The archives of `info` for a year, machine types and parts; `DinosError` if nothing matches."""
    wanted = set(machines) if machines else None
    want_parts = set(parts) if parts else None
    years = sorted({a.year for a in info.archives if a.year is not None})
    if year is None and len(years) > 1:
        raise DinosError(f"{info.name} has archives for several years {years}; pass --year")
    if year is not None and year not in years:
        raise DinosError(f"no {info.name} archives for year {year}; known years: {years or 'none'}")
    chosen = [
        a for a in info.archives
        if (year is None or a.year == year)
        and (wanted is None or a.machine in wanted)
        and (want_parts is None or a.part in want_parts)
    ]
    if wanted is not None:
        known = {a.machine for a in info.archives if year is None or a.year == year}
        unknown = sorted(wanted - known)
        if unknown:
            raise DinosError(f"no {info.name} archives for machine type(s) {unknown}; known: {sorted(known)}")
    if not chosen:
        raise DinosError(f"no {info.name} archives match the selection")
    return chosen


def resolve_url(url: str, mirror: str | None) -> str:
    """`url` with scheme and host replaced by those of `mirror` (which may add a path prefix)."""
    if not mirror:
        return url
    m = urllib.parse.urlsplit(mirror)
    if m.scheme not in ("http", "https") or not m.netloc:
        raise DinosError(f"--mirror must be an http(s) URL, got {mirror!r}")
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((m.scheme, m.netloc, m.path.rstrip("/") + u.path, u.query, ""))


def _total_from_headers(headers, offset: int, status: int) -> int | None:
    if status == 206:
        rng = headers.get("Content-Range", "")  # bytes a-b/total
        try:
            start = int(rng.split()[1].split("-")[0])
            total = rng.rsplit("/", 1)[1]
        except (IndexError, ValueError):
            raise DownloadError(f"malformed Content-Range {rng!r}") from None
        if start != offset:
            raise DownloadError(f"server resumed at byte {start}, asked for {offset}")
        return None if total == "*" else int(total)
    length = headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def fetch(url: str, dest: Path, *, expected_size: int | None = None,
          progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download `url` to `dest`, resuming from `dest.part`; returns `dest` once complete.

    A short transfer keeps the `.part` file (the next call resumes) and raises `DownloadError`.
    """
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "dinos-download"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=TIMEOUT_S)  # noqa: S310 - http(s) only (resolve_url)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: complete if the server's total says so
            total = (exc.headers.get("Content-Range") or "").rsplit("/", 1)[-1]
            if (total.isdigit() and int(total) == offset) or expected_size == offset:
                os.replace(part, dest)
                return dest
        raise DownloadError(f"HTTP {exc.code} {exc.reason} for {url}", dest.name) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"cannot reach {url} ({getattr(exc, 'reason', exc)})", dest.name) from None
    with resp:
        status = resp.status
        if status == 200 and offset:
            offset = 0  # the server ignored the range: start again
        total = _total_from_headers(resp.headers, offset, status)
        if total is not None and expected_size is not None and total != expected_size:
            raise DownloadError(f"server reports {total} bytes, the published size is {expected_size}", dest.name)
        total = total if total is not None else expected_size
        with open(part, "ab" if offset else "wb") as fh:
            done = offset
            try:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            except (OSError, urllib.error.URLError) as exc:
                raise DownloadError(f"transfer broke off after {done} bytes ({exc}); run again to resume",
                                    dest.name) from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"truncated: got {size} of {total} bytes; run again to resume", dest.name)
    os.replace(part, dest)
    return dest


def md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _safe_member(name: str, archive: str) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise UnsafePathError(f"archive member {name!r} would be written outside the target folder", archive)
    return p


def unpack(archive_path: Path, target: Path, staging: Path) -> int:
    """Unpack a zip into `target` through `staging`; returns the number of files. Refuses escaping
    members and links; never replaces an existing file whose content differs."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        try:
            zf = zipfile.ZipFile(archive_path)
        except zipfile.BadZipFile:
            raise DownloadError("not a zip archive (corrupt or truncated download)", archive_path.name) from None
        with zf:
            members = zf.infolist()
            for info in members:  # check everything before writing anything
                _safe_member(info.filename, archive_path.name)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafePathError(f"archive member {info.filename!r} is a symbolic link", archive_path.name)
            for info in members:
                rel = _safe_member(info.filename, archive_path.name)
                if info.is_dir() or not rel.parts:
                    continue
                dest = staging.joinpath(*rel.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        count = 0
        moves = []
        for src in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = src.relative_to(staging)
            dest = target / rel
            if dest.exists():
                if dest.is_file() and dest.stat().st_size == src.stat().st_size and md5_file(dest) == md5_file(src):
                    continue  # the same file from an earlier (interrupted) unpack
                raise DownloadError(f"refusing to replace existing {dest} with a different file", archive_path.name)
            moves.append((src, dest))
        for src, dest in moves:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            count += 1
        return count
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"done": {}}
    except (OSError, ValueError) as exc:
        raise DownloadError(f"unreadable download state ({exc}); delete it to start over", path) from None


def download(
    info: CorpusInfo,
    out: str | os.PathLike,
    *,
    year: int | None = None,
    machines: Iterable[str] | None = None,
    parts: Iterable[str] | None = None,
    mirror: str | None = None,
    keep_archives: bool = False,
    progress: bool = True,
) -> DownloadReport:
    """Download, verify and unpack the selected archives of a corpus into `out` (see the module doc)."""
    archives = select(info, year=year, machines=machines, parts=parts)
    root = Path(out).expanduser()
    if root.exists() and not root.is_dir():
        raise DinosError("output path exists and is not a directory", root)
    work = root / STATE_DIR
    work.mkdir(parents=True, exist_ok=True)
    state_path = work / STATE_FILE
    state = _read_state(state_path)
    report = DownloadReport(root)
    for arc in archives:
        key = f"{arc.year or ''}/{arc.filename}"
        if key in state["done"]:
            report.skipped.append(arc.filename)
            continue
        url = resolve_url(arc.url, mirror)
        bar = _bar(arc.filename, arc.size) if progress else None
        try:
            path = fetch(url, work / arc.filename, expected_size=arc.size,
                         progress=(lambda done, total, b=bar: b.update_to(done, total)) if bar else None)
        finally:
            if bar:
                bar.close()
        if arc.md5:
            got = md5_file(path)
            if got != arc.md5:
                path.unlink()
                raise DownloadError(f"md5 {got} does not match the published {arc.md5}; the file was deleted, "
                                    "run again to download it anew", arc.filename)
        else:
            report.unverified.append(arc.filename)
        n = unpack(path, root / arc.unpack_to, work / f"unpack-{arc.filename}")
        report.files += n
        report.downloaded.append(arc.filename)
        state["done"][key] = {"url": arc.url, "md5": arc.md5 or md5_file(path), "files": n}
        write_json(state_path, state)
        if not keep_archives:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return report


def _bar(name: str, size: int | None):
    from tqdm import tqdm

    class _Bar(tqdm):
        def update_to(self, done: int, total: int | None) -> None:
            if total is not None and self.total != total:
                self.total = total
            self.update(done - self.n)

    return _Bar(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False)
