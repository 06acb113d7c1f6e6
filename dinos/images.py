"""Log-Mel spectrogram images for image-model workflows (`dinos export images`).

The AWS MIMII blog trains a managed image classifier on spectrogram PNGs, the drill study fine-tunes
AlexNet on Mel spectrograms. This module writes one greyscale PNG per clip from any corpus, config or
protocol split, one folder per label, and a `metadata.csv`.

Scaling (fixed, recorded in `metadata.csv` and `images.json`):

1. the chosen channel (`channel=0` by default) as float in [-1, 1]; resampled only when
   `sampling_rate=` is given;
2. power spectrogram: periodic Hann window of `n_fft` samples (shortened to the clip when the clip is
   shorter), hop `hop`; `n_mels` triangular HTK-Mel filters from 0 Hz to Nyquist;
3. dB: `10 * log10(max(power, 1e-10))`, clipped to `[max - top_db, max]` per image (`top_db` = 80);
4. linear map of that range to 0-255 (the image's maximum is white); low frequencies at the bottom
   row, time left to right; one pixel per frame and Mel band (no resizing: resize in your model's
   transform, e.g. to AlexNet's 227 x 227).

PNG files are written by a minimal writer (8-bit greyscale, zlib), so the core needs neither
matplotlib nor Pillow. Departure from the blog: it min-max scales the dB image too but also flips and
inverts it (dark = loud); we keep white = loud.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DinosError

DEFAULTS = {"n_fft": 1024, "hop": 512, "n_mels": 64, "top_db": 80.0}
METADATA = "metadata.csv"
SETTINGS = "images.json"
TOOL = "dinos export images"


def png_bytes(image: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of a 2-D uint8 array (row 0 at the top)."""
    img = np.asarray(image)
    if img.ndim != 2 or img.dtype != np.uint8 or 0 in img.shape:
        raise DinosError(f"expected a non-empty 2-D uint8 image, got {img.dtype} {img.shape}")
    h, w = img.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter type 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def mel_filterbank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular HTK-Mel filters from 0 Hz to sr / 2 (peak 1)."""
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    edges = mel_to_hz(np.linspace(0.0, hz_to_mel(sr / 2.0), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None, :]) / np.maximum(hi - mid, 1e-9)
    return np.clip(np.minimum(up, down), 0.0, None)


def log_mel(x: np.ndarray, sr: int, *, n_fft: int = DEFAULTS["n_fft"], hop: int = DEFAULTS["hop"],
            n_mels: int = DEFAULTS["n_mels"]) -> np.ndarray:
    """(n_mels, frames) log-Mel power in dB of a 1-D signal (step 2-3 of the module docstring, unclipped)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise DinosError(f"expected a non-empty 1-D signal, got shape {x.shape}")
    n_fft = int(min(n_fft, x.size))
    hop = max(1, min(hop, n_fft))
    frames = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    power = np.abs(np.fft.rfft(x[idx] * window, axis=1)) ** 2
    mel = mel_filterbank(sr, n_fft, n_mels) @ power.T
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def to_image(db: np.ndarray, top_db: float = DEFAULTS["top_db"]) -> tuple[np.ndarray, float, float]:
    """(uint8 image with low frequencies at the bottom, dB floor, dB max) of a log-Mel array."""
    top = float(np.max(db))
    floor = top - float(top_db)
    scaled = (np.clip(db, floor, top) - floor) / max(top - floor, 1e-12)
    return np.rint(scaled[::-1] * 255.0).astype(np.uint8), floor, top


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def image_name(path: str, start_frame: int) -> str:
    """`fan-id_00-normal-00000003-0.png` from a clip's path and start frame (folders joined by '-')."""
    stem = path.rsplit(".", 1)[0].replace("/", "-")
    return f"{_UNSAFE.sub('_', stem)}-{start_frame}.png"


def export_images(out, rows, *, channel: int = 0, sampling_rate: int | None = None, overwrite: bool = False,
                  n_fft: int = DEFAULTS["n_fft"], hop: int = DEFAULTS["hop"], n_mels: int = DEFAULTS["n_mels"],
                  top_db: float = DEFAULTS["top_db"], source: dict | None = None) -> Path:
    """Write one PNG per row of `rows` (decoded rows of the clip schema, `side` key optional) under
    `out/<label>/`, plus `metadata.csv` and `images.json`. Returns the metadata path."""
    import csv
    import io as _io

    from .io import OutputDir

    with OutputDir.open(out, tool=TOOL, overwrite=overwrite) as od:  # a failed run leaves nothing in a new folder
        buf = _io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["image", "clip_id", "side", "label", "machine", "section", "snr_db", "sample_rate", "channel",
                    "frames", "mels", "db_floor", "db_max"])
        count = 0
        for row in rows:
            audio = row["audio"]
            arr = np.asarray(audio["array"])
            if arr.ndim == 2:
                if not 0 <= channel < arr.shape[0]:
                    raise DinosError(f"channel {channel} out of range ({arr.shape[0]} channels)", row["path"])
                arr = arr[channel]
            sr = int(audio["sampling_rate"])
            db = log_mel(arr, sr, n_fft=n_fft, hop=hop, n_mels=n_mels)
            img, floor, top = to_image(db, top_db)
            label = row["label"]
            rel = f"{label}/{image_name(row['path'], row['start_frame'])}"
            od.write_bytes(rel, png_bytes(img))
            snr = row.get("snr_db")
            w.writerow([rel, row["clip_id"], row.get("side", ""), label, row["machine"], row["section"],
                        "" if snr is None else snr, sr, channel, img.shape[1], img.shape[0], f"{floor:.3f}", f"{top:.3f}"])
            count += 1
        if not count:
            raise DinosError("no clips to write images of", out)
        od.write_json(SETTINGS, {"n_fft": n_fft, "hop": hop, "n_mels": n_mels, "top_db": top_db, "channel": channel,
                                 "sampling_rate": sampling_rate, "window": "periodic hann", "mel": "htk, 0 Hz to Nyquist",
                                 "scaling": "dB clipped to [max - top_db, max], linear to 0-255, low frequencies at the bottom",
                                 "images": count, "source": source or {}})
        path = od.write_text(METADATA, buf.getvalue())
        od.remove_previous()
        return path


def _named_rows(ds, side: str = ""):
    from .schema import categorical_names

    cats = categorical_names()
    for row in ds:
        row = dict(row)
        for col, names in cats.items():
            if isinstance(row.get(col), int):
                row[col] = names[row[col]]
        if side:
            row["side"] = side
        yield row


def export_corpus_images(corpus: str, out, *, data_dir, config: str | None = None, split_file=None, sides=None,
                         fold: int = 0, channel: int = 0, sampling_rate: int | None = None, cache_dir=None,
                         overwrite: bool = False, **options) -> Path:
    """PNG images of a built corpus (every split), or of the sides of one fold of a protocol split file."""
    from .api import load_dataset

    if split_file is not None:
        from . import protocols

        record = protocols.load(split_file)
        parts = protocols.datasets_of(record, data_dir, fold=fold, cache_dir=cache_dir, sampling_rate=sampling_rate)
        parts = {k: v for k, v in parts.items() if not sides or k in sides}
        source = {"corpus": record["corpus"], "config": record["config"], "split_file": str(split_file), "fold": fold}
    else:
        parts = load_dataset(corpus, config, data_dir=data_dir, cache_dir=cache_dir, sampling_rate=sampling_rate)
        parts = {k: v for k, v in parts.items() if not sides or k in sides}
        source = {"corpus": corpus, "config": config}

    def rows():
        for side, ds in parts.items():
            yield from _named_rows(ds, side)

    return export_images(out, rows(), channel=channel, sampling_rate=sampling_rate, overwrite=overwrite,
                         source=source, **options)
