"""Conformance of a local DINOS copy with the paper (Tables 1-2): what `dinos validate dinos` reports.

`check_dinos(data_dir)` compares the copy's file counts per class, sensor and pretraining category,
and (reading audio headers) sample rates, channels and durations, with the figures the paper
publishes; `format_table` renders the comparison. Layout and grammar faults raise `DinosError`;
unreadable audio is collected, not raised, so that one report lists every corrupt file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .audio import probe
from .errors import AudioError


@dataclass
class Row:
    """One compared figure: what the paper says and what the copy holds."""

    check: str
    expected: object
    found: object

    @property
    def differs(self) -> bool:
        return self.expected != self.found

    @property
    def diff(self) -> str:
        if isinstance(self.expected, int) and isinstance(self.found, int):
            return f"{self.found - self.expected:+d}" if self.differs else "0"
        return "differs" if self.differs else ""


@dataclass
class DinosReport:
    """The compared figures and the unreadable files (`path: reason`) of one copy."""

    rows: list[Row] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # "path: reason"

    @property
    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.differs]


def _duration_rows(label: str, infos: list, seconds: float, sr: int) -> list[Row]:
    want = round(seconds * sr)
    rates = Counter(i.sample_rate for _, i in infos)
    chans = Counter(i.channels for _, i in infos)
    bad_len = [p for p, i in infos if i.frames != want]
    return [
        Row(f"{label}: files not at {sr} Hz", 0, sum(n for r, n in rates.items() if r != sr)),
        Row(f"{label}: files not mono", 0, sum(n for c, n in chans.items() if c != 1)),
        Row(
            f"{label}: files not {seconds:g} s long" + (f" (e.g. {bad_len[0]})" if bad_len else ""),
            0,
            len(bad_len),
        ),
    ]


def check_dinos(data_dir, *, read_headers: bool = True) -> DinosReport:
    """Compare a DINOS tree with Tables 1-2 of the paper. Layout/grammar faults raise; unreadable
    audio is collected in `corrupt`; everything else is a `Row` (expected vs found)."""
    from .loaders import dinos as D
    from .tasks import DINOS_DOWNSTREAM_SECONDS, DINOS_PRETRAIN_SECONDS, PAPER_TABLE1_BENCHMARK

    root = Path(data_dir).expanduser().resolve()
    D.check_layout(root)
    report = DinosReport()
    down, asd = [], []
    for dataset in D.DATASET_FOLDERS.values():
        for split in D.DOWNSTREAM_DIRS:
            files = D.scan_downstream(root, dataset, split, strict=True)
            (asd if dataset.endswith("_anomaly") else down).extend((dataset, f) for f in files)

    per_class = Counter(f.fields.task_class for _, f in down)
    for c in D.CLASSES:
        report.rows.append(Row(f"Table 2 {c.task} {c.dataset} {c.name}", c.paper_count, per_class.get(c.task, 0)))
    per_sensor = Counter((ds, f.fields.sensor) for ds, f in down)
    for (ds, sensor), n in PAPER_TABLE1_BENCHMARK.items():
        report.rows.append(Row(f"Table 1 {ds} {sensor}", n, per_sensor.get((ds, sensor), 0)))
    for tid, spec in D.ASD_TASKS.items():
        labels = Counter(f.fields.label for ds, f in asd if ds == spec["dataset"])
        for lab, n in spec["paper_counts"].items():
            report.rows.append(Row(f"Table 2 {tid} {spec['dataset']} {lab}", n, labels.get(lab, 0)))

    pre = D.scan_pretrain(root, strict=True)
    per_cat = Counter(f.fields.machine for f in pre)
    for cat in D.PRETRAIN_CATEGORIES:
        report.rows.append(Row(f"Table 1 pretraining {cat.title} recordings", cat.paper_recordings, per_cat.get(cat.name, 0)))

    if read_headers:
        groups = (
            ("downstream", [f for _, f in down + asd], DINOS_DOWNSTREAM_SECONDS),
            ("pretraining", pre, DINOS_PRETRAIN_SECONDS),
        )
        for label, files, seconds in groups:
            infos = []
            for f in files:
                try:
                    infos.append((f.path, probe(root / f.path)))
                except AudioError as exc:
                    report.corrupt.append(f"{f.path}: {exc.reason}")
            if files:
                report.rows.extend(_duration_rows(label, infos, seconds, D.SAMPLE_RATE))
    return report


def format_table(rows: list[Row], only_differences: bool = False) -> str:
    """The rows as a fixed-width table (paper, found, diff); differing rows are marked `*`."""
    shown = [r for r in rows if r.differs or not only_differences]
    w = max([len(r.check) for r in shown] + [5])
    lines = [f"{'check':<{w}}  {'paper':>8}  {'found':>8}  {'diff':>7}", "-" * (w + 29)]
    for r in shown:
        mark = "  *" if r.differs else ""
        lines.append(f"{r.check:<{w}}  {r.expected!s:>8}  {r.found!s:>8}  {r.diff:>7}{mark}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# MIMII DUE against the paper's Table 1
# --------------------------------------------------------------------------------------------
def check_mimii_due(data_dir) -> list:
    """Compare a MIMII DUE tree's clip counts with the paper's Table 1 (no audio is read).

    Returns the loader's `CountCheck` rows: `ok`, `differs`, or `known discrepancy of the source` where
    the published files are known to differ from the printed table (gearbox 00)."""
    import warnings

    from .loaders import mimii_due as M

    root = Path(data_dir).expanduser().resolve()
    with warnings.catch_warnings():  # scan warnings (ground-truth reports) are not conformance results
        warnings.simplefilter("ignore")
        splits = M.scan(root)
    rows = [f.fields for files in splits.values() for f in files]
    return M.compare_counts(M.section_counts(rows))


def format_count_checks(checks: list) -> str:
    """The MIMII DUE count comparison as an aligned text table (differences marked `*`)."""
    head = f"{'machine':<8} {'sec':>3} {'field':<12} {'paper':>9} {'found':>9}  status"
    lines = [head, "-" * (len(head) + 30)]
    for c in checks:
        mark = " *" if c.status == "differs" else ""
        note = f" ({c.note})" if c.note else ""
        lines.append(f"{c.machine:<8} {c.section:>3} {c.field:<12} {c.paper:>9} {c.found:>9}  {c.status}{note}{mark}")
    return "\n".join(lines)
