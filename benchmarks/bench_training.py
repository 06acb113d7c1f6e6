"""Target 3: training input. The batched torch log-Mel front end against per-clip librosa, and a
torch `DataLoader` over segmented clips against an IMPACT (paper configuration) training step.

Runs on the CPU here (device "cpu"); with CUDA available the front end and the step run on the GPU
too (`--device cuda`), the loader stays on the CPU.

Standalone: `python -m benchmarks.bench_training [--quick] [--input-only] [--device cuda]`;
`--input-only` measures only the input pipeline (shuffled `ClipBatches` at 4 k vs 1.2 M rows, the
`DataLoader` against the in-process loop), without the log-Mel front end and the IMPACT step.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .common import Figure, median_rates
from .corpus import RECORDING_SECONDS, SAMPLE_RATE, write_pretrain_corpus

SECTION = "3. training input"


def _librosa_logmel(x: np.ndarray) -> np.ndarray:
    import librosa

    m = librosa.feature.melspectrogram(
        y=x, sr=48_000, n_fft=2048, win_length=2048, hop_length=376, n_mels=128, center=True,
        pad_mode="constant", power=2.0,
    )
    return librosa.power_to_db(m, ref=1.0, amin=1e-10, top_db=80.0)


def frontend_figures(waves: np.ndarray, device: str, repeats: int) -> list[Figure]:
    import torch

    from dinos.model.frontend import LogMel

    fe = LogMel().to(device)
    batch = torch.from_numpy(waves).to(device)
    with torch.no_grad():
        ours = fe(batch)[:, 0].cpu().numpy()
    ref = np.stack([_librosa_logmel(w) for w in waves[:4]])
    diff = float(np.abs(ours[:4] - ref).max())

    def torch_batched() -> int:
        with torch.no_grad():
            fe(batch)
        if device == "cuda":
            torch.cuda.synchronize()
        return len(waves)

    def librosa_per_clip() -> int:
        for w in waves:
            _librosa_logmel(w)
        return len(waves)

    torch_batched()
    librosa_per_clip()
    rates = median_rates({"torch": torch_batched, "librosa": librosa_per_clip}, repeats)
    return [
        Figure(SECTION, f"log-Mel, torch LogMel on batches of {len(waves)} ({device})", rates["torch"], "clips/s"),
        Figure(SECTION, "log-Mel, librosa per clip (CPU)", rates["librosa"], "clips/s",
               note=f"max |difference| {diff:.2e} dB"),
        Figure(SECTION, f"ratio torch batched ({device}) / librosa per clip", rates["torch"] / rates["librosa"], "x"),
    ]


def synthetic_index(workdir: Path, sources: list[Path], rows: int, name: str):
    """A decoded clip dataset of `rows` 1-s windows over `rows / 59` recordings, built cheaply: the
    recordings are hard links to a few real 59-s files, the rows an in-memory Arrow table (the
    same columns a `segment="1s"` build has for the decoder), the transform dinos' decoder."""
    import datasets
    import pyarrow as pa
    import pyarrow.compute as pc

    from dinos.audio import AudioDecoder

    per = RECORDING_SECONDS
    n_rec = -(-rows // per)
    folder = workdir / f"index_{name}"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for r in range(n_rec):
        link = folder / f"rec_{r:07d}.wav"
        if not link.exists():
            os.link(sources[r % len(sources)], link)
        names.append(str(link))
    row = np.arange(rows)
    paths = pc.take(pa.array(names), pa.array(row // per))
    audio = pa.StructArray.from_arrays([pa.nulls(rows, pa.binary()), paths], names=["bytes", "path"])
    table = pa.table({
        "audio": audio, "path": paths,
        "start_frame": pa.array((row % per) * SAMPLE_RATE, pa.int64()),
        "num_frames": pa.array(np.full(rows, SAMPLE_RATE), pa.int64()),
        "sample_rate": pa.array(np.full(rows, SAMPLE_RATE), pa.int32()),
        "channels": pa.array(np.ones(rows), pa.int32()),
    })
    ds = datasets.Dataset(datasets.table.InMemoryTable(table))
    return ds.with_transform(AudioDecoder(channel=0))


def shuffle_figures(workdir: Path, sources: list[Path], quick: bool, repeats: int) -> list[Figure]:
    """Shuffled `ClipBatches` throughput at ~4 k rows against ~1.2 M rows (same batches per run)."""
    from dinos.fast import ClipBatches

    small = synthetic_index(workdir, sources, 4_096, "small")
    t0 = time.perf_counter()
    large = synthetic_index(workdir, sources, 1_200_000, "large")
    build_s = time.perf_counter() - t0
    n_batches = 20 if quick else 40
    makers = {
        "4 k rows, full shuffle": ClipBatches(small, 64, shuffle=True),
        "1.2 M rows, full shuffle": ClipBatches(large, 64, shuffle=True),
        "1.2 M rows, block shuffle (8)": ClipBatches(large, 64, shuffle="block", block=8),
    }
    t0 = time.perf_counter()
    for batches in makers.values():  # once per process / epoch: fields and permutation
        batches[0]
    setup_s = time.perf_counter() - t0

    cpu: dict[str, list[float]] = {k: [] for k in makers}  # CPU seconds per clip, each round

    def run_for(name, batches):
        def fn() -> int:
            n, c0 = 0, time.process_time()
            for b in range(1, n_batches + 1):
                n += batches[b]["waves"].shape[0]
            cpu[name].append((time.process_time() - c0) / n)
            return n
        return fn

    rates = median_rates({k: run_for(k, v) for k, v in makers.items()}, max(repeats, 5))
    # the rounds above repeat the same batches (files opened in round 1 stay open after it); a
    # full epoch visits each of the 20 k recordings first once: that first visit, measured alone
    large_full, t0 = makers["1.2 M rows, full shuffle"], time.perf_counter()
    fresh = sum(large_full[b]["waves"].shape[0] for b in range(n_batches + 1, 2 * n_batches + 1))
    first_visit = fresh / (time.perf_counter() - t0)
    small_rate, large_rate = rates["4 k rows, full shuffle"], rates["1.2 M rows, full shuffle"]
    figs = [Figure(SECTION, f"ClipBatches(64) shuffled, {k}", v, "clips/s",
                   note=f"{n_batches} batches") for k, v in rates.items()]
    figs += [
        Figure(SECTION, "ClipBatches(64) shuffled, 1.2 M rows, full shuffle, batches not seen before",
               first_visit, "clips/s", note=f"{n_batches} batches, one pass: most files opened for the first time"),
        Figure(SECTION, "ratio shuffled 1.2 M rows / 4 k rows", large_rate / small_rate, "x", ">= 0.8",
               large_rate / small_rate >= 0.8, note="full shuffle, one permutation per epoch",
               dinos=large_rate, baseline=small_rate, basis="clips/s"),
        Figure(SECTION, "ratio shuffled 1.2 M rows / 4 k rows, by CPU time per clip",
               float(np.median(cpu["4 k rows, full shuffle"]) / np.median(cpu["1.2 M rows, full shuffle"])), "x",
               note="the same rounds; CPU time moves less with the machine's load than wall time"),
        Figure(SECTION, "ratio block shuffle / full shuffle at 1.2 M rows",
               rates["1.2 M rows, block shuffle (8)"] / large_rate, "x"),
        Figure(SECTION, "one-off per process: row fields + epoch permutation (3 datasets)", setup_s, "s",
               note=f"building the 1.2 M-row index took {build_s:.1f} s"),
    ]
    return figs


def loader_figures(workdir: Path, sources: list[Path], quick: bool, repeats: int) -> tuple[list[Figure], float]:
    """`DataLoader(ClipBatches, num_workers=2)` against the same batches in a plain in-process loop."""
    import torch

    from dinos.fast import ClipBatches

    ds = synthetic_index(workdir, sources, 60_000, "loader")
    batches = ClipBatches(ds, 64, shuffle=True)
    copied = ClipBatches(ds, 64, shuffle=True, worker_buffers=False)
    warm, timed = 8, 40 if quick else 120

    def start(b):
        loader = torch.utils.data.DataLoader(b, batch_size=None, sampler=b.sampler(), num_workers=2,
                                             persistent_workers=True, prefetch_factor=2)
        it = iter(loader)
        for _ in range(warm):  # worker start-up, per-process field extraction: not throughput
            next(it)
        return it

    state = {"it": start(batches), "copy": start(copied), "b": 0}
    pids = {"workers": _worker_pids(state["it"]), "copied": _worker_pids(state["copy"]), "in-process": []}
    cpu = {k: [0.0, 0.0, 0] for k in pids}  # main-process CPU s, worker CPU s, batches

    def settled(name) -> float | None:
        """Worker CPU once the workers have refilled their prefetch queue and gone idle."""
        last = _cpu_seconds(pids[name])
        for _ in range(100):
            time.sleep(0.03)
            now = _cpu_seconds(pids[name])
            if now == last:
                return now
            last = now
        return last

    def workers() -> int:
        for _ in range(timed):
            next(state["it"])["waves"]
        return timed * 64

    def workers_copied() -> int:
        for _ in range(timed):
            next(state["copy"])["waves"]
        return timed * 64

    def in_process() -> int:
        for _ in range(timed):
            torch.from_numpy(batches[state["b"] % len(batches)]["waves"])
            state["b"] += 1
        return timed * 64

    batches[0]
    methods = {"in-process": in_process, "workers": workers, "copied": workers_copied}
    rates = median_rates(methods, repeats)
    for name, fn in methods.items():  # one more round per method, for its CPU time per batch
        w0, c0 = settled(name), time.process_time()
        n = fn()
        c1, w1 = time.process_time(), settled(name)
        workers_s = (w1 - w0) if None not in (w0, w1) else float("nan")
        cpu[name] = [c1 - c0, workers_s, n // 64]
    state.clear()
    ratio = rates["workers"] / rates["in-process"]
    ms = {k: (1e3 * m / n, 1e3 * w / n) for k, (m, w, n) in cpu.items()}
    cost = (ms["workers"][0] + ms["workers"][1]) / ms["in-process"][0]
    return [
        Figure(SECTION, "ClipBatches(64) shuffled, in-process loop", rates["in-process"], "clips/s"),
        Figure(SECTION, "DataLoader(ClipBatches(64) shuffled, num_workers=2)", rates["workers"], "clips/s",
               note="pooled shared-memory batch buffers"),
        Figure(SECTION, "DataLoader(..., num_workers=2), worker_buffers=False", rates["copied"], "clips/s",
               note="numpy batches: torch copies each into new shared memory"),
        Figure(SECTION, "ratio DataLoader 2 workers / in-process loop", ratio, "x", ">= 1.0", ratio >= 1.0,
               note=f"{os.cpu_count()} CPU cores", dinos=rates["workers"], baseline=rates["in-process"],
               basis="clips/s"),
        Figure(SECTION, "CPU per batch, in-process loop", ms["in-process"][0], "ms"),
        Figure(SECTION, "CPU per batch, DataLoader (2 workers)", sum(ms["workers"]), "ms",
               note=f"main process {ms['workers'][0]:.2f} ms + workers {ms['workers'][1]:.2f} ms"),
        Figure(SECTION, "CPU per batch, DataLoader, worker_buffers=False", sum(ms["copied"]), "ms",
               note=f"main process {ms['copied'][0]:.2f} ms + workers {ms['copied'][1]:.2f} ms"),
        Figure(SECTION, "ratio CPU per batch, DataLoader (main + workers) / in-process", cost, "x",
               note="what the worker path costs over decoding in place; with c free cores the DataLoader "
                    "can reach c / this ratio x the in-process rate (CPU time: less load-dependent than rates)"),
    ], rates["workers"]


def _worker_pids(it) -> list[int]:
    return [p.pid for p in getattr(it, "_workers", [])]


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of the processes `pids` so far (Linux `/proc`; None elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def train_step_rate(batch_size: int, steps: int, device: str) -> float:
    """Clips/s of full IMPACT training steps (paper configuration): forward, backward, clip, AdamW, EMA."""
    import torch

    from dinos.model.impact import Impact, ImpactConfig

    torch.manual_seed(0)
    model = Impact(ImpactConfig.paper()).to(device)
    opt = torch.optim.AdamW(model.student.parameters(), lr=5e-5, weight_decay=1e-5)
    wave = (0.1 * torch.randn(batch_size, 48_000)).to(device)

    def step() -> None:
        out = model(wave)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.student.parameters(), 0.5)
        opt.step()
        model.update_teacher()
        if device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return batch_size / float(np.median(times))


def run(workdir: Path, quick: bool = False, repeats: int = 3, device: str = "cpu",
        input_only: bool = False) -> list[Figure]:
    import dinos
    from dinos.loaders.dinos import PRETRAIN_DIR

    root = workdir / "training_corpus"
    if not root.exists():  # a kept `--workdir` reuses its corpus
        write_pretrain_corpus(root, 0.1 if quick else 0.25)
    ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s",
                            cache_dir=str(workdir / "training_cache"), channel=0)
    sources = sorted((root / PRETRAIN_DIR).rglob("*.wav"))[:4]
    figs = [] if input_only else frontend_figures(np.stack([a["array"] for a in ds[0:64]["audio"]]), device, repeats)
    figs += shuffle_figures(workdir, sources, quick, repeats)
    loader, loader_rate = loader_figures(workdir, sources, quick, repeats)
    figs += loader
    if input_only:
        return figs
    batch = 32
    train = train_step_rate(batch, 1 if quick else 2, device)
    figs += [
        Figure(SECTION, f"IMPACT paper-size training step, batch {batch} ({device})", train, "clips/s"),
        Figure(SECTION, "ratio DataLoader (2 workers) / training step", loader_rate / train, "x",
               ">= 1 (input keeps up)", loader_rate / train >= 1.0, dinos=loader_rate, baseline=train,
               basis="clips/s"),
    ]
    return figs


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller corpus, fewer batches")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where the front end and the IMPACT step run")
    parser.add_argument("--input-only", action="store_true",
                        help="only the input pipeline: no log-Mel front end, no IMPACT step")
    parser.add_argument("--workdir", help="where the corpus and indexes go (default: a temporary folder)")
    args = parser.parse_args(argv)
    from .common import run_standalone

    return run_standalone(run, args.workdir, "dinos-bench-training-", quick=args.quick, repeats=args.repeats,
                          device=args.device, input_only=args.input_only)


if __name__ == "__main__":
    raise SystemExit(main())
