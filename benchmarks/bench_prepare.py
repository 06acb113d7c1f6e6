"""Target 2: preparing a corpus (building the Arrow cache), against a bare header scan, up to the real
DINOS size.

    python -m benchmarks.bench_prepare [--quick] [--workdir DIR] [--repeats N]

The corpora are simulated with hard links (no audio is copied): one 59-s 48 kHz PCM_16 recording per
pretraining category linked into `recordings` files of the DINOS_Pretrain layout, and one 1-s clip
linked into `clips` files of the downstream layout (25 classes, train and test). The full run uses the
real DINOS size: 66,600 pretraining recordings (3.93 M one-second windows) and 7,500 clips. Everything
is written under the work folder and removed afterwards.

Figures (each build runs in a fresh subprocess with a fresh cache; medians of interleaved repeats):
- build / bare header scan, for the 59-s recordings (`segment="1s"`) and for the 1-s clip files. The
  bare scan is `os.walk` + `soundfile.SoundFile` per file (its header: frames, rate) + one pyarrow table of the windows (path, start,
  length), timed in a subprocess too. Goal: <= 3x. Module imports happen before the clock on both sides (for the build: `datasets`, the
  loader, and `scipy.io`, which `datasets` imports when it makes its first builder).
- peak RSS of the build at 1 h against 328 h of audio (quick: 82 h). Goal: <= 1.5x.
- cached reload of the whole tree (recordings + clips) with `dinos.load_dataset`. Goal: < 2 s.
Hard links are one file on disk, so the duplicate check (`dinos.builder.duplicate_groups`) sees one
inode per source and reads nothing; distinct recordings of one size are compared by a 8-kB sample each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .common import Figure

SECTION = "2. preparing a corpus"
SAMPLE_RATE = 48_000
RECORDING_SECONDS = 59
REAL_RECORDINGS = 66_600  # DINOS_Pretrain (SPEC: 66.6 k recordings, 3.93 M one-second windows)
REAL_CLIPS = 7_500


def _own_peak_rss_mib() -> float:
    """This process's peak RSS. `ru_maxrss` is not used for it: Linux carries it across fork+exec,
    so a child would report its parent's size at fork time when that is larger."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the simulated corpus -----------------------------------------------------------------------
def _write_sources(folder: Path) -> tuple[list[Path], Path]:
    """One 59-s recording per pretraining category and one 1-s clip (PCM_16, noise)."""
    import numpy as np
    import soundfile as sf

    from dinos.loaders.dinos import PRETRAIN_CATEGORIES

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    recs = []
    for i, _ in enumerate(PRETRAIN_CATEGORIES):
        path = folder / f"rec{i}.wav"
        sf.write(str(path), (rng.standard_normal(RECORDING_SECONDS * SAMPLE_RATE) * 1000).astype(np.int16),
                 SAMPLE_RATE, subtype="PCM_16")
        recs.append(path)
    clip = folder / "clip.wav"
    sf.write(str(clip), (rng.standard_normal(SAMPLE_RATE) * 1000).astype(np.int16), SAMPLE_RATE, subtype="PCM_16")
    return recs, clip


def link_corpus(root: Path, sources: tuple[list[Path], Path], recordings: int, clips: int) -> Path:
    """A DINOS tree of `recordings` 59-s recordings and `clips` 1-s clips, all hard links."""
    from dinos.loaders.dinos import CLASSES, DOWNSTREAM_DIRS, PRETRAIN_CATEGORIES, PRETRAIN_DIR

    recs, clip = sources
    for i in range(recordings):
        c = i % len(PRETRAIN_CATEGORIES)
        folder = root / PRETRAIN_DIR / PRETRAIN_CATEGORIES[c].folder
        if i < len(PRETRAIN_CATEGORIES):
            folder.mkdir(parents=True, exist_ok=True)
        os.link(recs[c], folder / f"rec_{i:06d}.wav")
    slots = [(split, top, c) for split, top in DOWNSTREAM_DIRS.items() for c in CLASSES]
    for i in range(clips):
        split, top, c = slots[i % len(slots)]
        folder = root / top / c.dataset / c.folder
        if i < len(slots):
            folder.mkdir(parents=True, exist_ok=True)
        sensor = "mic" if (i // len(slots)) % 2 else "stethoscope"
        os.link(clip, folder / f"{sensor}_{split}_{i // len(slots):05d}.wav")
    return root


# -- subprocess workers --------------------------------------------------------------------------
def header_scan(root: str, segment: float | None) -> int:
    """The bare baseline: walk, the header of each WAV through `soundfile.SoundFile` (frames and rate; the
    fastest plain soundfile call: `soundfile.info` opens the same way and then also fetches libsndfile's
    log and format descriptions, ~1.3x the time), one pyarrow table of the windows."""
    import numpy as np
    import pyarrow as pa
    import soundfile as sf

    paths, counts, win = [], [], []
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".wav"):
                full = os.path.join(dirpath, name)
                with sf.SoundFile(full) as info:  # the header alone (`sf.info` also reads the log and format names)
                    frames, rate = info.frames, info.samplerate
                w = frames if segment is None else round(segment * rate)
                paths.append(full)
                counts.append(frames // w)
                win.append(w)
    counts_a = np.asarray(counts)
    idx = np.repeat(np.arange(len(paths)), counts_a)
    starts = np.concatenate([np.arange(n) * w for n, w in zip(counts, win, strict=True)]) if paths else []
    table = pa.table({"path": pa.array(paths).take(pa.array(idx)), "start_frame": pa.array(starts),
                      "num_frames": pa.array(np.repeat(np.asarray(win), counts_a))})
    return table.num_rows


def _worker(data_dir: str, cache_dir: str, what: str) -> dict:
    """One measurement in this (fresh) process. `what`: `scan:recordings|clips` or `build:...`."""
    from dinos.loaders.dinos import DOWNSTREAM_DIRS, PRETRAIN_DIR

    mode, part = what.split(":")
    import numpy  # noqa: F401 - imports stay outside the clock on both sides
    import pyarrow  # noqa: F401
    import soundfile  # noqa: F401

    if mode == "build":
        import datasets  # noqa: F401
        import scipy.io  # noqa: F401 - `datasets` imports it when it makes its first builder (streaming patches)

        import dinos.builder  # noqa: F401
        import dinos.loaders.dinos  # noqa: F401
    if mode == "scan":
        folders = [PRETRAIN_DIR] if part == "recordings" else list(DOWNSTREAM_DIRS.values())
        t0 = time.perf_counter()
        rows = sum(header_scan(os.path.join(data_dir, f), 1.0 if part == "recordings" else None) for f in folders)
        return {"seconds": time.perf_counter() - t0, "rows": rows}
    import dinos

    config, kwargs = ("pretraining", {"segment": "1s"}) if part == "recordings" else ("all", {})
    t0 = time.perf_counter()
    ds = dinos.load_dataset("dinos", config, data_dir=data_dir, cache_dir=cache_dir, decode=False, **kwargs)
    seconds = time.perf_counter() - t0
    rss = _own_peak_rss_mib()
    t1 = time.perf_counter()
    dinos.load_dataset("dinos", config, data_dir=data_dir, cache_dir=cache_dir, decode=False, **kwargs)
    reload = time.perf_counter() - t1
    return {"seconds": seconds, "rows": sum(len(d) for d in ds.values()), "rss_mib": rss, "reload": reload}


def _run(data_dir: Path, cache_dir: Path, what: str) -> dict:
    shutil.rmtree(cache_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "benchmarks.bench_prepare", "--worker", what, str(data_dir), str(cache_dir)]
    env = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS="1", TQDM_DISABLE="1", PYTHONWARNINGS="ignore")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{what} subprocess failed:\n{out.stderr[-3000:]}")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ratio(data_dir: Path, cache: Path, part: str, repeats: int) -> tuple[float, dict, dict]:
    """Median build seconds / median bare-scan seconds (interleaved), and the last results."""
    scans, builds = [], []
    for _ in range(repeats):
        s = _run(data_dir, cache, f"scan:{part}")
        b = _run(data_dir, cache, f"build:{part}")
        if s["rows"] != b["rows"]:
            raise RuntimeError(f"{part}: the build made {b['rows']} rows, the scan {s['rows']}")
        scans.append(s)
        builds.append(b)
    ratio = statistics.median(b["seconds"] for b in builds) / statistics.median(s["seconds"] for s in scans)
    scan = {**scans[-1], "seconds": statistics.median(s["seconds"] for s in scans)}
    rounds = [b["seconds"] / s["seconds"] for b, s in zip(builds, scans, strict=True)]
    build = {**builds[-1], "seconds": statistics.median(b["seconds"] for b in builds),
             "reload": statistics.median(b["reload"] for b in builds), "rounds": (min(rounds), max(rounds))}
    return ratio, scan, build


def run(workdir: Path, quick: bool = False, repeats: int = 3) -> list[Figure]:
    recordings, clips = (3_000, 1_000) if quick else (REAL_RECORDINGS, REAL_CLIPS)
    # --quick keeps 3 interleaved rounds: one round of a sub-second build moved the ratio by 2.5-3.8x
    workdir = Path(workdir)
    sources = _write_sources(workdir / "sources")
    cache = workdir / "cache"
    figs: list[Figure] = []
    made: list[Path] = []
    try:
        tree = link_corpus(workdir / "tree", sources, recordings, clips)  # the whole corpus
        clip_tree = link_corpus(workdir / "clips", sources, 0, clips)  # config `all` would add the recordings
        made += [tree, clip_tree]
        scale = f"{recordings:,} x 59-s recordings + {clips:,} clips"
        for part, label in (("recordings", "59-s recordings, segment=1s"), ("clips", "1-s clip files")):
            ratio, scan, build = _ratio(tree if part == "recordings" else clip_tree, cache, part, repeats)
            figs.append(Figure(SECTION, f"build / bare header scan, {label}", ratio, "x", "<= 3", ratio <= 3.0,
                               note=f"{build['rows']:,} rows: build {build['seconds']:.2f} s, scan "
                                    f"{scan['seconds']:.2f} s ({scale}); per round {build['rounds'][0]:.2f}-"
                                    f"{build['rounds'][1]:.2f} x; peak RSS {build['rss_mib']:.0f} MiB",
                               dinos=build["seconds"], baseline=scan["seconds"], basis="s"))
            if part == "recordings":
                figs.append(Figure(SECTION, f"cached reload of the whole tree ({recordings + clips:,} files)",
                                   build["reload"], "s", "< 2", build["reload"] < 2.0))
        hours = (1, 82) if quick else (1, 328)
        peaks = {}
        for h in hours:
            n = max(1, round(h * 3600 / RECORDING_SECONDS))
            sub = link_corpus(workdir / f"rss_{h}h", sources, n, 0)
            made.append(sub)
            peaks[h] = _run(sub, cache, "build:recordings")["rss_mib"]
            shutil.rmtree(sub)
        growth = peaks[hours[1]] / peaks[hours[0]]
        figs.append(Figure(SECTION, f"build peak RSS {hours[1]} h / {hours[0]} h of audio", growth, "x", "<= 1.5",
                           growth <= 1.5, note=f"{peaks[hours[0]]:.0f} -> {peaks[hours[1]]:.0f} MiB",
                           dinos=peaks[hours[1]], baseline=peaks[hours[0]], basis="MiB"))
    finally:
        for path in [*made, workdir / "sources", cache]:
            shutil.rmtree(path, ignore_errors=True)
    return figs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3,000 recordings + 1,000 clips (under a minute)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", help="where the simulated corpus goes (default: a temporary folder)")
    parser.add_argument("--worker", nargs=3, metavar=("WHAT", "DATA", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        what, data, cache = args.worker
        print(json.dumps(_worker(data, cache, what)))
        return 0
    from .common import run_standalone

    return run_standalone(run, args.workdir, "dinos-bench-prepare-", quick=args.quick, repeats=args.repeats)


if __name__ == "__main__":
    raise SystemExit(main())
