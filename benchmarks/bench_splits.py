"""Target 4: split generation for every task of every corpus (`dinos.tasks.all_tasks()`).

- Monte Carlo tasks (DINOS T1-T27): `dinos.splits.build_split_record` (10 stratified repeats) on
  manifests of the paper's Table 2 sizes (one recording per 1-s clip, as published).
- Official-protocol tasks (MIMII DUE, DCASE 2020-2026): the split is the published folders; what
  runs is the selection of the task's rows by its filters (`machine`, `section`), done with the same
  column decoding `dinos.splits.task_manifest` uses, over a metadata table per config holding 1,400
  clips for each section of that config's machine.
"""

from __future__ import annotations

import time
from pathlib import Path

from .common import Figure

SECTION = "5. split generation"
CLIPS_PER_SECTION = 1_400


def _mc_manifest(task) -> tuple[list[str], list[str], list[str]]:
    ids, labels = [], []
    for cls in task.classes:
        for i in range(cls.paper_count or 100):
            ids.append(f"{task.config}/{cls.id}/clip_{i:05d}.wav#0")
            labels.append(cls.id)
    return ids, labels, [c.rsplit("#", 1)[0] for c in ids]


def _metadata_table(pairs: list[tuple[str, int]]):
    """A `datasets.Dataset` of the clip schema's `machine`/`section`/`label` columns only."""
    import datasets
    import pyarrow as pa

    from dinos import schema

    feats = schema.features()
    machine, section, label = [], [], []
    for m, s in pairs:
        machine += [m] * CLIPS_PER_SECTION  # an open string column since machines are not a closed list
        section += [s] * CLIPS_PER_SECTION
        label += [i % 2 for i in range(CLIPS_PER_SECTION)]
    sub = datasets.Features({k: feats[k] for k in ("machine", "section", "label")})
    table = pa.table({"machine": machine, "section": section, "label": label}, schema=sub.arrow_schema)
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=sub))


def run(workdir: Path, quick: bool = False, repeats: int = 3) -> list[Figure]:
    del workdir, repeats
    from dinos import splits, tasks

    figs = []
    mc = [t for t in tasks.all_tasks() if t.has_split_files]
    official = [t for t in tasks.all_tasks() if not t.has_split_files]
    worst = ("", 0.0)
    t_all = time.perf_counter()
    for t in mc:
        ids, labels, groups = _mc_manifest(t)
        t0 = time.perf_counter()
        splits.build_split_record(
            t.name, ids, labels, groups, corpus=t.corpus, config=t.config, variant="synthetic",
            label_column=t.label_column, group_column=t.group_column, repeats=t.repeats,
            train_fraction=t.train_fraction,
        )
        dt = time.perf_counter() - t0
        worst = max(worst, (t.name, dt), key=lambda x: x[1])
    mc_seconds = time.perf_counter() - t_all
    by_config: dict[tuple, set] = {}
    for t in official:
        f = dict(t.filters)
        by_config.setdefault((t.corpus, t.config), set()).add((f["machine"], f.get("section", 0)))
    tables = {k: _metadata_table(sorted(v)) for k, v in by_config.items()}
    if quick:
        official = official[::4]
    t0 = time.perf_counter()
    for t in official:
        ds = tables[(t.corpus, t.config)]
        cols = [c for c, _ in t.filters]
        want = dict(t.filters)
        t1 = time.perf_counter()
        rows = [i for i, row in enumerate(splits._decoded_columns(ds, cols)) if row == want]
        if not rows:
            raise AssertionError(f"task {t.name} selected no rows")
        worst = max(worst, (t.name, time.perf_counter() - t1), key=lambda x: x[1])
    off_seconds = time.perf_counter() - t0
    total = mc_seconds + off_seconds
    figs += [
        Figure(SECTION, f"Monte Carlo split files, {len(mc)} DINOS tasks x 10 repeats, paper sizes", mc_seconds, "s"),
        Figure(SECTION, f"official-protocol row selection, {len(official)} MIMII DUE / DCASE tasks", off_seconds, "s",
               note=f"{len(tables)} configs, up to {max(len(d) for d in tables.values()):,} rows each"),
        Figure(SECTION, "slowest single task", worst[1], "s", "<= 1 s (interactive)", worst[1] <= 1.0, note=worst[0]),
        Figure(SECTION, f"all {len(mc) + len(official)} tasks, one after another", total, "s",
               note="a user makes one task's split at a time; the per-task figure is the interactive one"),
    ]
    return figs
