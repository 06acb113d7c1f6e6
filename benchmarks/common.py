"""Shared helpers: timing (median of interleaved repeats), figures with targets, machine description."""

from __future__ import annotations

import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class Figure:
    """One reported number, its target (a readable rule) and whether the run met it (None: no target)."""

    section: str
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    #: for a ratio: the two measurements it divides (dinos, the baseline) and their unit
    dinos: float | None = None
    baseline: float | None = None
    basis: str = ""

    def line(self) -> str:
        status = "" if self.met is None else ("  [MET]" if self.met else "  [MISSED]")
        target = f"  (target: {self.target})" if self.target else ""
        note = f"  -- {self.note}" if self.note else ""
        # a ratio with a goal shows 3 significant digits: "0.50 x ... [MISSED]" hid a 0.499
        value = f"{self.value:.3g}" if self.unit == "x" and self.target and abs(self.value) < 100 else fmt(self.value)
        return f"{self.name}: {value} {self.unit}{target}{status}{note}"

    def to_dict(self) -> dict:
        return asdict(self)


def goal_of(target: str) -> tuple[str, float] | None:
    """`(">=", 0.9)` from a target text such as ">= 0.9" or "<= 3 (flat)"; None for a target without a number."""
    import re

    m = re.match(r"\s*(>=|<=|<|>)\s*([0-9.]+)", target or "")
    return (m.group(1), float(m.group(2))) if m else None


def summary_table(figures: list[Figure]) -> str:
    """One table of every figure with a goal: metric, dinos, baseline, ratio (or value), goal, met?"""
    rows = [("metric", "dinos", "baseline", "ratio / value", "goal", "met?")]
    for f in figures:
        if f.met is None:
            continue
        unit = f" {f.basis}" if f.basis else ""
        d = "-" if f.dinos is None else fmt(f.dinos) + unit
        b = "-" if f.baseline is None else fmt(f.baseline) + unit
        rows.append((f"{f.section.split('.', 1)[-1].strip()}: {f.name}", d, b, f"{f.value:.3g} {f.unit}", f.target,
                     "yes" if f.met else "NO"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def fmt(x: float) -> str:
    if x == 0 or abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def median_rates(methods: dict[str, Callable[[], int]], repeats: int = 3) -> dict[str, float]:
    """Items per second of each method: median over `repeats` rounds, methods interleaved per round.

    Each callable does its work and returns how many items it processed. Interleaving spreads the
    noise of a shared machine over every method instead of penalising whichever ran during a spike.
    The first round runs the methods in the given order, each later round in its own fixed shuffled
    order (seeded by the round: the same orders on every run): a method's speed depends on what ran
    just before it (what that left in the CPU caches: a method right after one that wrote 24 MB ran
    up to ~25 % slower), so a fixed order would give every method the same neighbour in every round.
    """
    rates: dict[str, list[float]] = {k: [] for k in methods}
    names = list(methods)
    for r in range(repeats):
        order = names[:] if r == 0 else random.Random(r).sample(names, len(names))
        for name in order:
            fn = methods[name]
            t0 = time.perf_counter()
            n = fn()
            rates[name].append(n / (time.perf_counter() - t0))
    return {k: statistics.median(v) for k, v in rates.items()}


def median_seconds(fn: Callable[[], object], repeats: int = 3) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def machine() -> str:
    """One line naming the CPU, core count, memory and the library versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    import datasets
    import numpy
    import soundfile

    from dinos import wav

    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
        f"datasets {datasets.__version__}, numpy {numpy.__version__}, soundfile {soundfile.__version__}, "
        f"libsndfile {soundfile.__libsndfile_version__}; PCM_16 scaling: {wav.scaling()}"
    )


def run_standalone(run, workdir: str | None, prefix: str, **kwargs) -> int:
    """Print the machine and every figure of `run(base, **kwargs)`, in `workdir` or a temporary folder
    (removed afterwards): the body of a benchmark module's own `main`."""
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=prefix))
    base.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    try:
        for fig in run(base, **kwargs):
            print(fig.line(), flush=True)
    finally:
        if not workdir:
            shutil.rmtree(base, ignore_errors=True)
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0
