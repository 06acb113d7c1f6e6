"""What a build had to say, kept with the build so that a cached load says it again.

A build collects three kinds of event:

- warnings raised while it ran in this process (`strict=False` unknown names, DCASE eval-list
  disagreements, duplicate audio, ...);
- skipped files (`skip_invalid=True`), one per file with the reason;
- windows that segmentation dropped (`tail="drop"`): recordings shorter than one window (one
  warning per build naming them) and the frames of partial last windows (counted in the report).

Skips and drops may come from `datasets` worker processes (`num_proc`), so they travel through a
JSON-lines events file next to the build (one short line per event: appends are atomic). When the
build finishes, `BuildReport` is written as `dinos_build_report.json` inside the build's Arrow
folder; every later load of that cache replays its warnings (and rewrites the skip report).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPORT_NAME = "dinos_build_report.json"
REPORT_VERSION = 1

#: How many example paths a summary line names.
EXAMPLES = 5


class BuildWarning(UserWarning):
    """A warning a build stored with its cache (replayed on every cached load)."""


@dataclass
class BuildReport:
    """Events of one build. `warnings` are message strings; `skipped` {path, reason} dicts;
    `dropped_files` paths of recordings that yielded no window; `dropped_frames` frames dropped in all."""

    warnings: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    dropped_files: list[str] = field(default_factory=list)
    dropped_frames: int = 0
    tail: str = ""
    segment: str = ""

    def messages(self) -> list[str]:
        """Every warning this build gives, in a stable order: its own warnings, skips, then drops."""
        out = list(dict.fromkeys(self.warnings))
        out += [f"skipped invalid audio {s['path']}: {s['reason']}" for s in self.skipped]
        if self.dropped_files:  # frames of partial last windows alone are `tail="drop"` doing its job
            out.append(self.drop_summary())
        return out

    def drop_summary(self) -> str:
        """One line: recordings and frames that segmentation dropped."""
        head = f"segment={self.segment}, tail={self.tail!r}: "
        parts = []
        if self.dropped_files:
            names = ", ".join(self.dropped_files[:EXAMPLES]) + (", ..." if len(self.dropped_files) > EXAMPLES else "")
            parts.append(f"{len(self.dropped_files)} recording(s) shorter than one window gave no row ({names})")
        parts.append(f"{self.dropped_frames} frame(s) in all fell outside every window")
        return head + "; ".join(parts) + " (tail='pad' or 'keep' keeps them)"

    def summary(self) -> str:
        """A short human summary for a command's build line: skipped / dropped / warnings counts."""
        return (
            f"{len(self.skipped)} file(s) skipped, {len(self.dropped_files)} recording(s) and "
            f"{self.dropped_frames} frame(s) dropped by segmentation, {len(set(self.warnings))} warning(s)"
        )

    def to_json(self) -> str:
        return json.dumps({"version": REPORT_VERSION, **asdict(self)}, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> BuildReport:
        data = json.loads(text)
        data.pop("version", None)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def record_event(events_path: str | None, event: dict) -> None:
    """Append one event (a skip or a drop) to the build's events file; a no-op without one."""
    if not events_path:
        return
    line = json.dumps(event, ensure_ascii=False) + "\n"
    with open(events_path, "a", encoding="utf-8") as fh:  # one short line: appends do not interleave
        fh.write(line)


def read_events(events_path: str | os.PathLike) -> list[dict]:
    """The events appended to `events_path` (missing file: none)."""
    try:
        text = Path(events_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def report_from(caught: list[str], events: list[dict], *, segment: str = "", tail: str = "") -> BuildReport:
    """Fold the captured warning messages and the events file into one `BuildReport`."""
    report = BuildReport(warnings=list(dict.fromkeys(caught)), segment=segment, tail=tail)
    for e in events:
        if e["kind"] == "skip":
            report.skipped.append({"path": e["path"], "reason": e["reason"]})
        elif e["kind"] == "drop":
            report.dropped_frames += int(e["frames"])
            if e.get("whole"):
                report.dropped_files.append(e["path"])
    report.skipped.sort(key=lambda s: s["path"])
    report.dropped_files.sort()
    return report


def write_report(build_dir: str | os.PathLike, report: BuildReport) -> Path:
    """Store `report` inside the finished build folder (atomically)."""
    from .io import atomic_path

    path = Path(build_dir) / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(report.to_json(), encoding="utf-8")
    return path


def read_report(build_dir: str | os.PathLike) -> BuildReport | None:
    """The report stored with a build, or None when the folder has none (not built by this version)."""
    try:
        return BuildReport.from_json((Path(build_dir) / REPORT_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def emit(report: BuildReport, stacklevel: int = 3) -> None:
    """Raise every message of `report` as a `BuildWarning`, attributed to the caller `stacklevel`
    frames up. Shown on every load, not once per process: no per-location registry is kept (the
    user's `warnings` filters still apply)."""
    import sys

    frame = sys._getframe(stacklevel - 1)
    filename, lineno = frame.f_code.co_filename, frame.f_lineno
    for message in report.messages():
        warnings.warn_explicit(message, BuildWarning, filename, lineno, registry=None)
