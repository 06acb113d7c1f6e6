"""A small, model-free anomaly scorer for protocol split files (numpy only; a starting point, not a result).

Each clip becomes the mean and standard deviation over time of its log-Mel bands (`dinos.images.log_mel`,
channel `channel`). The normal clips of the `train` side give a per-feature mean and standard deviation
per `(machine, section)`; a clip's score is the mean squared z-score of its features against its
`(machine, section)` (higher = more anomalous). Scores are written as `clip_id,score` CSV, the input of
`dinos score asd`.

    python -m dinos.asd_baseline --splits asd.json --data-dir D --out scores.csv [--channel 0]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from .errors import DinosError
from .images import log_mel


def features(array: np.ndarray, sr: int, channel: int = 0) -> np.ndarray:
    x = np.asarray(array)
    if x.ndim == 2:
        x = x[channel]
    db = log_mel(x, sr)
    return np.concatenate([db.mean(axis=1), db.std(axis=1)])


def score_split(split_file, data_dir, *, fold: int = 0, channel: int = 0, cache_dir=None) -> dict[str, float]:
    """clip id -> anomaly score for every non-train clip of one fold."""
    from . import protocols

    parts = protocols.datasets_of(split_file, data_dir, fold=fold, cache_dir=cache_dir)
    if "train" not in parts:
        raise DinosError("the split file has no train side", split_file)

    def feats(ds):
        out = {}
        for row in ds:
            key = (row["machine"], row["section"])
            out.setdefault(key, []).append((row["clip_id"], features(row["audio"]["array"], row["audio"]["sampling_rate"],
                                                                     channel)))
        return out

    ref = {k: np.stack([f for _, f in v]) for k, v in feats(parts["train"]).items()}
    stats = {k: (v.mean(axis=0), v.std(axis=0) + 1e-3) for k, v in ref.items()}
    scores: dict[str, float] = {}
    for side, ds in parts.items():
        if side == "train":
            continue
        for key, items in feats(ds).items():
            if key not in stats:
                raise DinosError(f"no normal training clips for machine/section {key}", split_file)
            mu, sd = stats[key]
            for cid, f in items:
                scores[cid] = float(np.mean(((f - mu) / sd) ** 2))
    return scores


def write_scores(path: str | os.PathLike, scores: dict[str, float]) -> Path:
    """`clip_id,score` CSV (sorted by clip id), written atomically."""
    import csv
    import io as _io

    from .io import write_text

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip_id", "score"])
    for cid in sorted(scores):
        w.writerow([cid, repr(scores[cid])])
    return write_text(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dinos.asd_baseline", description=__doc__.split("\n\n")[0])
    p.add_argument("--splits", required=True, help="protocol split file (dinos splits make)")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True, help="scores CSV to write (must not exist)")
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--channel", type=int, default=0)
    p.add_argument("--cache-dir", default=None)
    a = p.parse_args(argv)
    if Path(a.out).exists():
        raise SystemExit(f"{a.out}: exists; choose a new file")
    scores = score_split(a.splits, a.data_dir, fold=a.fold, channel=a.channel, cache_dir=a.cache_dir)
    write_scores(a.out, scores)
    print(f"wrote {len(scores)} scores to {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
