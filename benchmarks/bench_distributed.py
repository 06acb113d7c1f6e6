"""Target 5: the Parquet export is shardable and a distributed engine (Ray Data, local mode) reads it.

Exports 1-s windows of a synthetic pretraining corpus into bounded shards, then decodes every row
(a) in one process through `dinos.load_dataset(<export dir>)` and (b) with Ray Data over the shard
files on all local cores. The same Ray code runs on a cluster (see docs/performance.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import Figure
from .corpus import write_pretrain_corpus

SECTION = "6. beyond one machine"


def _ray_decode_all(shard_dir: Path, num_cpus: int) -> tuple[int, float, float]:
    """(rows, seconds, ray.init seconds) for decoding every row of the shards with Ray Data."""
    import pyarrow.fs
    import ray

    from dinos.audio import AudioDecoder

    decoder = AudioDecoder(channel=0)

    def decode(batch):
        waves = np.stack([decoder.decode_one(a)["array"] for a in batch["audio"]])
        return {"clip_id": batch["clip_id"], "rms": np.sqrt(np.mean(np.square(waves), axis=1))}

    t0 = time.perf_counter()
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    t_init = time.perf_counter() - t0
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        rds = ray.data.read_parquet(str(shard_dir), filesystem=pyarrow.fs.LocalFileSystem())
        rds.map_batches(decode, batch_size=64).count()  # first pass starts the worker processes
        t0 = time.perf_counter()
        rds = ray.data.read_parquet(str(shard_dir), filesystem=pyarrow.fs.LocalFileSystem())
        n = rds.map_batches(decode, batch_size=64).count()
        return n, time.perf_counter() - t0, t_init
    finally:
        ray.shutdown()


def run(workdir: Path, quick: bool = False, repeats: int = 3) -> list[Figure]:
    del repeats
    import os

    import dinos
    from dinos.export import export

    root = workdir / "export_corpus"
    write_pretrain_corpus(root, 0.1 if quick else 0.25)
    out = workdir / "export"
    t0 = time.perf_counter()
    manifest = export("dinos", ["pretraining"], data_dir=root, out=out, cache_dir=str(workdir / "export_cache"),
                      segment="1s", max_shard_mb=8 if quick else 16)
    t_export = time.perf_counter() - t0
    split = manifest.configs["pretraining"]["train"]
    shard_dir = out / "data" / "pretraining"
    figs = [
        Figure(SECTION, "export: shards written", len(split.shards), "files",
               note=f"{split.num_rows} rows, {split.num_bytes / 2**20:.0f} MiB, in {t_export:.1f} s"),
    ]
    local = dinos.load_dataset(str(out), "pretraining", split="train", channel=0)
    t0 = time.perf_counter()
    n_local = sum(len(b["audio"]) for b in local.iter(batch_size=64))
    local_rate = n_local / (time.perf_counter() - t0)
    try:
        import ray  # noqa: F401
    except ImportError:
        figs.append(Figure(SECTION, "Ray Data read", 0, "rows", "every row", False,
                           note="ray not installed: pip install 'ray[data]'"))
        return figs
    n_ray, seconds, t_init = _ray_decode_all(shard_dir, os.cpu_count() or 1)
    figs += [
        Figure(SECTION, "one process, dinos.load_dataset(export).iter(64), decode", local_rate, "clips/s"),
        Figure(SECTION, f"Ray Data local mode ({os.cpu_count()} CPUs), read_parquet + map_batches decode",
               n_ray / seconds, "clips/s", note=f"second pass (workers warm); ray.init {t_init:.1f} s not included"),
        Figure(SECTION, "Ray Data rows read / rows in the export manifest", n_ray / split.num_rows, "x",
               "= 1 (every row, once)", n_ray == split.num_rows),
    ]
    return figs
