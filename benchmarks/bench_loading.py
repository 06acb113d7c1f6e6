"""Target 1: 1-s windows of 59-s 48 kHz PCM_16 recordings decoded to float32, methods side by side.

Every method reads the same windows in the same (recording) order, whole corpus, in batches of 64,
and keeps each batch's arrays alive until the batch is complete, as a training loader would.
Reported: clips/s (median of interleaved repeats) and the ratios issue 14 asks for, against three
fair baselines (one line each in docs/performance.md):

(a) soundfile, open handles, int16 read + numpy scale: the fastest plain soundfile loop;
(b) soundfile, whole file as int16 once, then slices + scale: the sequential-order optimum;
(c) raw read rate: `os.preadv` of each window's bytes from open files, no decoding at all; also
    with the decoder's grouping (one read per run of consecutive windows of a batch, up to 2 MiB),
    the baseline of the runs row.

Two references that are not dinos paths: (c) + a plain copy of the float32 bytes per window, and
the "no-read reference": windows converted straight from the files' mapped page-cache pages (no read
call, no copy; left are the int16 loads, their page faults and the float32 writes). Neither is a
bound; dinos does not map files (docs/performance.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from .common import Figure, median_rates
from .corpus import write_pretrain_corpus

BATCH = 64
RUN_BYTES = 2 << 20  # dinos.decoder.RUN_BYTES (mono): the largest read of a run of consecutive windows
SECTION = "1. clip loading"
SCALE = np.float32(1 / 32768)


def _load(root: Path, cache: Path):
    import dinos

    ds = dinos.load_dataset("dinos", "pretraining", data_dir=root, split="train", segment="1s", cache_dir=str(cache))
    raw = ds.with_format(None)  # undecoded rows, for the baselines' window list
    meta = raw.select_columns(["path", "start_frame", "num_frames"]).to_dict()
    windows = [
        (os.path.join(root, p), s, n)
        for p, s, n in zip(meta["path"], meta["start_frame"], meta["num_frames"], strict=True)
    ]
    return ds, windows


def _batch_runs(windows):
    """`(path, start, frames, count)` per run of consecutive windows of one file within a batch of
    `BATCH`, at most `RUN_BYTES` of int16 each: the reads `dinos.decoder` makes in dataset order."""
    for i in range(0, len(windows), BATCH):
        batch, k = windows[i : i + BATCH], 0
        while k < len(batch):
            p, s, n = batch[k]
            count = 1
            while (k + count < len(batch) and batch[k + count][0] == p and batch[k + count][1] == s + count * n
                   and batch[k + count][2] == n and 2 * n * (count + 1) <= RUN_BYTES):
                count += 1
            yield p, s, n, count
            k += count


def baselines(windows) -> dict:
    """The three fair baselines (a), (b), (c) plus the float32 soundfile loop (an extra row)."""
    from dinos import wav

    def sf_int16() -> int:  # (a) open handles, seek + int16 read + one numpy scale
        handles: dict[str, sf.SoundFile] = {}
        for i in range(0, len(windows), BATCH):
            batch = []
            for p, s, n in windows[i : i + BATCH]:
                f = handles.get(p) or handles.setdefault(p, sf.SoundFile(p))
                f.seek(s)
                batch.append(np.frombuffer(f.buffer_read(n, dtype="int16"), dtype=np.int16) * SCALE)
        for f in handles.values():
            f.close()
        return len(windows)

    def sf_whole_file() -> int:  # (b) each recording read once as int16, windows are slices of it
        current, data = None, None
        for i in range(0, len(windows), BATCH):
            batch = []
            for p, s, n in windows[i : i + BATCH]:
                if p != current:
                    current, data = p, sf.read(p, dtype="int16")[0]
                batch.append(data[s : s + n] * SCALE)
        return len(windows)

    layouts = {}
    for p, _s, _n in windows:
        if p not in layouts:
            with open(p, "rb") as fh:
                layouts[p] = wav.read_file_header(fh.fileno(), os.fstat(fh.fileno()).st_size)

    def raw_pread() -> int:  # (c) the same bytes, positional reads into one reused buffer, no decoding
        fds = {p: os.open(p, os.O_RDONLY) for p in layouts}
        buf = np.empty(max(n for _p, _s, n in windows), dtype=np.int16)
        for p, s, n in windows:
            lay = layouts[p]
            os.preadv(fds[p], [buf[: min(n, lay.frames - s)]], lay.data_offset + 2 * s)
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    def raw_runs() -> int:  # (c) with the decoder's grouping: one read per run of consecutive windows
        fds = {p: os.open(p, os.O_RDONLY) for p in layouts}
        buf = np.empty(RUN_BYTES // 2, dtype=np.int16)
        for p, s, n, count in _batch_runs(windows):
            lay = layouts[p]
            os.preadv(fds[p], [buf[: n * count]], lay.data_offset + 2 * s)
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    def copy_reference() -> int:  # (c) + a plain copy of the float32 output's bytes into a reused (64, frames)
        fds = {p: os.open(p, os.O_RDONLY) for p in layouts}  # buffer: a conversion that ran at memcpy speed,
        n_max = max(n for _p, _s, n in windows)  # per window (a reference, not a bound: see the ratio row)
        buf, ones = np.empty(n_max, dtype=np.int16), np.ones(n_max, dtype=np.float32)
        block = np.empty((BATCH, n_max), dtype=np.float32)
        for j, (p, s, n) in enumerate(windows):
            lay = layouts[p]
            os.preadv(fds[p], [buf[: min(n, lay.frames - s)]], lay.data_offset + 2 * s)
            np.copyto(block[j % BATCH, :n], ones[:n])
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    def mapped_no_read() -> int:  # not a dinos path: each window converted straight from the file's
        import mmap  # page-cache pages (mapped this round, as (c) opens its files): no read call, no copy

        maps = {}
        for p in layouts:
            fd = os.open(p, os.O_RDONLY)
            maps[p] = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)  # keeps a descriptor of its own
            os.close(fd)
        pages = {p: np.frombuffer(m, dtype=np.uint8) for p, m in maps.items()}
        block = np.empty((BATCH, max(n for _p, _s, n in windows)), dtype=np.float32)  # as the goal's row
        for j, (p, s, n) in enumerate(windows):
            lay = layouts[p]
            m, off = min(n, lay.frames - s), lay.data_offset + 2 * s
            wav.scale_into(pages[p][off : off + 2 * m].view(np.int16), block[j % BATCH, :m])
        del pages
        for mapping in maps.values():
            mapping.close()
        return len(windows)

    def sf_float32() -> int:  # extra row: SoundFile.read(dtype="float32"), libsndfile converts
        handles: dict[str, sf.SoundFile] = {}
        for i in range(0, len(windows), BATCH):
            batch = []
            for p, s, n in windows[i : i + BATCH]:
                f = handles.get(p) or handles.setdefault(p, sf.SoundFile(p))
                f.seek(s)
                batch.append(f.read(n, dtype="float32"))
        for f in handles.values():
            f.close()
        return len(windows)

    return {"(a) soundfile handles + int16 + numpy scale": sf_int16,
            "(b) soundfile whole file int16 + slices": sf_whole_file,
            "(c) raw read rate (preadv, no decoding)": raw_pread,
            "(c) raw read rate, runs (one preadv per run of consecutive windows, no decoding)": raw_runs,
            "reference: (c) + a copy of the float32 bytes per window (no conversion)": copy_reference,
            "no-read reference: windows converted straight from mapped page-cache pages (not a dinos path)":
                mapped_no_read,
            "soundfile handles, float32 read (libsndfile converts)": sf_float32}


def _loop_pair() -> tuple[str, str] | None:
    """(the one-channel loop in use, the baseline loop) of `dinos._pcm16` when they differ (the module
    picked AVX2 and nothing switched it), else None: then no paired row."""
    from dinos import wav

    loops = wav.mono_loops()
    if not loops:
        return None
    import dinos._pcm16

    current = dinos._pcm16.kernel()
    return (current, loops[0]) if current != loops[0] else None


def _base_loop_row(base: str) -> str:
    return f"dinos.wav windows into a reused batch buffer, with the {base} loop"


def ours(ds, windows) -> dict:
    from dinos import wav
    from dinos.fast import ClipBatches

    def wav_windows() -> int:  # the dinos.wav reader alone (what the decoder runs per window), no Arrow rows:
        fds, lays = {}, {}  # preadv into a small reused int16 scratch, one scaling ufunc into a fresh batch block
        n_max = max(n for _p, _s, n in windows)
        scratch = np.empty(n_max, dtype=np.int16)
        for i in range(0, len(windows), BATCH):
            block = np.empty((BATCH, n_max), dtype=np.float32)
            for k, (p, s, n) in enumerate(windows[i : i + BATCH]):
                if p not in fds:
                    fds[p] = os.open(p, os.O_RDONLY)
                    lays[p] = wav.read_file_header(fds[p], os.fstat(fds[p]).st_size)
                scratch = wav.decode_window_into(fds[p], lays[p], s, block[k, :n], scratch)
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    def wav_reused() -> int:  # the same into one reused (64, frames) buffer, as a pinned-buffer loader does
        fds, lays = {}, {}
        n_max = max(n for _p, _s, n in windows)
        scratch, block = np.empty(n_max, dtype=np.int16), np.empty((BATCH, n_max), dtype=np.float32)
        for i in range(0, len(windows), BATCH):
            for k, (p, s, n) in enumerate(windows[i : i + BATCH]):
                if p not in fds:
                    fds[p] = os.open(p, os.O_RDONLY)
                    lays[p] = wav.read_file_header(fds[p], os.fstat(fds[p]).st_size)
                scratch = wav.decode_window_into(fds[p], lays[p], s, block[k, :n], scratch)
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    pair = _loop_pair()

    def wav_reused_base_loop() -> int:  # the same with the baseline one-channel loop of `dinos._pcm16`
        with wav.mono_loop(pair[1]):  # (sse2) for the round, where the module picked another
            return wav_reused()

    def wav_runs_reused() -> int:  # the decoder's reads in dataset order: runs of consecutive windows,
        fds, lays = {}, {}  # one dinos.wav call per run, into one reused (64, frames) buffer
        n_max = max(n for _p, _s, n in windows)
        scratch, block = np.empty(n_max, dtype=np.int16), np.empty((BATCH, n_max), dtype=np.float32)
        k = 0
        for p, s, n, count in _batch_runs(windows):
            if p not in fds:
                fds[p] = os.open(p, os.O_RDONLY)
                lays[p] = wav.read_file_header(fds[p], os.fstat(fds[p]).st_size)
            k %= BATCH
            if count == 1:
                scratch = wav.decode_window_into(fds[p], lays[p], s, block[k, :n], scratch)
            else:
                scratch = wav.decode_run_into(fds[p], lays[p], s, block[k : k + count, :n], scratch)
            k += count
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    from dinos.audio import AudioDecoder

    dec = AudioDecoder(normalize=False)
    batches = [([{"bytes": None, "path": p} for p, _s, _n in windows[i : i + BATCH]],
                [s for _p, s, _n in windows[i : i + BATCH]], [n for _p, _s, n in windows[i : i + BATCH]])
               for i in range(0, len(windows), BATCH)]

    def decoder_reused() -> int:  # AudioDecoder.decode_rows into one reused buffer: what a DataLoader
        block = np.empty((BATCH, max(n for _p, _s, n in windows)), dtype=np.float32)  # worker runs
        for audios, starts, counts in batches:
            none = [None] * len(audios)
            dec.decode_rows(audios, starts, counts, none, none, none, out=block[: len(audios)])
        return len(windows)

    def wav_whole_batch_int16() -> int:  # the alternative: a batch's int16 windows read first, converted after
        fds, lays = {}, {}  # (the int16 bytes go through main memory twice)
        n_max = max(n for _p, _s, n in windows)
        raw, block = np.zeros((BATCH, n_max), dtype=np.int16), np.empty((BATCH, n_max), dtype=np.float32)
        for i in range(0, len(windows), BATCH):
            for k, (p, s, n) in enumerate(windows[i : i + BATCH]):
                if p not in fds:
                    fds[p] = os.open(p, os.O_RDONLY)
                    lays[p] = wav.read_file_header(fds[p], os.fstat(fds[p]).st_size)
                lay = lays[p]
                os.preadv(fds[p], [raw[k, : min(n, lay.frames - s)]], lay.data_offset + 2 * s)
            np.multiply(raw, wav.PCM16_SCALE, out=block, dtype=np.float32)
        for fd in fds.values():
            os.close(fd)
        return len(windows)

    def dinos_iter() -> int:
        n = 0
        for b in ds.iter(batch_size=BATCH):
            n += len(b["audio"])
        return n

    def dinos_slices() -> int:  # ds[i:i+64]: one transform call decodes the batch
        for i in range(0, len(ds), BATCH):
            _ = ds[i : i + BATCH]["audio"]
        return len(ds)

    def dinos_batches() -> int:  # ClipBatches in dataset order: one (64, 48000) buffer per batch
        n = 0
        for b in ClipBatches(ds, BATCH):
            n += b["waves"].shape[0]
        return n

    base = {_base_loop_row(pair[1]): wav_reused_base_loop} if pair else {}
    return {"dinos.wav windows (reader alone)": wav_windows,
            "dinos.wav windows into a reused batch buffer": wav_reused,
            **base,
            "dinos.wav runs of consecutive windows into a reused batch buffer": wav_runs_reused,
            "dinos AudioDecoder.decode_rows into a reused batch buffer (DataLoader worker path)": decoder_reused,
            "dinos.wav alternative: batch read as int16, then converted": wav_whole_batch_int16,
            "dinos ds.iter(batch_size=64)": dinos_iter,
            "dinos ds[i:i+64]": dinos_slices,
            "dinos ClipBatches(64), dataset order": dinos_batches}


def extras(ds, windows, librosa_windows: int) -> dict:
    import librosa

    def librosa_load() -> int:  # the common ASD idiom, on the first `librosa_windows` windows
        sub = windows[:librosa_windows]
        for i in range(0, len(sub), BATCH):
            _ = [librosa.load(p, sr=None, offset=s / 48_000, duration=1.0)[0] for p, s, _n in sub[i : i + BATCH]]
        return len(sub)

    def dinos_rows() -> int:  # ds[i] per row: one Arrow read + one transform call per clip
        for i in range(min(len(ds), 4 * librosa_windows)):
            _ = ds[i]["audio"]
        return min(len(ds), 4 * librosa_windows)

    return {"librosa.load per window": librosa_load, "dinos ds[i] per row": dinos_rows}


def check_same_samples(ds, windows) -> None:
    """The compared methods must return identical samples, else the ratios mean nothing."""
    import librosa

    got = ds[0:4]["audio"]
    for (p, s, n), a in zip(windows[:4], got, strict=True):
        ref = sf.read(p, start=s, stop=s + n, dtype="float32")[0]
        lib = librosa.load(p, sr=None, offset=s / 48_000, duration=1.0)[0]
        ints = sf.read(p, start=s, stop=s + n, dtype="int16")[0] * SCALE
        if not (np.array_equal(ref, a["array"]) and np.array_equal(ref, lib) and np.array_equal(ref, ints)):
            raise AssertionError(f"methods disagree on the samples of {p} at frame {s}")


def _ratio(name: str, num: float, den: float, goal: float | None = None, note: str = "") -> Figure:
    r = num / den
    return Figure(SECTION, name, r, "x", f">= {goal}" if goal else "", (r >= goal) if goal else None, note,
                  dinos=num, baseline=den, basis="clips/s")


def run(workdir: Path, quick: bool = False, repeats: int = 3) -> list[Figure]:
    hours = 0.2 if quick else 0.5
    root, cache = workdir / "loading_corpus", workdir / "loading_cache"
    info = write_pretrain_corpus(root, hours)
    ds, windows = _load(root, cache)
    check_same_samples(ds, windows)
    n_lib = min(len(windows), 200 if quick else 600)
    fns = {**baselines(windows), **ours(ds, windows), **extras(ds, windows, n_lib)}
    for fn in fns.values():  # warm the page cache and lazy imports outside the timing
        fn()
    rates = median_rates(fns, max(repeats, 7))  # ratios within ~10 % need more rounds on a shared machine
    a, b, c, c_runs = (rates[k] for k in list(fns)[:4])
    pair = _loop_pair()
    it, reader = rates["dinos ds.iter(batch_size=64)"], rates["dinos.wav windows (reader alone)"]
    note = f"{len(windows)} windows of {info.files} recordings"
    figs = [Figure(SECTION, name, rate, "clips/s", note=note if name not in extras(ds, windows, 0) else
                   f"first {n_lib if 'librosa' in name else 4 * n_lib} windows") for name, rate in rates.items()]
    figs += [
        _ratio("ratio dinos ds.iter(64) / (a) soundfile handles + int16", it, a, 0.9),
        _ratio("ratio dinos ds.iter(64) / (b) whole file int16 + slices", it, b, 0.9),
        _ratio("ratio dinos.wav PCM_16 windows, reused buffer / (c) raw read rate",
               rates["dinos.wav windows into a reused batch buffer"], c, 0.5,
               note="both write into reused buffers: the cost of decoding over reading"),
        *(_ratio(f"ratio dinos.wav PCM_16 windows, reused buffer: {pair[0]} loop / {pair[1]} loop",
                 rates["dinos.wav windows into a reused batch buffer"], rates[_base_loop_row(pair[1])],
                 note="the one-channel loop the module picked against the baseline loop, in the same rounds")
          for _ in [0] if pair),
        _ratio("ratio dinos.wav PCM_16 windows, fresh arrays / (c) raw read rate", reader, c,
               note="new output memory per batch: first-touch writes included"),
        _ratio("ratio dinos.wav batch read as int16 then converted / (c) raw read rate",
               rates["dinos.wav alternative: batch read as int16, then converted"], c,
               note="the method not taken, for comparison"),
        _ratio("ratio dinos.wav runs, reused buffer / (c) raw read rate, runs",
               rates["dinos.wav runs of consecutive windows into a reused batch buffer"], c_runs,
               note="the decoder's reads in dataset order, the same grouping on both sides"),
        _ratio("ratio dinos AudioDecoder, reused buffer / (c) raw read rate",
               rates["dinos AudioDecoder.decode_rows into a reused batch buffer (DataLoader worker path)"], c,
               note="the decoder's per-batch Python (grouping, checks against the headers) included"),
        _ratio("ratio reference (read + float32 copy per window) / (c) raw read rate",
               rates["reference: (c) + a copy of the float32 bytes per window (no conversion)"], c,
               note="writing 2x the bytes read, one window at a time: a reference, not a bound"),
        _ratio("ratio no-read reference (conversion from mapped pages) / (c) raw read rate",
               rates["no-read reference: windows converted straight from mapped page-cache pages (not a dinos path)"], c,
               note="no read call and no copy (int16 loads from mapped pages, page faults, float32 writes): "
                    "a reference, not a bound"),
        _ratio("ratio dinos ds.iter(64) / (c) raw read rate", it, c, note="Arrow rows + python formatting included"),
        _ratio("ratio dinos ClipBatches(64) / (a) soundfile handles + int16", rates["dinos ClipBatches(64), dataset order"], a),
        _ratio("ratio dinos ds.iter(64) / soundfile float32 loop", it,
               rates["soundfile handles, float32 read (libsndfile converts)"]),
        _ratio("ratio dinos ds.iter(64) / librosa.load per window", it, rates["librosa.load per window"]),
    ]
    return figs


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .common import run_standalone

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="0.2 h of audio instead of 0.5 h")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (at least 7 are run)")
    parser.add_argument("--workdir", help="where the corpus and cache go (default: a temporary folder)")
    args = parser.parse_args(argv)
    return run_standalone(run, args.workdir, "dinos-bench-loading-", quick=args.quick, repeats=args.repeats)


if __name__ == "__main__":
    raise SystemExit(main())
